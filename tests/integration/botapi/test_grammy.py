"""grammY (JavaScript), unmodified, against the fake Bot API: /start, and seed 004's 409.

grammY comes from the npm registry into tests/integration/botapi/js/node_modules (.ci/run runs
`npm install` there); without Node or that folder these tests are skipped.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

JS = Path(__file__).with_name("js")
NODE = shutil.which("node")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(NODE is None or not (JS / "node_modules" / "grammy").is_dir(),
                       reason="grammY not installed (npm install in tests/integration/botapi/js)"),
]


def start_grammy(botapi, token: str) -> subprocess.Popen:
    return subprocess.Popen([NODE, str(JS / "grammy_bot.mjs"), token, botapi.url],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def stop(proc: subprocess.Popen) -> str:
    if proc.poll() is None:
        proc.terminate()
    out, _ = proc.communicate(timeout=30)
    return out


def test_grammy_bot_answers_start(botapi):
    token = botapi.new_bot()
    bot = start_grammy(botapi, token)
    try:
        botapi.wait_parked(token, timeout=30)
        chat = botapi.send_message(token, "/start")["message"]["chat"]["id"]
        botapi.wait_sent(token, count=1, timeout=30)
        assert [m["text"] for m in botapi.sent(token)[chat]] == ["hello from grammY"]
    finally:
        stop(bot)


def test_two_grammy_pollers_older_one_stops_with_the_seed_004_error(botapi):
    token = botapi.new_bot()
    first = start_grammy(botapi, token)
    second = None
    try:
        botapi.wait_parked(token, timeout=30)
        second = start_grammy(botapi, token)
        # The second poller's long poll takes over; the first one's gets the 409 and grammY's
        # bot.start() rejects with it, which is how seed 004's log line came about.
        assert first.wait(timeout=30) == 3
        out = stop(first)
        assert ("STOPPED GrammyError: Call to 'getUpdates' failed! (409: Conflict: terminated by "
                "other getUpdates request; make sure that only one bot instance is running)") in out, out
        conflicts = botapi.control.journal(fake="botapi", kind="response", method="getUpdates", code=409)
        assert len(conflicts) == 1
    finally:
        stop(first)
        if second is not None:
            stop(second)
