"""A small python-telegram-bot bot for the browser tests: /start answers with a button; a press of
the button is answered and edits that message (no second sendMessage: the fake's flood control,
like Telegram's, allows one message a second per chat); any other text is echoed. Configured like every bot under botfakes:
TELEGRAM_BOT_TOKEN and TELEGRAM_API_BASE_URL (http://127.0.0.1:PORT, no /bot)."""

import logging
import os

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes,
                          MessageHandler, filters)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Ping", callback_data="ping")]])
    await update.message.reply_text(f"Hello, {update.effective_user.first_name}!", reply_markup=keyboard)


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.callback_query.answer("pong")
    await update.callback_query.edit_message_text(f"pressed {update.callback_query.data}")


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_text(f"you said: {update.message.text}")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(name)s %(levelname)s %(message)s")
    base = os.environ["TELEGRAM_API_BASE_URL"]
    app = (ApplicationBuilder().token(os.environ["TELEGRAM_BOT_TOKEN"])
           .base_url(f"{base}/bot").base_file_url(f"{base}/file/bot").build())
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.run_polling(timeout=10, drop_pending_updates=False)


if __name__ == "__main__":
    main()
