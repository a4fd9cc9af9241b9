"""Runs the reference bot (or a naive variant) as a subprocess against the botfakes fakes.

Synchronisation is by events only: the bot prints `BOT READY {...}` when it serves, and tests wait
on the fakes' journal (long-poll waits) for what the bot did, each wait bounded by a timeout.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from botfakes.fakes import registry

READY_TIMEOUT = 20.0


def get_json(url: str, timeout: float = 30.0) -> tuple[int, dict]:
    """(status, JSON body) of a GET to the bot's own HTTP server."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def free_port() -> int:
    # Only for webhook mode, where WEBHOOK_URL must name the port before the bot binds it.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BotProcess:
    def __init__(self, env: dict[str, str], log_path: Path):
        self.env = env
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "botfakes.reference_bot"],
            env=env, stdout=subprocess.PIPE, stderr=self._log, text=True,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self.ready: dict[str, Any] | None = None

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> dict[str, Any]:
        while True:
            try:
                line = self._lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"bot not ready within {timeout} s; log:\n{self.log()}") from None
            if line is None:
                raise AssertionError(f"bot exited ({self.proc.wait()}) before ready; log:\n{self.log()}")
            if line.startswith("BOT READY "):
                self.ready = json.loads(line[len("BOT READY "):])
                return self.ready

    @property
    def url(self) -> str:
        assert self.ready is not None
        return f"http://127.0.0.1:{self.ready['port']}"

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-6000:]

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def terminate(self, timeout: float = 15.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"bot ignored SIGTERM; log:\n{self.log()}") from None

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


@pytest.fixture
def bot_env(botapi, tmp_path, request) -> dict[str, str]:
    """The harness's variables for one bot registered on the fake Bot API."""
    token = botapi.new_bot(username="trader_ref_bot")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DERIV_", "WEBHOOK_", "TELETHON_"))}
    env.update({
        "TELEGRAM_BOT_TOKEN": token,
        "TELEGRAM_API_BASE_URL": botapi.url,
        "DATA_DIR": str(tmp_path / "data"),
        "HOST": "127.0.0.1",
        "PORT": "0",
        "USE_WEBHOOK": "false",
        # Nothing listens here unless a test points it at the Deriv fake.
        "DERIV_WS_URL": "ws://127.0.0.1:9/websockets/v3",
        "DERIV_APP_ID": "1089",
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    })
    return env


@pytest.fixture
def run_bot(tmp_path):
    """`run_bot(env)` starts a bot and waits until it serves; every bot is stopped after the test."""
    bots: list[BotProcess] = []

    def start(env: dict[str, str], wait: bool = True) -> BotProcess:
        bot = BotProcess(env, tmp_path / f"bot{len(bots)}.log")
        bots.append(bot)
        if wait:
            bot.wait_ready()
        return bot

    yield start
    for bot in bots:
        bot.close()


def webhook_env(env: dict[str, str], secret: str = "test_secret-1") -> dict[str, str]:
    port = free_port()
    return {**env, "USE_WEBHOOK": "true", "PORT": str(port), "WEBHOOK_URL": f"http://127.0.0.1:{port}",
            "WEBHOOK_PATH": "/tg/webhook", "WEBHOOK_SECRET": secret}


def have_fake(name: str) -> bool:
    return name in registry.FAKES


needs_deriv = pytest.mark.skipif(not have_fake("deriv"), reason="the Deriv fake is not registered yet")
needs_mtproto = pytest.mark.skipif(not have_fake("mtproto"), reason="the MTProto fake is not registered yet")
