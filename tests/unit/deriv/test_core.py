"""The sans-I/O core: streams, market clock, accounts, contracts, rate limits."""

from __future__ import annotations

import json

import pytest

from botfakes.fakes.deriv.core import DerivCore
from botfakes.fakes.deriv.market import Market, candles


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def core(clock):
    return DerivCore(seed=3, start_epoch=1_700_000_000, backfill=200, rate_clock=clock)


def call(core, session, request):
    return core.handle_frame(session, json.dumps(request))


def reply(core, session, request):
    result = call(core, session, request)
    assert len(result.replies) == 1, result.replies
    return result.replies[0]


def authorized(core, conn="c1", **account):
    acc = core.create_account(**account)
    session = core.connect(conn)
    assert "error" not in reply(core, session, {"authorize": acc.token})
    return session, acc


# -- market ------------------------------------------------------------------------------------
def test_market_is_deterministic_per_seed_and_symbol():
    a, b = Market(seed=1, start_epoch=0, backfill=10), Market(seed=1, start_epoch=0, backfill=10)
    c = Market(seed=1, start_epoch=0, backfill=10, symbols=("R_50",))
    for _ in range(5):
        a.step(), b.step(), c.step()
    assert a.get("R_50").last == b.get("R_50").last == c.get("R_50").last
    assert Market(seed=2, start_epoch=0, backfill=10).get("R_50").last != a.get("R_50").last
    assert a.epoch == 5


def test_quotes_have_the_symbol_pip():
    m = Market(seed=0, start_epoch=0, backfill=100)
    assert m.get("R_50").decimals == 4 and m.get("R_100").decimals == 2
    for t in m.get("R_100").history:
        assert round(t.quote, 2) == t.quote


def test_candles_group_by_granularity():
    m = Market(seed=0, start_epoch=120, backfill=0)
    for _ in range(130):
        m.step()
    cs = candles(list(m.get("R_50").history), 60)
    assert [c["epoch"] for c in cs] == [120, 180, 240]
    first = [t.quote for t in m.get("R_50").history if 120 <= t.epoch < 180]
    assert cs[0]["open"] == first[0] and cs[0]["close"] == first[-1]
    assert cs[0]["high"] == max(first) and cs[0]["low"] == min(first)


# -- ticks -------------------------------------------------------------------------------------
def test_tick_stream_shape_and_pushes(core):
    s = core.connect("c1")
    first = reply(core, s, {"ticks": "R_50", "req_id": 7, "passthrough": {"p": 1}})
    sub = first["subscription"]["id"]
    assert len(sub) == 36 and sub.count("-") == 4
    assert set(first["tick"]) == {"ask", "bid", "epoch", "id", "pip_size", "quote", "symbol"}
    assert first["tick"]["id"] == sub and first["msg_type"] == "tick"
    assert first["passthrough"] == {"p": 1}
    pushes = core.step(2)
    assert len(pushes) == 2
    for d in pushes:
        m = d.message
        assert m["msg_type"] == "tick" and m["req_id"] == 7 and "passthrough" not in m
        assert m["echo_req"] == {"ticks": "R_50", "req_id": 7, "passthrough": {"p": 1}}
        assert m["subscription"]["id"] == sub
    assert pushes[1].message["tick"]["epoch"] == first["tick"]["epoch"] + 2


def test_already_subscribed_and_forget(core):
    s = core.connect("c1")
    sub = reply(core, s, {"ticks": "R_50"})["subscription"]["id"]
    again = reply(core, s, {"ticks": "R_50", "req_id": 2})
    assert again["error"] == {"code": "AlreadySubscribed",
                              "message": "You are already subscribed to R_50"}
    assert again["msg_type"] == "tick"
    # another connection may follow the same symbol
    assert "error" not in reply(core, core.connect("c2"), {"ticks": "R_50"})
    assert reply(core, s, {"forget": sub})["forget"] == 1
    assert reply(core, s, {"forget": sub})["forget"] == 0
    assert all(d.session is not s for d in core.step(1))


