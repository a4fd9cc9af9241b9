"""An aiogram 3 webhook bot served by aiohttp, laid out like aiogram's own webhook example.

Telegram posts updates to BASE_WEBHOOK_URL + WEBHOOK_PATH; `SimpleRequestHandler` checks the
`X-Telegram-Bot-Api-Secret-Token` header against WEBHOOK_SECRET (401 otherwise) and feeds the
update to the dispatcher. The webhook is registered on startup. Nothing polls: Telegram refuses
getUpdates while a webhook is set (seed 004), and polling is not needed to receive anything.
"""

import logging
import os
import sys

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import CommandStart
from aiogram.types import Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

BOT_TOKEN = os.environ["BOT_TOKEN"]
TELEGRAM_API_SERVER = os.environ.get("TELEGRAM_API_SERVER", "https://api.telegram.org")
WEB_SERVER_HOST = os.environ.get("WEB_SERVER_HOST", "127.0.0.1")
WEB_SERVER_PORT = int(os.environ.get("WEB_SERVER_PORT", "8080"))
WEBHOOK_PATH = os.environ.get("WEBHOOK_PATH", "/webhook")
WEBHOOK_SECRET = os.environ["WEBHOOK_SECRET"]
BASE_WEBHOOK_URL = os.environ["BASE_WEBHOOK_URL"]

dp = Dispatcher()


@dp.message(CommandStart())
async def command_start(message: Message) -> None:
    await message.answer(f"Hello, {message.from_user.full_name}!")


async def on_startup(bot: Bot) -> None:
    await bot.set_webhook(f"{BASE_WEBHOOK_URL}{WEBHOOK_PATH}", secret_token=WEBHOOK_SECRET)


def main() -> None:
    dp.startup.register(on_startup)
    session = AiohttpSession(api=TelegramAPIServer.from_base(TELEGRAM_API_SERVER))
    bot = Bot(BOT_TOKEN, session=session)
    app = web.Application()
    SimpleRequestHandler(dispatcher=dp, bot=bot, secret_token=WEBHOOK_SECRET).register(app, path=WEBHOOK_PATH)
    setup_application(app, dp, bot=bot)
    web.run_app(app, host=WEB_SERVER_HOST, port=WEB_SERVER_PORT)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stdout)
    main()
