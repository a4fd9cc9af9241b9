"""The Bot API fake's own control routes (under /_control/botapi/); control.py is their Python client.

    POST /_control/botapi/bots                          register a bot: {"token"?, "username"?, "first_name"?}
    GET  /_control/botapi/bots                          the registered bots
    POST /_control/botapi/bots/{token}/messages         a user writes: {"text", "user"?, "chat"?}
    POST /_control/botapi/bots/{token}/callback_queries a user presses a button: {"data", "message_id"?, ...}
    GET  /_control/botapi/bots/{token}/sent             what the bot sent, per chat id
    GET  /_control/botapi/bots/{token}/updates          the bot's pending updates (not confirmed yet)
    POST /_control/botapi/config                        change options (rate_limits, conflict_repeat_delay, ...)

`user` is {"id"?, "first_name"?, "username"?, ...}; `chat` is {"type": "private"} (default) or
{"type": "group"|"supergroup", "id"?, "title"?}. Ids are made up when not given.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..control.http import json_object, ok, read_json


async def _body(request: web.Request) -> dict[str, Any]:
    return json_object(await read_json(request, default={}))


def control_routes(fake: Any) -> list[web.RouteDef]:
    """The routes over a BotApiFake (its core, register_bot, configure); typed loosely so this
    module needs nothing of fake.py, which imports it."""
    core = fake.core

    def bot_info(bot) -> dict[str, Any]:
        return {"token": bot.token, "id": bot.id, "username": bot.username, "first_name": bot.first_name,
                "webhook": bot.webhook.url if bot.webhook else "", "pending_update_count": len(bot.queue)}

    def known(token: str):
        bot = core.bots.get(token)
        if bot is None:
            raise KeyError(f"no bot with token {token}")
        return bot

    async def add_bot(request: web.Request) -> web.Response:
        body = await _body(request)
        bot = fake.register_bot(body.get("token"), body.get("username"), body.get("first_name"))
        return ok(bot_info(bot))

    async def list_bots(request: web.Request) -> web.Response:
        return ok([bot_info(bot) for bot in core.bots.values()])

    async def add_message(request: web.Request) -> web.Response:
        token = request.match_info["token"]
        known(token)
        body = await _body(request)
        text = body.get("text")
        if not isinstance(text, str):
            raise ValueError("text must be a string")
        return ok(core.inject_message(token, text, body.get("user"), body.get("chat"), body.get("extra")))

    async def add_callback_query(request: web.Request) -> web.Response:
        token = request.match_info["token"]
        known(token)
        body = await _body(request)
        return ok(core.inject_callback_query(token, body.get("data"), body.get("message_id"), body.get("user"),
                                              body.get("chat")))

    async def sent(request: web.Request) -> web.Response:
        token = request.match_info["token"]
        known(token)
        return ok({str(chat_id): entries for chat_id, entries in core.sent(token).items()})

    async def updates(request: web.Request) -> web.Response:
        bot = known(request.match_info["token"])
        return ok([update.to_dict() for update in bot.queue])

    async def configure(request: web.Request) -> web.Response:
        return ok(fake.configure(await _body(request)))

    return [
        web.post("/bots", add_bot),
        web.get("/bots", list_bots),
        web.post("/bots/{token}/messages", add_message),
        web.post("/bots/{token}/callback_queries", add_callback_query),
        web.get("/bots/{token}/sent", sent),
        web.get("/bots/{token}/updates", updates),
        web.post("/config", configure),
    ]
