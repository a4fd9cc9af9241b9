"""The reference bot: a Telegram bot for traders that applies every fix from the seeds.

Run it with `python -m botfakes.reference_bot`; configure it with the environment variables
documented in `botfakes.reference_bot.config` (and reference_bot/README.md). `BOT_VARIANT` selects
one of the naive "before" variants in `botfakes.reference_bot.naive`, each reproducing one bug.
"""