def test_forget_all_by_type(core):
    s = core.connect("c1")
    t1 = reply(core, s, {"ticks": "R_50"})["subscription"]["id"]
    t2 = reply(core, s, {"ticks_history": "R_10", "end": "latest", "count": 5,
                         "subscribe": 1})["subscription"]["id"]
    c1 = reply(core, s, {"ticks_history": "R_10", "end": "latest", "style": "candles",
                         "subscribe": 1})["subscription"]["id"]
    gone = reply(core, s, {"forget_all": "ticks"})
    assert gone["msg_type"] == "forget_all" and sorted(gone["forget_all"]) == sorted([t1, t2])
    assert [d.message["msg_type"] for d in core.step(1)] == ["ohlc"]
    assert reply(core, s, {"forget_all": ["candles", "balance"]})["forget_all"] == [c1]
    assert core.step(1) == []


def test_unknown_symbol(core):
    r = reply(core, core.connect("c1"), {"ticks": "NOPE"})
    assert r["error"] == {"code": "InvalidSymbol", "message": "Symbol NOPE invalid."}


def test_ticks_history_ticks_and_candles(core):
    s = core.connect("c1")
    h = reply(core, s, {"ticks_history": "R_50", "end": "latest", "count": 10})
    assert h["msg_type"] == "history" and len(h["history"]["prices"]) == 10
    assert h["history"]["times"][-1] == core.market.epoch and h["pip_size"] == 4
    c = reply(core, s, {"ticks_history": "R_50", "end": "latest", "style": "candles",
                        "granularity": 60, "count": 2})
    assert c["msg_type"] == "candles" and len(c["candles"]) == 2
    assert set(c["candles"][0]) == {"open", "high", "low", "close", "epoch"}


def test_disconnect_ends_streams(core):
    s = core.connect("c1")
    reply(core, s, {"ticks": "R_50"})
    core.disconnect(s)
    assert core.step(1) == [] and core.streams == {}


# -- accounts, buy, settlement -----------------------------------------------------------------
BUY_CALL = {"buy": "1", "price": 10, "parameters": {
    "amount": 10, "basis": "stake", "contract_type": "CALL", "currency": "USD",
    "duration": 3, "duration_unit": "t", "symbol": "R_50"}}


def test_authorize_reply(core):
    acc = core.create_account(balance=1234.5, currency="USD")
    r = reply(core, core.connect("c1"), {"authorize": acc.token, "req_id": 1})
    a = r["authorize"]
    assert a["loginid"] == acc.loginid and a["balance"] == 1234.5 and a["currency"] == "USD"
    assert a["is_virtual"] == 1 and a["account_list"][0]["loginid"] == acc.loginid
    assert {"email", "fullname", "scopes", "user_id", "landing_company_name"} <= set(a)
    assert r["echo_req"]["authorize"] == "<not shown>"


def test_balance_subscription_follows_buy_and_settlement(core):
    s, acc = authorized(core, balance=100)
    b = reply(core, s, {"balance": 1, "subscribe": 1, "req_id": 3})
    assert b["balance"]["balance"] == 100 and b["balance"]["id"] == b["subscription"]["id"]
    again = reply(core, s, {"balance": 1, "subscribe": 1})
    assert again["error"] == {"code": "AlreadySubscribed",
                              "message": "You are already subscribed to balance for all accounts."}
    result = call(core, s, BUY_CALL)
    bought = result.replies[0]["buy"]
    assert bought["balance_after"] == 90 and bought["buy_price"] == 10 and bought["payout"] == 19.5
    assert [d.message["balance"]["balance"] for d in result.pushes] == [90]
    pushes = core.step(4)  # entry tick + 3 ticks
    contract = core.contracts[bought["contract_id"]]
    assert contract.is_sold
    balances = [d.message["balance"]["balance"] for d in pushes if d.message["msg_type"] == "balance"]
    assert balances == [90 + contract.sell_price]
    assert acc.balance == 90 + contract.sell_price


