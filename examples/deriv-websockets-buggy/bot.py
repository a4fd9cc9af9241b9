"""A Telegram bot (python-telegram-bot 22) quoting Deriv prices over one plain `websockets` socket.

Seed 003's bug, as its first version had it: every caller sends its request on the shared
connection and then reads the reply itself with `ws.recv()`. Commands run concurrently
(`concurrent_updates(True)`, so that one slow user does not hold up the others) and a /watch
stream reads the same socket in the background. The first time two readers overlap, websockets
raises `ConcurrencyError: cannot call recv while another coroutine is already running recv or
recv_streaming`; and if the other reader wins the race, a caller takes someone else's message as
its answer. Nothing reconnects when the socket closes.
"""

import asyncio
import json
import logging
import os

import websockets
from telegram import Update
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes

BOT_TOKEN = os.environ["BOT_TOKEN"]
TELEGRAM_BASE_URL = os.environ.get("TELEGRAM_BASE_URL", "https://api.telegram.org/bot")
DERIV_WS_ENDPOINT = os.environ.get("DERIV_WS_ENDPOINT", "wss://ws.derivws.com/websockets/v3?app_id=1089")
DERIV_TOKEN = os.environ.get("DERIV_TOKEN", "")

logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s %(message)s", level=logging.INFO)
logging.getLogger("httpx").setLevel(logging.WARNING)
log = logging.getLogger("bot")


class DerivAPI:
    def __init__(self, endpoint: str, token: str = ""):
        self.endpoint = endpoint
        self.token = token
        self.ws = None

    async def connect(self) -> None:
        self.ws = await websockets.connect(self.endpoint)
        if self.token:
            await self.send_request({"authorize": self.token})

    async def send_request(self, request: dict) -> dict:
        await self.ws.send(json.dumps(request))
        reply = json.loads(await self.ws.recv())  # the bug: any number of readers at once
        if "error" in reply:
            raise RuntimeError(reply["error"]["message"])
        return reply

    async def latest_price(self, symbol: str) -> float:
        reply = await self.send_request(
            {"ticks_history": symbol, "end": "latest", "count": 1, "style": "ticks"})
        return reply["history"]["prices"][-1]


deriv = DerivAPI(DERIV_WS_ENDPOINT, DERIV_TOKEN)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text("Hello! /price SYMBOL or /watch SYMBOL, e.g. /price R_50")


async def price(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    symbol = (context.args or ["R_50"])[0]
    try:
        quote = await deriv.latest_price(symbol)
    except Exception as exc:
        log.error("/price %s failed: %s: %s", symbol, type(exc).__name__, exc)
        await update.effective_message.reply_text(f"Sorry, /price {symbol} failed: {exc}")
        return
    await update.effective_message.reply_text(f"{symbol}: {quote}")


async def watch(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    symbol = (context.args or ["R_50"])[0]
    chat_id = update.effective_chat.id
    await deriv.ws.send(json.dumps({"ticks": symbol, "subscribe": 1}))

    async def stream() -> None:
        try:
            while True:
                message = json.loads(await deriv.ws.recv())  # a second reader of the same socket
                if message.get("msg_type") == "tick":
                    tick = message["tick"]
                    await context.bot.send_message(chat_id, f"{tick['symbol']}: {tick['quote']}")
        except Exception as exc:
            log.error("/watch %s stopped: %s: %s", symbol, type(exc).__name__, exc)

    context.application.create_task(stream())


async def post_init(app) -> None:
    await deriv.connect()


def main() -> None:
    app = (ApplicationBuilder().token(BOT_TOKEN).base_url(TELEGRAM_BASE_URL)
           .concurrent_updates(True).post_init(post_init).build())
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler("price", price))
    app.add_handler(CommandHandler("watch", watch))
    app.run_polling(allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
