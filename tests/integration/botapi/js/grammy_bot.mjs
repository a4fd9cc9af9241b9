// A plain grammY polling bot, unmodified but for its API root: the way a grammY user points a
// bot at the fake. Usage: node grammy_bot.mjs TOKEN API_ROOT
import { Bot } from "grammy";

const [token, apiRoot] = process.argv.slice(2);
const bot = new Bot(token, { client: { apiRoot } });
bot.command("start", (ctx) => ctx.reply("hello from grammY"));
bot
  .start({ onStart: () => console.log("POLLING") })
  .then(() => process.exit(0))
  .catch((err) => {
    // bot.start() rejects on a 409: print what the grammY user sees in their logs
    console.log(`STOPPED ${err.constructor.name}: ${err.message}`);
    process.exit(3);
  });
process.on("SIGTERM", () => bot.stop());
