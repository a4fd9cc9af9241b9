// The same grammY bot behind Express with seed 004's fix: webhook mode only, no bot.start().
//
// grammY's own Express adapter serves the route: `webhookCallback(bot, "express", {secretToken})`
// answers 401 to a request without the right X-Telegram-Bot-Api-Secret-Token, so only Telegram
// can feed the bot. The webhook is registered once Express listens.
import express from "express";
import { Bot, webhookCallback } from "grammy";

const { BOT_TOKEN, TELEGRAM_API_ROOT, PUBLIC_URL, WEBHOOK_SECRET } = process.env;
const PORT = Number(process.env.PORT || 3000);
const WEBHOOK_PATH = process.env.WEBHOOK_PATH || "/telegram";

const bot = new Bot(BOT_TOKEN, { client: { apiRoot: TELEGRAM_API_ROOT || "https://api.telegram.org" } });
bot.command("start", (ctx) => ctx.reply(`Hello, ${ctx.from?.first_name ?? "there"}!`));
bot.catch((err) => console.error("handler failed:", err.error));

const app = express();
app.use(express.json());
app.get("/health", (req, res) => res.json({ status: "ok" }));
app.post(WEBHOOK_PATH, webhookCallback(bot, "express", { secretToken: WEBHOOK_SECRET }));

app.listen(PORT, "127.0.0.1", async () => {
  await bot.api.setWebhook(`${PUBLIC_URL}${WEBHOOK_PATH}`, { secret_token: WEBHOOK_SECRET });
  console.log("Bot initialized (webhook mode - no polling)");
  console.log(`Webhook endpoint ready: POST ${WEBHOOK_PATH}`);
});
