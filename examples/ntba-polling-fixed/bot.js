// The same node-telegram-bot-api 2.x bot with seed 001's fix: a PID-file process lock.
//
// On start the bot creates DATA_DIR/bot.pid with the `wx` flag (atomic: fails if the file exists).
// If it exists, `process.kill(pid, 0)` tells whether its owner still runs: alive -> this copy
// exits instead of polling; dead (a crash, kill -9) -> the stale file is removed and the lock
// taken. The file is removed on SIGINT/SIGTERM and on exit.
//
// The rest is the library's: polling handles each update before it asks for the next batch (so
// the next getUpdates is what confirms it, and a crash means redelivery), and a 429 is retried
// after its retry_after (maxRetries, default 2).
import fs from "node:fs";
import path from "node:path";
import { Bot } from "node-telegram-bot-api";

const token = process.env.TELEGRAM_TOKEN;
if (!token) {
  console.error("TELEGRAM_TOKEN is not set");
  process.exit(1);
}
const dataDir = process.env.DATA_DIR || path.join(process.cwd(), "data");
const pidFile = path.join(dataDir, "bot.pid");

function isRunning(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === "EPERM"; // exists, owned by someone else
  }
}

function acquireProcessLock() {
  fs.mkdirSync(dataDir, { recursive: true });
  for (;;) {
    try {
      const fd = fs.openSync(pidFile, "wx");
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      return;
    } catch (err) {
      if (err.code !== "EEXIST") throw err;
    }
    const pid = Number.parseInt(fs.readFileSync(pidFile, "utf8"), 10);
    if (Number.isInteger(pid) && pid !== process.pid && isRunning(pid)) {
      console.error(`Another instance of the bot is running (PID: ${pid}); not starting.`);
      console.error(`If it is not, remove ${pidFile}`);
      process.exit(1);
    }
    console.log(`Removing stale lock ${pidFile} (PID ${pid} is gone)`);
    fs.rmSync(pidFile, { force: true });
  }
}

function releaseProcessLock() {
  try {
    if (Number.parseInt(fs.readFileSync(pidFile, "utf8"), 10) === process.pid) fs.rmSync(pidFile);
  } catch {
    // already gone
  }
}

acquireProcessLock();
process.on("exit", releaseProcessLock);
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    bot.stop();
    process.exit(0);
  });
}
process.on("uncaughtException", (err) => {
  console.error("uncaught exception:", err);
  process.exit(1); // the exit handler releases the lock
});

const bot = new Bot(token, { apiRoot: process.env.TELEGRAM_API_ROOT || "https://api.telegram.org" });

bot.command("start", (ctx) => ctx.reply(`Hello, ${ctx.from?.first_name ?? "there"}!`));

console.log(`Bot started (polling, PID ${process.pid})`);
bot.startPolling().catch((err) => {
  console.error(`polling stopped: ${err.code}: ${err.message}`);
  process.exit(1);
});
