"""The aiogram 3 webhook bot, with the polling start it kept from its first version (seed 004).

The aiohttp webhook server is started by hand so that the script can go on to
`dp.start_polling(bot)`, which the bot's polling days left in `main()` ("it keeps the bot
running"). `start_polling` runs the startup handlers, so the webhook is set, and then polls:
Telegram refuses every getUpdates while a webhook is set, with `409 Conflict: can't use getUpdates
method while webhook is active; use deleteWebhook to delete the webhook first`, and aiogram logs
it and retries, forever.
"""

import asyncio
import logging
import os
import sys

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import CommandStart
from aiogram.types import Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
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


async def main() -> None:
    dp.startup.register(on_startup)
    session = AiohttpSession(api=TelegramAPIServer.from_base(TELEGRAM_API_SERVER))
    bot = Bot(BOT_TOKEN, session=session)
    app = web.Application()
    SimpleRequestHandler(dispatcher=dp, bot=bot, secret_token=WEBHOOK_SECRET).register(app, path=WEBHOOK_PATH)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, WEB_SERVER_HOST, WEB_SERVER_PORT).start()
    # The bug: polling beside the webhook.
    await dp.start_polling(bot)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stdout)
    asyncio.run(main())
