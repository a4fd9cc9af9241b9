"""The same Deriv price bot, fixed (seed 003): one reader per WebSocket, replies routed by req_id.

Deriv side: `connection_manager.ConnectionManager` (one reader task, futures by req_id,
reconnect + re-subscribe). Telegram side, python-telegram-bot 22 made safe for production:
- an exclusive `flock` on LOCK_FILE, so a second copy exits instead of polling (409s);
- the bot polls itself (`.updater(None)`): a batch is handled, concurrently, and only the next
  getUpdates confirms it, so a kill -9 means redelivery, never a lost command;
- `AIORateLimiter(max_retries=...)`: a 429 is retried after its retry_after.
"""

import asyncio
import fcntl
import logging
import os
import sys

from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, CommandHandler, ContextTypes

from connection_manager import ConnectionManager

BOT_TOKEN = os.environ["BOT_TOKEN"]
TELEGRAM_BASE_URL = os.environ.get("TELEGRAM_BASE_URL", "https://api.telegram.org/bot")
DERIV_WS_ENDPOINT = os.environ.get("DERIV_WS_ENDPOINT", "wss://ws.derivws.com/websockets/v3?app_id=1089")
DERIV_TOKEN = os.environ.get("DERIV_TOKEN", "")
LOCK_FILE = os.environ.get("LOCK_FILE", "bot.lock")
POLL_TIMEOUT = 25

logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s %(message)s", level=logging.INFO)
logging.getLogger("httpx").setLevel(logging.WARNING)
log = logging.getLogger("bot")

deriv = ConnectionManager(DERIV_WS_ENDPOINT, DERIV_TOKEN)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text("Hello! /price SYMBOL or /watch SYMBOL, e.g. /price R_50")


async def price(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    symbol = (context.args or ["R_50"])[0]
    try:
        reply = await deriv.send_request(
            {"ticks_history": symbol, "end": "latest", "count": 1, "style": "ticks"})
    except Exception as exc:
        log.error("/price %s failed: %s: %s", symbol, type(exc).__name__, exc)
        await update.effective_message.reply_text(f"Sorry, /price {symbol} failed: {exc}")
        return
    await update.effective_message.reply_text(f"{symbol}: {reply['history']['prices'][-1]}")


async def watch(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    symbol = (context.args or ["R_50"])[0]
    chat_id = update.effective_chat.id

    async def on_tick(message: dict) -> None:
        if message.get("msg_type") == "tick":
            tick = message["tick"]
            await context.bot.send_message(chat_id, f"{tick['symbol']}: {tick['quote']}")

    try:
        await deriv.subscribe({"ticks": symbol}, on_tick)
    except Exception as exc:
        await update.effective_message.reply_text(f"Sorry, /watch {symbol} failed: {exc}")
        return
    await update.effective_message.reply_text(f"Watching {symbol}.")


def hold_instance_lock(path: str) -> int:
    """Exit if another instance holds the lock; the returned fd must stay open while we run."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(f"another instance of this bot holds {path}; exiting instead of polling")
    return fd


async def poll(app: Application) -> None:
    """getUpdates, handle the whole batch (concurrently), then ask for the next one."""
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
        except (Conflict, NetworkError) as exc:
            log.warning("getUpdates failed: %s; retrying in %.0f s", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)
            continue
        delay = 1.0
        if updates:
            await asyncio.gather(*(app.process_update(u) for u in updates))
            offset = updates[-1].update_id + 1


async def main() -> None:
    lock = hold_instance_lock(LOCK_FILE)
    app = (ApplicationBuilder().token(BOT_TOKEN).base_url(TELEGRAM_BASE_URL)
           .rate_limiter(AIORateLimiter(max_retries=3)).updater(None).build())
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler("price", price))
    app.add_handler(CommandHandler("watch", watch))
    await deriv.start()
    async with app:
        await app.start()
        log.info("polling as @%s", app.bot.username)
        try:
            await poll(app)
        finally:
            await app.stop()
            await deriv.close()
    os.close(lock)


if __name__ == "__main__":
    asyncio.run(main())
