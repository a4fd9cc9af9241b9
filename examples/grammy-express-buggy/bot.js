// A grammY bot behind an Express server, as seed 004's was before its fix.
//
// Express already served the app's other webhooks, so Telegram got a route there too: the route
// hands each update to `bot.handleUpdate`, and the webhook is registered when the bot starts. But
// `bot.start()` from the polling days stayed: it starts long polling. Telegram refuses getUpdates
// while a webhook is set, and grammY stops polling with
//   GrammyError: Call to 'getUpdates' failed! (409: Conflict: can't use getUpdates method while
//   webhook is active; use deleteWebhook to delete the webhook first)
// (and with two copies running, with "409: Conflict: terminated by other getUpdates request").
import express from "express";
import { Bot } from "grammy";

const { BOT_TOKEN, TELEGRAM_API_ROOT, PUBLIC_URL, WEBHOOK_SECRET } = process.env;
const PORT = Number(process.env.PORT || 3000);
const WEBHOOK_PATH = process.env.WEBHOOK_PATH || "/telegram";

const bot = new Bot(BOT_TOKEN, { client: { apiRoot: TELEGRAM_API_ROOT || "https://api.telegram.org" } });
bot.command("start", (ctx) => ctx.reply(`Hello, ${ctx.from?.first_name ?? "there"}!`));
bot.catch((err) => console.error("handler failed:", err.error));

const app = express();
app.use(express.json());
app.get("/health", (req, res) => res.json({ status: "ok" }));
app.post(WEBHOOK_PATH, async (req, res) => {
  try {
    await bot.handleUpdate(req.body);
  } catch (err) {
    console.error("update failed:", String(err.error ?? err));
  }
  res.sendStatus(200);
});

app.listen(PORT, "127.0.0.1", () => console.log(`Express listening on ${PORT}`));

// The bug: long polling beside the webhook.
bot
  .start({
    onStart: async (me) => {
      await bot.api.setWebhook(`${PUBLIC_URL}${WEBHOOK_PATH}`, { secret_token: WEBHOOK_SECRET });
      console.log(`Bot started! @${me.username}`);
    },
  })
  .catch((err) => console.error(String(err)));
