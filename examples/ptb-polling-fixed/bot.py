"""The same python-telegram-bot 22 bot, fixed for what a polling bot meets in production.

1. One instance per host (seed 001): an exclusive `flock` on LOCK_FILE. A second copy exits at
   once instead of polling; the kernel drops the lock when the holder dies, even by kill -9, so
   a restart after a crash never finds a stale lock (a PID file would survive the crash).
2. No update lost to a crash: `run_polling()` confirms a batch to Telegram as soon as it fetches
   the next one, before the handlers of this batch have finished, so a kill -9 loses what was in
   hand. Here the Application runs without its Updater (`.updater(None)`, PTB's hook for custom
   update fetching) and the bot polls itself: each batch is handled, then the next getUpdates
   confirms it. A crash means redelivery (at least once), never loss.
3. Flood control: PTB raises `RetryAfter` on a 429 and drops the message unless a rate limiter
   retries it. `AIORateLimiter(max_retries=...)` waits `retry_after` and sends again.
"""

import asyncio
import fcntl
import logging
import os
import sys

from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, CommandHandler, ContextTypes

BOT_TOKEN = os.environ["BOT_TOKEN"]
TELEGRAM_BASE_URL = os.environ.get("TELEGRAM_BASE_URL", "https://api.telegram.org/bot")
LOCK_FILE = os.environ.get("LOCK_FILE", "bot.lock")
POLL_TIMEOUT = 25

logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s %(message)s", level=logging.INFO)
logging.getLogger("httpx").setLevel(logging.WARNING)
log = logging.getLogger("bot")


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text(f"Hello, {update.effective_user.first_name}!")


def hold_instance_lock(path: str) -> int:
    """Exit if another instance holds the lock; the returned fd must stay open while we run."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(f"another instance of this bot holds {path}; exiting instead of polling")
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


async def poll(app: Application) -> None:
    """getUpdates, handle the whole batch, then ask for the next one (which confirms this one)."""
    await app.bot.delete_webhook(drop_pending_updates=False)
    offset = None
    delay = 1.0
    while True:
        try:
            updates = await app.bot.get_updates(offset=offset, timeout=POLL_TIMEOUT,
                                                allowed_updates=Update.ALL_TYPES)
        except InvalidToken:
            raise
        except RetryAfter as exc:
            await asyncio.sleep(exc.retry_after.total_seconds()
                                if hasattr(exc.retry_after, "total_seconds") else exc.retry_after)
            continue
        except (Conflict, NetworkError) as exc:  # NetworkError covers TimedOut
            log.warning("getUpdates failed: %s; retrying in %.0f s", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)
            continue
        delay = 1.0
        for update in updates:
            # Handler errors go to PTB's error handlers; the update counts as handled.
            await app.process_update(update)
            offset = update.update_id + 1


async def main() -> None:
    lock = hold_instance_lock(LOCK_FILE)
    app = (ApplicationBuilder().token(BOT_TOKEN).base_url(TELEGRAM_BASE_URL)
           .rate_limiter(AIORateLimiter(max_retries=3)).updater(None).build())
    app.add_handler(CommandHandler("start", start))
    async with app:
        await app.start()
        log.info("polling as @%s", app.bot.username)
        try:
            await poll(app)
        finally:
            await app.stop()
    os.close(lock)


if __name__ == "__main__":
    asyncio.run(main())
