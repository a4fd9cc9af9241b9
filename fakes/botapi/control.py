"""The typed Python client of /_control/botapi/ (reached as `ControlClient(...).botapi`); the
routes themselves are routes.py."""

from __future__ import annotations

from typing import Any

from ..control.client import FakeControl


def _given(**fields: Any) -> dict[str, Any]:
    """The fields a caller gave (None = let the fake choose)."""
    return {k: v for k, v in fields.items() if v is not None}


class BotApiControl(FakeControl):
    """Typed client of the /_control/botapi/ routes: `ControlClient(url).botapi`."""

    fake = "botapi"

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
