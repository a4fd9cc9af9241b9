"""The Bot API fake's own control routes (under /_control/botapi/) and their typed Python client.

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

from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from botfakes.fakes.control.client import ControlClient

    from .fake import BotApiFake


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


async def _body(request: web.Request) -> dict[str, Any]:
    from ..control.http import json_object, read_json

    return json_object(await read_json(request, default={}))


def control_routes(fake: "BotApiFake") -> list[web.RouteDef]:
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
        return _ok(bot_info(bot))

    async def list_bots(request: web.Request) -> web.Response:
        return _ok([bot_info(bot) for bot in core.bots.values()])

    async def add_message(request: web.Request) -> web.Response:
        token = request.match_info["token"]
        known(token)
        body = await _body(request)
        text = body.get("text")
        if not isinstance(text, str):
            raise ValueError("text must be a string")
        return _ok(core.inject_message(token, text, body.get("user"), body.get("chat"), body.get("extra")))

    async def add_callback_query(request: web.Request) -> web.Response:
        token = request.match_info["token"]
        known(token)
        body = await _body(request)
        return _ok(core.inject_callback_query(token, body.get("data"), body.get("message_id"), body.get("user"),
                                              body.get("chat")))

    async def sent(request: web.Request) -> web.Response:
        token = request.match_info["token"]
        known(token)
        return _ok({str(chat_id): entries for chat_id, entries in core.sent(token).items()})

    async def updates(request: web.Request) -> web.Response:
        bot = known(request.match_info["token"])
        return _ok([update.to_dict() for update in bot.queue])

    async def configure(request: web.Request) -> web.Response:
        return _ok(fake.configure(await _body(request)))

    return [
        web.post("/bots", add_bot),
        web.get("/bots", list_bots),
        web.post("/bots/{token}/messages", add_message),
        web.post("/bots/{token}/callback_queries", add_callback_query),
        web.get("/bots/{token}/sent", sent),
        web.get("/bots/{token}/updates", updates),
        web.post("/config", configure),
    ]


def _given(**fields: Any) -> dict[str, Any]:
    """The fields a caller gave (None = let the fake choose)."""
    return {k: v for k, v in fields.items() if v is not None}


class BotApiControl:
    """Typed client of the routes above: `ControlClient(url).botapi`."""

    def __init__(self, control: "ControlClient") -> None:
        self.control = control

    def new_bot(self, token: str | None = None, username: str | None = None,
                first_name: str | None = None) -> str:
        """Register a bot and return its token (a fresh one unless given)."""
        body = {k: v for k, v in (("token", token), ("username", username), ("first_name", first_name)) if v}
        return self.control.post("/botapi/bots", body)["token"]

    def bots(self) -> list[dict[str, Any]]:
        return self.control.get("/botapi/bots")

    def send_message(self, token: str, text: str, user: dict | None = None, chat: dict | None = None,
                     extra: dict | None = None) -> dict[str, Any]:
        """A user writes `text` to the bot; returns {"update_id", "message"}."""
        body = _given(text=text, user=user, chat=chat, extra=extra)
        return self.control.post(f"/botapi/bots/{token}/messages", body)

    def press_button(self, token: str, data: str, message_id: int | None = None, user: dict | None = None,
                     chat: dict | None = None) -> dict[str, Any]:
        """A user presses an inline button; returns {"update_id", "callback_query"}."""
        body = _given(data=data, message_id=message_id, user=user, chat=chat)
        return self.control.post(f"/botapi/bots/{token}/callback_queries", body)

    def sent(self, token: str) -> dict[int, list[dict[str, Any]]]:
        """Everything the bot did, per chat id."""
        return {int(chat_id): entries for chat_id, entries in self.control.get(f"/botapi/bots/{token}/sent").items()}

    def updates(self, token: str) -> list[dict[str, Any]]:
        return self.control.get(f"/botapi/bots/{token}/updates")

    def configure(self, **options: Any) -> dict[str, Any]:
        """Change options for this run (reset restores them), e.g. conflict_repeat_delay=0."""
        return self.control.post("/botapi/config", options)
