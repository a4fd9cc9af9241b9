"""The reference bot's Deriv side (seed 003) against the Deriv fake, plus the two naive variants.

Concurrency comes from webhook mode: the fake Bot API delivers different chats' updates in
parallel, so five /price commands are five Deriv requests in flight on one connection; a gate on
the Deriv fake holds them until all five are in and answers them in reverse order.
"""

from __future__ import annotations

import re

import pytest

from .conftest import needs_deriv, webhook_env

pytestmark = [pytest.mark.slow, needs_deriv]
SYMBOLS = ("R_10", "R_25", "R_50", "R_75", "R_100")


@pytest.fixture
def deriv_env(deriv, bot_env):
    account = deriv.create_account(currency="USD", balance=10000)
    return {**bot_env, "DERIV_WS_URL": f"{deriv.url}/websockets/v3", "DERIV_APP_ID": "1089",
            "DERIV_API_TOKEN": account["token"], "_LOGINID": account["loginid"]}


def quotes(deriv) -> dict[str, float]:
    return {name: s["quote"] for name, s in deriv.control.market()["symbols"].items()}


def chat_of(injected: dict) -> int:
    return injected["message"]["chat"]["id"]


def texts(botapi, token: str, chat: int) -> list[str]:
    return [e["text"] for e in botapi.sent(token).get(chat, [])]


def wait_for_text(botapi, token: str, chat: int, prefix: str, timeout: float = 15.0) -> str:
    """Until the chat has a message starting with `prefix`: a journal wait per reply to that chat
    (the text is not known in full, so it cannot be the wait's filter)."""
    since = 0
    for _ in range(200):
        for text in texts(botapi, token, chat):
            if text.startswith(prefix):
                return text
        since = botapi.control.wait(count=1, timeout=timeout, fake="botapi", kind="response",
                                    method="sendMessage", params={"chat_id": chat}, since=since)[-1]["seq"]
    raise AssertionError(f"no {prefix!r} in chat {chat}: {texts(botapi, token, chat)}")


def price_burst(botapi, deriv, token: str) -> dict[str, int]:
    """Five chats ask /price for five symbols at once; Deriv answers in reverse order."""
    deriv.plane.add_gate(fake="deriv", method="ticks_history", count=len(SYMBOLS), order="reverse")
    chats = {}
    for i, symbol in enumerate(SYMBOLS):
        chats[symbol] = chat_of(botapi.send_message(token, f"/price {symbol}", user={"id": 4000 + i}))
    botapi.wait_sent(token, count=len(SYMBOLS), timeout=20)
    return chats


def test_price_and_balance_in_private_chat_and_group(botapi, deriv, deriv_env, run_bot):
    token = deriv_env["TELEGRAM_BOT_TOKEN"]
    run_bot(deriv_env)
    now = quotes(deriv)
    private = chat_of(botapi.send_message(token, "/price R_50", user={"id": 4101}))
    group = chat_of(botapi.send_message(token, "/price@trader_ref_bot R_100", user={"id": 4102},
                                        chat={"type": "group", "id": -4103}))
    balance = chat_of(botapi.send_message(token, "/balance", user={"id": 4104}))
    group_balance = chat_of(botapi.send_message(token, "/balance@trader_ref_bot", user={"id": 4105},
                                                chat={"type": "supergroup", "id": -4106}))
    bad = chat_of(botapi.send_message(token, "/price NOPE", user={"id": 4107}))
    botapi.wait_sent(token, count=5, timeout=20)
    assert texts(botapi, token, private)[0].startswith(f"R_50: {now['R_50']}")
    assert texts(botapi, token, group)[0].startswith(f"R_100: {now['R_100']}")
    for chat in (balance, group_balance):
        (text,) = texts(botapi, token, chat)
        assert re.fullmatch(rf"Balance: 10000(\.0+)? USD \({deriv_env['_LOGINID']}\)", text), text
    assert texts(botapi, token, bad)[0].startswith("/price NOPE: Deriv refused:")
    # One connection, authorized once, every reply matched by req_id.
    assert len(deriv.plane.journal(fake="deriv", kind="connect", limit=None)) == 1
    assert len(deriv.plane.journal(fake="deriv", kind="request", method="authorize", limit=None)) == 1


