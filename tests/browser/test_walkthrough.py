"""The issue's done-when, as a new user does it: `botfakes serve`, open the URL it prints, start a
python-telegram-bot bot, type /start in the dashboard, start a second instance, see the 409."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import PTB_BOT, screenshot


@pytest.fixture
def served(tmp_path):
    ready = tmp_path / "fakes.json"
    serve = subprocess.Popen(
        [sys.executable, "-m", "botfakes", "serve", "--only", "botapi", "--botapi-port", "0",
         "--control-port", "0", "--ready-file", str(ready)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    printed = []
    try:
        while not ready.exists() or not ready.read_text():
            line = serve.stdout.readline()
            if not line and serve.poll() is not None:
                raise AssertionError("botfakes serve exited:\n" + "".join(printed))
            printed.append(line)
        yield json.loads(ready.read_text()), printed
    finally:
        serve.terminate()
        serve.wait(30)


def start_bot(info: dict, log: Path) -> subprocess.Popen:
    botapi = info["fakes"]["botapi"]
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": botapi["token"], "TELEGRAM_API_BASE_URL": botapi["url"],
           "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, str(PTB_BOT)], env=env, stdout=log.open("w"),
                            stderr=subprocess.STDOUT)


@pytest.mark.slow
def test_serve_open_the_url_start_a_bot_type_start_then_a_second_instance(page, served, tmp_path):
    info, printed = served
    page.goto(info["control_url"])  # what a user pastes: the URL serve printed, no path
    expect(page.locator("#status")).to_have_text("live")
    bots = [start_bot(info, tmp_path / "first.log")]
    try:
        expect(page.locator(".sl-request", has_text="getUpdates").first).to_be_visible(timeout=30_000)
        card = page.locator(f'.bot[data-token="{info["fakes"]["botapi"]["token"]}"]')
        card.locator(".new-chat input.first-name").fill("Ada")
        card.locator(".new-chat input.text").fill("/start")
        card.locator(".new-chat button.send").click()
        expect(card.locator(".msg-user", has_text="/start")).to_be_visible()
        expect(card.locator(".msg-bot", has_text="Hello, Ada!")).to_be_visible(timeout=20_000)
        expect(page.locator(".sl-request", has_text="sendMessage")).to_be_visible()
        screenshot(page, "walkthrough-start")
        bots.append(start_bot(info, tmp_path / "second.log"))
        conflict = page.locator(".sl-response.sl-crit", has_text="409 Conflict: terminated by other getUpdates request")
        expect(conflict.first).to_be_visible(timeout=30_000)
        conn = page.evaluate("() => window.botfakesLanes.rows.find(e => e.kind === 'response'"
                             " && e.outcome && e.outcome.code === 409).conn")
        page.wait_for_function("conn => !!window.botfakesLanes.owners[conn]", arg=conn)
        owner = page.evaluate("conn => window.botfakesLanes.owners[conn]", conn)
        assert owner["pid"] == bots[0].pid, (owner, [b.pid for b in bots])  # the first one's lane
        screenshot(page, "walkthrough-409")
    finally:
        for bot in bots:
            bot.terminate()
            bot.wait(30)
    assert page.errors == []
