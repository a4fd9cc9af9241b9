// A node-telegram-bot-api 2.x bot, long polling, started by `npm start` wherever it is deployed.
//
// Seed 001's bug: nothing keeps a second copy from polling the same token. Telegram then ends one
// of the two long polls with "409 Conflict: terminated by other getUpdates request; make sure
// that only one bot instance is running" (logged by the library as ETELEGRAM).
import { Bot } from "node-telegram-bot-api";

const token = process.env.TELEGRAM_TOKEN;
if (!token) {
  console.error("TELEGRAM_TOKEN is not set");
  process.exit(1);
}
const bot = new Bot(token, { apiRoot: process.env.TELEGRAM_API_ROOT || "https://api.telegram.org" });

bot.command("start", (ctx) => ctx.reply(`Hello, ${ctx.from?.first_name ?? "there"}!`));

console.log("Bot started (polling)");
bot.startPolling().catch((err) => {
  console.error(`polling stopped: ${err.code}: ${err.message}`);
  process.exit(1);
});
