"""The fake Telegram Bot API server.

- errors.py     exact envelopes and error texts of tdlib/telegram-bot-api
- params.py     query string / urlencoded / multipart / JSON bodies -> one dict of strings, read leniently
- core.py       sans-I/O core: bots, update queues, getUpdates and long-poll arbitration, webhook state, methods
- world.py      simulated users, private chats and groups; what each bot sent, per chat
- ratelimit.py  429 flood control (per chat, per group, per bot), injectable clock
- webhook.py    webhook delivery: per-chat ordered schedule with backoff, and its HTTP sender
- transport.py  aiohttp front: /bot<token>/<method>, every request through the control plane
- control.py    /_control/botapi/ routes and the typed client BotApiControl
- fake.py       BotApiFake, what the runtime and `botfakes serve` drive
- fixtures.py   the `botapi` pytest fixture
"""
