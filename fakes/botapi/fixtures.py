"""pytest fixtures of the fake Bot API (registered by the botfakes plugin).

    def test_start(botapi):
        token = botapi.new_bot()
        app = ApplicationBuilder().token(token).base_url(botapi.base_url).build()
        ...
        botapi.send_message(token, "/start")
        botapi.wait_sent(token, count=1)
"""

from __future__ import annotations

from typing import Any

import pytest

from ..control.client import ControlClient
from ..runtime import FakesRuntime
from .control import BotApiControl


class BotApiHandle(BotApiControl):
    """Where the fake Bot API is and how to drive it, for one test (the runtime was reset before it)."""

    def __init__(self, runtime: FakesRuntime) -> None:
        super().__init__(runtime.control)
        self.runtime = runtime
        self.url = runtime.url("botapi")  # http://127.0.0.1:<port>
        self.base_url = f"{self.url}/bot"  # python-telegram-bot's base_url; aiogram takes self.url

    def api_url(self, token: str, method: str) -> str:
        return f"{self.url}/bot{token}/{method}"

    def wait(self, count: int = 1, timeout: float = 10.0, **filters: Any) -> list[dict[str, Any]]:
        """Journal wait restricted to this fake."""
        return self.control.wait(count=count, timeout=timeout, fake="botapi", **filters)

    def wait_parked(self, token: str, count: int = 1, timeout: float = 10.0, since: int = 0) -> list[dict]:
        """Until `count` getUpdates of this bot are parked in a long poll (found nothing, waiting)."""
        return self.control.wait(count=count, timeout=timeout, fake="botapi", kind="note",
                                 method="getUpdates", since=since,
                                 data={"bot_id": _bot_id(token), "parked": True})

    def wait_sent(self, token: str, count: int = 1, timeout: float = 10.0, method: str = "sendMessage"
                  ) -> list[dict[str, Any]]:
        """Until `count` successful `method` calls of this bot were answered (one journal wait:
        a response matches by its request's bot_id)."""
        return self.control.wait(count=count, timeout=timeout, fake="botapi", kind="response",
                                 method=method, ok=True, data={"bot_id": _bot_id(token)})


def _bot_id(token: str) -> int:
    return int(token.split(":", 1)[0])


@pytest.fixture
def botapi(botfakes: FakesRuntime) -> BotApiHandle:
    """The fake Bot API of a freshly reset runtime."""
    return BotApiHandle(botfakes)


@pytest.fixture
def botapi_control(botfakes: FakesRuntime) -> ControlClient:
    return botfakes.control
