"""The live dashboard in headless Chromium: loads clean, follows the journal, talks to a bot."""

from __future__ import annotations

import json
import threading
import urllib.request

import pytest
from playwright.sync_api import expect

from .conftest import screenshot


def open_dashboard(page, runtime) -> None:
    page.goto(runtime.control_url + "/")  # the root redirects to /_control/
    expect(page.locator("#status")).to_have_text("live")


def bot_api(runtime, token: str, method: str, **params) -> dict:
    request = urllib.request.Request(
        f"{runtime.url('botapi')}/bot{token}/{method}", data=json.dumps(params).encode(),
        headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return json.loads(exc.read())


def test_dashboard_loads_with_no_console_errors(page, runtime):
    open_dashboard(page, runtime)
    assert page.url == runtime.control_url + "/_control/"
    expect(page.locator("#fakes")).to_contain_text("botapi http://127.0.0.1:")
    expect(page.locator(".bot").first).to_be_visible()  # the ready bot of `botfakes serve`
    expect(page.locator("#gates")).to_contain_text("No gates.")
    assert page.errors == []


def test_a_request_shows_within_a_second(page, runtime):
    token = runtime.control.botapi.new_bot()
    open_dashboard(page, runtime)
    assert bot_api(runtime, token, "getMe")["ok"]
    # a second is the bound for "live"; wait_for_selector watches the page itself (no
    # polling back-off eating into the second)
    page.wait_for_selector(".sl-request:has-text('getMe')", timeout=1000)
    page.wait_for_selector(".sl-response.sl-ok:has-text('ok ← getMe')", timeout=1000)
    assert page.errors == []


def test_errors_stand_out_and_filters_select(page, runtime):
    token = runtime.control.botapi.new_bot()
    open_dashboard(page, runtime)
    assert not bot_api(runtime, token, "sendMessage", chat_id=424242, text="hi")["ok"]  # chat not found
    assert bot_api(runtime, token, "getMe")["ok"]
    expect(page.locator(".sl-response.sl-err", has_text="400 Bad Request: chat not found")).to_be_visible()
    page.select_option("#f-outcome", "errors")
    expect(page.locator(".sl-request")).to_have_count(0)
    expect(page.locator(".sl-response.sl-err")).to_have_count(1)
    page.select_option("#f-outcome", "")
    page.fill("#f-method", "getme")
    expect(page.locator(".sl-response")).to_have_count(1)
    expect(page.locator(".sl-response", has_text="getMe")).to_be_visible()
    assert page.errors == []


@pytest.mark.slow
def test_a_message_typed_in_the_dashboard_is_answered_by_a_running_bot(page, runtime, ptb_bots):
    token = runtime.control.botapi.new_bot()
    bot = ptb_bots(token)
    runtime.control.wait(fake="botapi", kind="request", method="getUpdates", timeout=60)
    open_dashboard(page, runtime)
    card = page.locator(f'.bot[data-token="{token}"]')
    card.locator(".new-chat input.first-name").fill("Ada")
    card.locator(".new-chat input.text").fill("/start")
    card.locator(".new-chat button.send").click()
    expect(card.locator(".msg-user", has_text="/start")).to_be_visible()
    expect(card.locator(".msg-bot", has_text="Hello, Ada!")).to_be_visible(timeout=20_000)
    expect(page.locator(".sl-request", has_text="sendMessage")).to_be_visible()
    # the bot's inline button: pressing it is a callback query the bot answers
    card.locator(".keyboard button.press", has_text="Ping").click()
    expect(card.locator(".msg-bot", has_text="pressed ping")).to_be_visible(timeout=20_000)
    expect(card.locator(".msg-action", has_text="answerCallbackQuery: pong")).to_be_visible()
    screenshot(page, "dashboard-chat")
    assert page.errors == [], bot.output()


def test_a_held_request_is_released_from_the_dashboard(page, runtime):
    token = runtime.control.botapi.new_bot()
    runtime.control.botapi.send_message(token, "hi", {"id": 5})  # so the bot may write to chat 5
    gate = runtime.control.add_gate("botapi", "sendMessage")  # holds until released
    open_dashboard(page, runtime)
    answers: list[dict] = []
    sender = threading.Thread(target=lambda: answers.append(
        bot_api(runtime, token, "sendMessage", chat_id=5, text="held one")))
    sender.start()
    try:
        held = page.locator(f'.gate[data-gate="{gate["id"]}"]')
        expect(held.locator(".held-count")).to_have_text("1")
        expect(page.locator(".sl-gate", has_text=f"held at {gate['id']}")).to_be_visible()
        assert answers == []  # still held: nothing can have answered it
        held.locator("button.release").click()
        expect(page.locator(".sl-gate", has_text=f"released 1st by {gate['id']}")).to_be_visible()
        expect(page.locator(".sl-response.sl-ok", has_text="sendMessage")).to_be_visible()
        expect(page.locator(".sl-hold")).to_have_count(1)
    finally:
        sender.join(30)
    assert answers and answers[0]["ok"], answers
    screenshot(page, "dashboard-gate")
    assert page.errors == []


@pytest.mark.slow
def test_a_second_instance_puts_the_409_in_red_on_the_first_ones_lane(page, runtime, ptb_bots):
    """The issue's walk-through: the first bot's parked getUpdates is the one that gets the 409."""
    token = runtime.control.botapi.new_bot()
    open_dashboard(page, runtime)
    first = ptb_bots(token)
    runtime.control.wait(fake="botapi", kind="note", method="getUpdates", timeout=60)  # parked
    second = ptb_bots(token)
    conflict = runtime.control.wait(fake="botapi", kind="response", method="getUpdates", code=409,
                                    timeout=60)[0]
    critical = page.locator(".sl-response.sl-crit", has_text="409 Conflict: terminated by other getUpdates request")
    expect(critical.first).to_be_visible()
    # which process the lane belongs to is looked up from its socket: wait for it, then compare
    page.wait_for_function("conn => !!window.botfakesLanes.owners[conn]", arg=conflict["conn"])
    owner = page.evaluate("conn => window.botfakesLanes.owners[conn]", conflict["conn"])
    assert owner["pid"] == first.pid != second.pid, (owner, first.output(), second.output())
    expect(page.locator(".sl-head", has_text=f"pid {first.pid}")).to_be_visible()
    screenshot(page, "dashboard-409")
    assert page.errors == []
