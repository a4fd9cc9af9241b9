"""A python-telegram-bot 22 bot as most are written: `run_polling()`, nothing else.

Seed 001's bug: nothing stops a second copy (a second `docker compose up`, an old process left
running after a deploy) from polling the same token, and Telegram then answers one of the two
long polls with `409 Conflict: terminated by other getUpdates request; make sure that only one
bot instance is running`. PTB logs it and polls again, so the two copies fight forever.
"""

import logging
import os

from telegram import Update
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes

BOT_TOKEN = os.environ["BOT_TOKEN"]
# PTB's base_url ends in "/bot"; the token is appended to it.
TELEGRAM_BASE_URL = os.environ.get("TELEGRAM_BASE_URL", "https://api.telegram.org/bot")

logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s %(message)s", level=logging.INFO)
logging.getLogger("httpx").setLevel(logging.WARNING)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text(f"Hello, {update.effective_user.first_name}!")


def main() -> None:
    app = ApplicationBuilder().token(BOT_TOKEN).base_url(TELEGRAM_BASE_URL).build()
    app.add_handler(CommandHandler("start", start))
    app.run_polling(allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