def test_contract_outcome_follows_the_ticks(core):
    s, acc = authorized(core, balance=100)
    bought = reply(core, s, {**BUY_CALL, "subscribe": 1})
    sub = bought["subscription"]["id"]
    pushes = [d.message for d in core.step(6) if d.message["msg_type"] == "proposal_open_contract"]
    # one message per tick until it is sold, then the stream ends
    assert [p["proposal_open_contract"]["is_sold"] for p in pushes] == [0, 0, 0, 1]
    final = pushes[-1]["proposal_open_contract"]
    assert final["id"] == sub and pushes[-1]["subscription"]["id"] == sub
    entry, exit_ = final["entry_tick"], final["exit_tick"]
    assert final["status"] == ("won" if exit_ > entry else "lost")
    assert final["profit"] == round(final["sell_price"] - 10, 2)
    assert sub not in core.streams


def test_time_duration_contract_settles_on_the_fake_clock(core):
    s, acc = authorized(core, balance=100)
    params = {**BUY_CALL["parameters"], "duration": 15, "duration_unit": "s"}
    bought = reply(core, s, {"buy": "1", "price": 10, "parameters": params})["buy"]
    contract = core.contracts[bought["contract_id"]]
    core.step(14)
    assert not contract.is_sold
    core.step(1)
    assert contract.is_sold and contract.exit.epoch == bought["purchase_time"] + 15


def test_buy_a_proposal_by_id_and_only_once(core):
    s, acc = authorized(core, balance=100)
    p = reply(core, s, {"proposal": 1, "amount": 20, "basis": "payout", "contract_type": "PUT",
                        "currency": "USD", "duration": 5, "duration_unit": "t",
                        "symbol": "R_100", "subscribe": 1})
    pid = p["proposal"]["id"]
    assert p["subscription"]["id"] == pid and p["proposal"]["payout"] == 20
    ask = p["proposal"]["ask_price"]
    assert ask == round(20 / 1.95, 2)
    assert [d.message["proposal"]["id"] for d in core.step(1)] == [pid]
    assert reply(core, s, {"buy": pid, "price": ask})["buy"]["buy_price"] == ask
    again = reply(core, s, {"buy": pid, "price": ask})
    assert again["error"] == {"code": "InvalidContractProposal",
                              "message": "Unknown contract proposal"}
    assert all(d.message["msg_type"] != "proposal" for d in core.step(1))


def test_buy_errors(core):
    s, acc = authorized(core, balance=5)
    r = reply(core, s, BUY_CALL)
    assert r["error"]["code"] == "InsufficientBalance"
    assert r["error"]["message"] == ("Your account balance (USD5.00) is insufficient to buy "
                                     "this contract (USD10.00).")
    low = reply(core, s, {**BUY_CALL, "price": 9})
    assert low["error"]["code"] == "PriceMoved"


def test_already_subscribed_proposal(core):
    s = core.connect("c1")
    req = {"proposal": 1, "amount": 10, "basis": "stake", "contract_type": "CALL",
           "currency": "USD", "duration": 5, "duration_unit": "t", "symbol": "R_50",
           "subscribe": 1}
    assert "error" not in reply(core, s, req)
    assert reply(core, s, {**req, "req_id": 2})["error"] == {
        "code": "AlreadySubscribed", "message": "You are already subscribed to proposal."}


def test_logout_ends_authenticated_streams_only(core):
    s, acc = authorized(core)
    reply(core, s, {"balance": 1, "subscribe": 1})
    reply(core, s, {"ticks": "R_50"})
    assert reply(core, s, {"logout": 1})["logout"] == 1
    assert [d.message["msg_type"] for d in core.step(1)] == ["tick"]
    assert reply(core, s, {"balance": 1})["error"]["code"] == "AuthorizationRequired"


def test_balance_streams_on_other_connections_of_the_account(core):
    s1, acc = authorized(core, "c1", balance=50)
    s2 = core.connect("c2")
    reply(core, s2, {"authorize": acc.token})
    reply(core, s2, {"balance": 1, "subscribe": 1})
    result = call(core, s1, BUY_CALL)
    assert [d.session for d in result.pushes] == [s2]


