"""Runs the reference bot (or a naive variant) as a subprocess against the botfakes fakes.

Synchronisation is by events only: the bot prints `BOT READY {...}` when it serves, and tests wait
on the fakes' journal (long-poll waits) for what the bot did, each wait bounded by a timeout.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from botfakes.fakes import registry
from botfakes.testing import BotProcess, Contract, ReadyLine, bot_environment, default_variables, free_port

READY_TIMEOUT = 20.0
READY_LINE = ReadyLine(r"^BOT READY (\{.*\})$")
# Where the bot's Deriv connection points unless a test gives it the Deriv fake: nothing listens.
NO_DERIV = "ws://127.0.0.1:9/websockets/v3"


def get_json(url: str, timeout: float = 30.0) -> tuple[int, dict]:
    """(status, JSON body) of a GET to the bot's own HTTP server."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


class ReferenceBot(BotProcess):
    """`python -m botfakes.reference_bot` and what its `BOT READY {...}` line said."""

    def __init__(self, env: dict[str, str], log_path: Path, label: str = "A"):
        super().__init__(label, [sys.executable, "-m", "botfakes.reference_bot"], env,
                         cwd=Path.cwd(), log_path=log_path)
        self.ready: dict[str, Any] | None = None

    def wait_serving(self, timeout: float = READY_TIMEOUT) -> dict[str, Any]:
        self.ready = json.loads(self.wait_ready(READY_LINE, timeout).group(1))
        return self.ready

    @property
    def url(self) -> str:
        assert self.ready is not None
        return f"http://127.0.0.1:{self.ready['port']}"


@pytest.fixture
def bot_env(botapi, tmp_path) -> dict[str, str]:
    """The contract's variables for one bot registered on the fake Bot API, polling on any port."""
    contract = Contract(bot_token=botapi.new_bot(username="trader_ref_bot"), api_root=botapi.url,
                        data_dir=str(tmp_path / "data"))
    return bot_environment(contract, {"HOST": "127.0.0.1", "PORT": "0", "USE_WEBHOOK": "false",
                                      "DERIV_WS_URL": NO_DERIV, "DERIV_APP_ID": "1089", "LOG_LEVEL": "INFO"})


@pytest.fixture
def run_bot(tmp_path):
    """`run_bot(env)` starts a bot and waits until it serves; every bot is stopped after the test."""
    bots: list[ReferenceBot] = []

    def start(env: dict[str, str], wait: bool = True) -> ReferenceBot:
        bot = ReferenceBot(env, tmp_path / f"bot{len(bots)}.log", label="ABCDEFGH"[len(bots) % 8])
        bots.append(bot)
        bot.start()
        if wait:
            bot.wait_serving()
        return bot

    yield start
    for bot in bots:
        bot.close()


def webhook_env(env: dict[str, str], secret: str = "test_secret-1") -> dict[str, str]:
    """`env` in webhook mode; the port is picked first because WEBHOOK_URL names it."""
    webhook = Contract(port=free_port(), webhook=True, webhook_path="/tg/webhook", webhook_secret=secret)
    return {**env, **default_variables(webhook)}


def have_fake(name: str) -> bool:
    return name in registry.FAKES


needs_deriv = pytest.mark.skipif(not have_fake("deriv"), reason="the Deriv fake is not registered yet")
needs_mtproto = pytest.mark.skipif(not have_fake("mtproto"), reason="the MTProto fake is not registered yet")