def test_watch_streams_ticks_and_unwatch_forgets(botapi, deriv, deriv_env, run_bot):
    token = deriv_env["TELEGRAM_BOT_TOKEN"]
    run_bot(deriv_env)
    chat = chat_of(botapi.send_message(token, "/watch R_25", user={"id": 4201}))
    wait_for_text(botapi, token, chat, "Watching R_25")
    deriv.step(1)
    tick = wait_for_text(botapi, token, chat, "R_25: ")
    assert tick.startswith(f"R_25: {quotes(deriv)['R_25']}")  # the latest tick, coalesced
    group = chat_of(botapi.send_message(token, "/watch@trader_ref_bot R_50", user={"id": 4202},
                                        chat={"type": "group", "id": -4203}))
    wait_for_text(botapi, token, group, "Watching R_50")
    botapi.send_message(token, "/unwatch", user={"id": 4201})
    wait_for_text(botapi, token, chat, "Stopped watching R_25")
    deriv.plane.wait(count=1, timeout=10, fake="deriv", kind="response", method="forget")
    botapi.send_message(token, "/unwatch R_50", user={"id": 4202}, chat={"type": "group", "id": -4203})
    wait_for_text(botapi, token, group, "Stopped watching R_50")


def test_replies_answered_out_of_order_reach_the_right_chat(botapi, deriv, deriv_env, run_bot):
    token = deriv_env["TELEGRAM_BOT_TOKEN"]
    run_bot(webhook_env(deriv_env))
    now = quotes(deriv)
    chats = price_burst(botapi, deriv, token)
    for symbol, chat in chats.items():
        assert texts(botapi, token, chat)[0].startswith(f"{symbol}: {now[symbol]}"), texts(botapi, token, chat)
    assert len(deriv.plane.journal(fake="deriv", kind="connect", limit=None)) == 1


def drop_after_reply(botapi, deriv, deriv_env, run_bot, command: str, user: int, prefix: str) -> tuple[str, int]:
    """Start the bot, have one chat's `command` answered (a reply starting with `prefix`), then
    close the bot's one Deriv connection from the server side, as a deploy on Deriv's side
    would. Returns (token, chat)."""
    token = deriv_env["TELEGRAM_BOT_TOKEN"]
    run_bot(deriv_env)
    chat = chat_of(botapi.send_message(token, command, user={"id": user}))
    wait_for_text(botapi, token, chat, prefix)
    (conn,) = deriv.control.connections()
    deriv.control.close_connection(conn["conn"], code=1011, reason="going away")
    return token, chat


def test_reconnect_after_the_server_drops_the_connection(botapi, deriv, deriv_env, run_bot):
    token, _ = drop_after_reply(botapi, deriv, deriv_env, run_bot, "/balance", 4301, "Balance:")
    deriv.plane.wait(count=2, timeout=15, fake="deriv", kind="request", method="authorize")  # re-authorized
    second = chat_of(botapi.send_message(token, "/balance", user={"id": 4302}))
    assert wait_for_text(botapi, token, second, "Balance:").startswith("Balance: 10000")


def test_naive_concurrent_recv_raises_concurrency_error(botapi, deriv, deriv_env, run_bot):
    token = deriv_env["TELEGRAM_BOT_TOKEN"]
    run_bot({**webhook_env(deriv_env), "BOT_VARIANT": "naive_concurrent_recv"})
    chats = price_burst(botapi, deriv, token)
    replies = [texts(botapi, token, chat)[0] for chat in chats.values()]
    assert any("cannot call recv while another coroutine is already running recv" in r for r in replies), replies


def test_naive_recv_lock_without_routing_crosses_replies(botapi, deriv, deriv_env, run_bot):
    token = deriv_env["TELEGRAM_BOT_TOKEN"]
    run_bot({**webhook_env(deriv_env), "BOT_VARIANT": "naive_recv_lock_no_routing"})
    now = quotes(deriv)
    chats = price_burst(botapi, deriv, token)
    replies = {symbol: texts(botapi, token, chat)[0] for symbol, chat in chats.items()}
    assert not any("cannot call recv" in r for r in replies.values())
    crossed = [s for s, r in replies.items() if not r.startswith(f"{s}: {now[s]}")]
    assert crossed, replies  # some chat got another symbol's price


def test_watch_survives_a_dropped_connection(botapi, deriv, deriv_env, run_bot):
    """Reconnect re-authorizes and resubscribes: the chat keeps getting ticks."""
    token, chat = drop_after_reply(botapi, deriv, deriv_env, run_bot, "/watch R_75", 4401, "Watching R_75")
    deriv.plane.wait(count=2, timeout=15, fake="deriv", kind="response", method="ticks", ok=True)
    requests = [e["method"] for e in deriv.plane.journal(fake="deriv", kind="request", limit=None)]
    second_auth = [i for i, m in enumerate(requests) if m == "authorize"][1]
    assert "ticks" in requests[second_auth + 1:]  # re-authorized, then resubscribed
    deriv.step(3)
    latest = quotes(deriv)["R_75"]
    wait_for_text(botapi, token, chat, f"R_75: {latest}")  # the new quote reaches the chat