# -- rate limits -------------------------------------------------------------------------------
def test_per_connection_class_closes_with_1008(core, clock):
    core.limiter.configure("connection", per_minute=3)
    s = core.connect("c1")
    for _ in range(3):
        assert call(core, s, {"ping": 1}).close is None
    result = call(core, s, {"ping": 1, "req_id": 9})
    assert result.replies == [{
        "echo_req": {"ping": 1, "req_id": 9},
        "error": {"code": "RateLimit", "message": "You have reached the rate limit for ping."},
        "msg_type": "ping", "req_id": 9}]
    assert result.close == (1008, "Policy Violation")
    # another connection has its own count; the window slides with the clock
    assert call(core, core.connect("c2"), {"ping": 1}).error is None
    clock.now += 61
    assert call(core, s, {"ping": 1}).error is None


def test_general_class_counts_per_account_and_does_not_close(core):
    core.limiter.configure("general", per_minute=2)
    acc = core.create_account()
    sessions = [core.connect(f"c{i}") for i in range(2)]
    # before authorize the consumer is the connection; after it, the account
    results = [call(core, s, {"authorize": acc.token}) for s in sessions]
    results += [call(core, s, {"website_status": 1}) for s in sessions]
    assert all(r.error is None for r in results)
    # the account has used its 2 calls, whichever connection makes the next one
    r = call(core, sessions[0], {"website_status": 1})
    assert r.error["code"] == "RateLimit" and r.close is None
    assert r.error["message"] == "You have reached the rate limit for website_status."


def test_rate_limit_comes_before_validation(core):
    core.limiter.configure("connection", per_minute=0)
    assert call(core, core.connect("c1"), {"ping": 5}).error["code"] == "RateLimit"


def test_reset_forgets_accounts_and_streams(core):
    s, acc = authorized(core)
    reply(core, s, {"ticks": "R_50"})
    core.reset()
    assert core.streams == {} and s.account is None and core.step(1) == []
    assert reply(core, s, {"authorize": acc.token})["error"]["code"] == "InvalidToken"


# -- subscriptions that must not half-happen -----------------------------------------------------
def test_proposal_open_contract_already_subscribed_starts_no_stream(core):
    """AlreadySubscribed for one contract must not leave streams for the others behind."""
    s, acc = authorized(core, balance=100)
    first = reply(core, s, BUY_CALL)["buy"]["contract_id"]
    second = reply(core, s, BUY_CALL)["buy"]["contract_id"]
    assert "error" not in reply(core, s, {"proposal_open_contract": 1, "contract_id": second,
                                          "subscribe": 1})
    streams_before = set(s.streams)
    result = call(core, s, {"proposal_open_contract": 1, "subscribe": 1})  # every open contract
    assert result.error == {"code": "AlreadySubscribed",
                            "message": "You are already subscribed to proposal_open_contract."}
    assert set(s.streams) == streams_before
    assert not core.contract_streams.get(first)


def test_at_most_five_proposal_subscriptions_per_connection(core):
    from botfakes.fakes.deriv.core import MAX_PROPOSAL_SUBSCRIPTIONS, PROPOSAL_LIMIT_MESSAGE

    s = core.connect("c1")
    base = {"proposal": 1, "basis": "stake", "contract_type": "CALL", "currency": "USD",
            "duration": 5, "duration_unit": "t", "symbol": "R_50", "subscribe": 1}
    ids = [reply(core, s, {**base, "amount": 10 + i})["subscription"]["id"]
           for i in range(MAX_PROPOSAL_SUBSCRIPTIONS)]
    over = reply(core, s, {**base, "amount": 99})
    assert over["error"] == {"code": "RateLimit", "message": PROPOSAL_LIMIT_MESSAGE}
    assert MAX_PROPOSAL_SUBSCRIPTIONS == 5
    # without subscribe it is a plain price; another connection has its own five
    plain = {k: v for k, v in base.items() if k != "subscribe"}
    assert "error" not in reply(core, s, {**plain, "amount": 99})
    assert "error" not in reply(core, core.connect("c2"), {**base, "amount": 99})
    # forgetting one frees a slot
    assert reply(core, s, {"forget": ids[0]})["forget"] == 1
    assert "error" not in reply(core, s, {**base, "amount": 99})
