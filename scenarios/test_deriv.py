"""The Deriv part: replies held and released out of order, and a dropped connection (seed 003).

The bot is driven through Telegram with its own commands ([bot.deriv] request and stream, default
"/price {symbol}" and "/watch {symbol}") and observed on both fakes.
"""

from __future__ import annotations

import re

import pytest

from botfakes.fakes.control.journal import Event

from .bugs import BUGS
from .harness import Harness
from .plugin import requires

# Calls a bot makes on its own (keepalive, login): not the ones a /price command causes.
HOUSEKEEPING = {"ping", "time", "authorize", "website_status", "balance", "forget", "forget_all"}
SYMBOLS = ("R_25", "R_50", "R_75")
# A bot that handles updates one at a time never has three requests pending; how long it is
# given, from its first pending request, to get there before the gate releases what it holds
# (still in reverse order, so two pending requests are still raced).
PENDING_BOUND = 3.0
# How long a bot is given to reconnect and re-subscribe after the server closed its connection.
RECONNECT_BOUND = 15.0
# How long a request made only for the evidence of a verdict already reached may take.
EVIDENCE_BOUND = 3.0


def deriv_request(e: Event) -> bool:
    return e.fake == "deriv" and e.kind == "request" and e.method not in HOUSEKEEPING


def reply_text(h: Harness, chat: int) -> str:
    return " ".join(str(m.get("text", "")) for m in h.sent_to(chat))


def quoted_symbols(text: str, quotes: dict[str, float]) -> set[str]:
    """The symbols whose current quote appears in `text` (compared at the text's precision)."""
    found = set()
    for number in re.findall(r"\d+\.\d+", text):
        decimals = len(number.split(".")[1])
        for symbol, quote in quotes.items():
            if round(float(quote), decimals) == round(float(number), decimals):
                found.add(symbol)
    return found


def price_call(h: Harness) -> str:
    """Which Deriv call the bot makes for /price: learnt from one calm /price first.

    Its getUpdates may be held by a gate meanwhile: the command reaches the poll already parked.
    """
    chat = h.new_chat()
    since = h.events()[-1].seq if h.events() else 0
    command = h.command_text(h.spec.deriv_request, symbol="R_10")
    h.send(chat, command)
    if h.wait_replies([chat]):
        raise h.found("unanswered", f"{command} was never answered, without any race")
    calls = h.events(lambda e: e.seq > since and deriv_request(e))
    if not calls:
        pytest.skip(f"the bot's {command} made no Deriv request")
    return calls[0].method


@requires("polling", "deriv")
def test_deriv_replies_out_of_order(harness: Harness) -> None:
    """Concurrent Deriv requests answered in reverse order: no recv error, each reply to its asker."""
    h = harness
    h.mint()
    h.control.deriv.set_tick_interval(0)  # the market moves only when stepped: quotes stay put
    bot = h.start_polling_bot("A")
    # Hold the bot's next getUpdates while the three commands queue up, so that they reach it in
    # one batch, as a burst of users would: the bot may then ask Deriv all three at once.
    poll_gate = h.control.add_gate("botapi", "getUpdates")
    call = price_call(h)
    assert h.wait_held(poll_gate["id"], 1), "the bot never polled again after its Deriv request"
    gate = h.control.add_gate("deriv", call, count=len(SYMBOLS), order="reverse")
    chats = {symbol: h.new_chat() for symbol in SYMBOLS}
    for symbol, chat in chats.items():
        h.send(chat, h.command_text(h.spec.deriv_request, symbol=symbol))
    h.control.remove_gate(poll_gate["id"])
    held = lambda e: (e.kind == "gate" and e.data.get("gate") == gate["id"]  # noqa: E731
                      and e.data.get("action") == "held")
    if h.wait_for(held, timeout=30) and not h.wait_for(held, timeout=PENDING_BOUND, count=len(SYMBOLS)):
        h.control.release_gate(gate["id"])  # fewer at once: race those there are
    missing = h.wait_replies(chats.values(), timeout=30)
    recv = h.quote(BUGS["concurrent-recv"])
    if recv:
        raise h.found("concurrent-recv", recv[0], recv[1],
                      f"{len(SYMBOLS)} {call} requests pending on one connection, replies released "
                      "in reverse order")
    quotes = {s: v["quote"] for s, v in h.control.deriv.market()["symbols"].items() if s in SYMBOLS}
    for symbol, chat in chats.items():
        text = reply_text(h, chat)
        named = [s for s in SYMBOLS if s != symbol and s in text]
        priced = sorted(quoted_symbols(text, quotes) - {symbol})
        if named or priced:
            other = (named or priced)[0]
            raise h.found("crossed-replies", f"/price {symbol} was answered with {other}'s tick",
                          f"reply in the chat that asked for {symbol}: {text[:120]!r}",
                          f"current quotes: {quotes}",
                          f"the gate released the {call} replies in reverse order")
    if missing:
        raise h.found("unanswered", f"/price never answered in {len(missing)} of {len(chats)} chats",
                      *bot.output().splitlines()[-3:])


@requires("polling", "deriv")
def test_deriv_disconnect_mid_subscription(harness: Harness) -> None:
    """The Deriv connection drops during /watch: the bot reconnects, re-subscribes, never hangs."""
    h = harness
    h.mint()
    h.control.deriv.set_tick_interval(0)  # ticks only when stepped, so each one is accounted for
    bot = h.start_polling_bot("A")
    watch = h.new_chat()
    h.send(watch, h.command_text(h.spec.deriv_stream, symbol="R_50"))
    subscribed = h.wait_for(lambda e: deriv_request(e) and e.method == "ticks"
                            and str((e.data.get("params") or {}).get("subscribe")) == "1", timeout=30)
    if not subscribed:
        pytest.skip(f"the bot's {h.spec.deriv_stream} made no ticks subscription")
    h.control.deriv.step(ticks=1)
    if h.wait_replies([watch]):
        raise h.found("unanswered", "/watch R_50 was never answered")
    conn = subscribed[0].conn
    h.control.deriv.close_connection(conn, code=1011, reason="going away")
    resubscribed = h.wait_for(lambda e: deriv_request(e) and e.method == "ticks" and e.conn != conn
                              and str((e.data.get("params") or {}).get("subscribe")) == "1",
                              timeout=RECONNECT_BOUND)
    asker = h.new_chat()
    h.send(asker, h.command_text(h.spec.deriv_request, symbol="R_10"))
    # Without a new subscription the verdict is already made: the answer to a request only adds
    # evidence, so it gets a short bound (a bot that reconnects has had RECONNECT_BOUND already).
    unanswered = h.wait_replies([asker], timeout=RECONNECT_BOUND if resubscribed else EVIDENCE_BOUND)
    if not resubscribed:
        raise h.found("hung-after-disconnect", f"no new ticks subscription after the server closed {conn} (1011)",
                      f"/price after the drop {'never answered' if unanswered else 'answered'}",
                      *bot.output().splitlines()[-3:])
    if unanswered:
        raise h.found("hung-after-disconnect", "/price never answered after the reconnect",
                      *bot.output().splitlines()[-3:])
    before = len(h.sent_to(watch))
    h.control.deriv.step(ticks=1)
    if not h.wait_for(lambda e: h.is_send_to(e, watch) and e.seq > resubscribed[0].seq, timeout=30):
        raise h.found("hung-after-disconnect", "re-subscribed, but no tick reached the chat",
                      f"messages in the /watch chat: {before}")
