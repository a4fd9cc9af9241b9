"""The fake Telegram Bot API server.

- errors.py     exact envelopes and error texts of tdlib/telegram-bot-api
- params.py     query string / urlencoded / multipart / JSON bodies -> one dict of strings, read leniently
- state.py      the records: config, Reply, Update, LongPoll, Webhook, Bot; method names
- core.py       sans-I/O core: bots, update queues, getUpdates and long-poll arbitration, webhook state,
                the fault rules' error mapping (fault_reply)
- methods.py    the other methods (getMe, sendMessage, ...), a mixin of the core
- world.py      simulated users, private chats and groups; what each bot sent, per chat
- ratelimit.py  429 flood control (per chat, per group, per bot), injectable clock
- webhook.py    webhook delivery rules: per-chat ordered schedule with backoff, what an attempt's result means
- delivery.py   the webhook sender (HTTP client I/O) on that schedule
- transport.py  aiohttp front: /bot<token>/<method>, every request through the control plane (I/O only)
- routes.py     the /_control/botapi/ routes
- control.py    BotApiControl, their typed client
- fake.py       BotApiFake, what the runtime and `botfakes serve` drive
- fixtures.py   the `botapi` pytest fixture
"""
