"""The fake Deriv API over a real WebSocket: subscriptions, bad input, handshake, rate limits,
and the control plane's faults enacted in Deriv's terms. Clients are plain `websockets`."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

BOUND = 5.0  # a bound so a broken test fails instead of hanging; never a wait for something


async def send(ws, request: dict) -> None:
    await ws.send(json.dumps(request))


async def recv(ws) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), BOUND))


async def ask(ws, request: dict) -> dict:
    await send(ws, request)
    return await recv(ws)


async def step(deriv, ticks: int = 1) -> dict:
    # the control call returns once the stream messages are written to the sockets
    return await asyncio.to_thread(deriv.step, ticks)


# -- subscriptions -----------------------------------------------------------------------------
async def test_tick_stream_forget_and_already_subscribed(deriv):
    async with websockets.connect(deriv.endpoint) as ws:
        first = await ask(ws, {"ticks": "R_50", "subscribe": 1, "req_id": 1})
        sub = first["subscription"]["id"]
        assert first["msg_type"] == "tick" and first["tick"]["id"] == sub
        assert first["tick"]["symbol"] == "R_50" and first["tick"]["pip_size"] == 4
        market = await step(deriv, 2)
        ticks = [await recv(ws), await recv(ws)]
        assert [t["tick"]["epoch"] for t in ticks] == [market["epoch"] - 1, market["epoch"]]
        assert ticks[-1]["tick"]["quote"] == market["symbols"]["R_50"]["quote"]
        assert all(t["req_id"] == 1 and t["subscription"]["id"] == sub for t in ticks)

        dup = await ask(ws, {"ticks": "R_50", "req_id": 2})
        assert dup == {"echo_req": {"ticks": "R_50", "req_id": 2},
                       "error": {"code": "AlreadySubscribed",
                                 "message": "You are already subscribed to R_50"},
                       "msg_type": "tick", "req_id": 2}

        assert (await ask(ws, {"forget": sub, "req_id": 3}))["forget"] == 1
        await step(deriv, 2)
        # nothing of the stream came between: the next message is the pong
        assert (await ask(ws, {"ping": 1, "req_id": 4}))["msg_type"] == "ping"


async def test_forget_all_ends_every_stream_of_the_type(deriv):
    async with websockets.connect(deriv.endpoint) as ws:
        subs = {(await ask(ws, {"ticks": s}))["subscription"]["id"] for s in ("R_10", "R_100")}
        gone = await ask(ws, {"forget_all": ["ticks"], "req_id": 9})
        assert gone["msg_type"] == "forget_all" and set(gone["forget_all"]) == subs
        await step(deriv, 1)
        assert (await ask(ws, {"ping": 1}))["msg_type"] == "ping"


async def test_balance_after_buy_and_settlement(deriv):
    account = deriv.create_account(balance=100)
    async with websockets.connect(deriv.endpoint) as ws:
        assert (await ask(ws, {"authorize": account["token"]}))["authorize"]["balance"] == 100
        bal = await ask(ws, {"balance": 1, "subscribe": 1, "req_id": 2})
        assert bal["balance"] == {"balance": 100, "currency": "USD", "id": bal["subscription"]["id"],
                                  "loginid": account["loginid"]}
        proposal = await ask(ws, {"proposal": 1, "amount": 10, "basis": "stake",
                                  "contract_type": "CALL", "currency": "USD", "duration": 2,
                                  "duration_unit": "t", "symbol": "R_50", "req_id": 3})
        bought = await ask(ws, {"buy": proposal["proposal"]["id"], "price": 10,
                                "subscribe": 1, "req_id": 4})
        assert bought["buy"]["balance_after"] == 90
        pushed = await recv(ws)
        assert pushed["msg_type"] == "balance" and pushed["balance"]["balance"] == 90
        assert pushed["req_id"] == 2
        await step(deriv, 3)  # entry tick, then 2 ticks
        messages = [await recv(ws) for _ in range(4)]
        contracts = [m for m in messages if m["msg_type"] == "proposal_open_contract"]
        balances = [m for m in messages if m["msg_type"] == "balance"]
        final = contracts[-1]["proposal_open_contract"]
        assert [c["proposal_open_contract"]["is_sold"] for c in contracts] == [0, 0, 1]
        assert balances[0]["balance"]["balance"] == 90 + final["sell_price"]
    accounts = deriv.control.accounts()
    assert accounts[0]["balance"] == 90 + final["sell_price"]


# -- bad input ---------------------------------------------------------------------------------
BAD_REQUEST = {"echo_req": {}, "error": {
    "code": "BadRequest", "message": "The application sent an invalid request."},
    "msg_type": "error"}


@pytest.mark.botfakes_expect("unsupported")  # calls what the fake does not serve, on purpose
async def test_bad_frames_get_real_error_shapes_and_the_connection_keeps_serving(deriv):
    async with websockets.connect(deriv.endpoint) as ws:
        for frame in ("this is not json", "[1,2,3]", '"ping"', b"\x00\x01\xff"):
            await ws.send(frame)
            assert await recv(ws) == BAD_REQUEST
        await ws.send(b'{"ping":1,"req_id":11}')  # a binary frame holding JSON is served
        assert (await recv(ws))["ping"] == "pong"
        unknown = await ask(ws, {"make_me_rich": 1, "req_id": 12})
        assert unknown["error"] == {"code": "UnrecognisedRequest",
                                    "message": "Unrecognised request"}
        assert unknown["msg_type"] == "error" and unknown["req_id"] == 12
        sanity = await ask(ws, {"ping": 1, "bad key!": 1, "req_id": 13})
        assert sanity["error"]["code"] == "SanityCheckFailed" and sanity["echo_req"] == {}
        assert (await ask(ws, {"ping": 1}))["ping"] == "pong"
    events = deriv.plane.journal(fake="deriv", kind="response", code="BadRequest")
    assert len(events) == 4


async def test_oversized_frame_closes_that_connection_only(deriv):
    async with websockets.connect(deriv.endpoint) as other:
        async with websockets.connect(deriv.endpoint, max_size=None) as ws:
            await ws.send(json.dumps({"ping": 1, "passthrough": {"x": "a" * 300_000}}))
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), BOUND)
            assert closed.value.rcvd.code == 1009
        assert (await ask(other, {"ping": 1}))["ping"] == "pong"
    async with websockets.connect(deriv.endpoint) as fresh:
        assert (await ask(fresh, {"time": 1}))["msg_type"] == "time"


@pytest.mark.parametrize("query", ["app_id=0", "app_id=abc", "", "app_id=12345678901234567890"])
async def test_bad_app_id_is_refused_with_401(deriv, query):
    url = f"{deriv.url}/websockets/v3?{query}"
    with pytest.raises(InvalidStatus) as refused:
        async with websockets.connect(url):
            pass
    assert refused.value.response.status_code == 401
    assert json.loads(refused.value.response.body) == {"error": "InvalidAppID"}


async def test_wrong_path_is_404(deriv):
    with pytest.raises(InvalidStatus) as refused:
        async with websockets.connect(f"{deriv.url}/websockets/v2?app_id=1"):
            pass
    assert refused.value.response.status_code == 404


# -- rate limits and idle timeout --------------------------------------------------------------
async def test_per_connection_rate_limit_closes_with_1008(deriv):
    deriv.control.set_limits(connection={"per_minute": 2})
    async with websockets.connect(deriv.endpoint) as ws:
        for i in range(2):
            assert "error" not in await ask(ws, {"ping": 1, "req_id": i})
        over = await ask(ws, {"ping": 1, "req_id": 3})
        assert over["error"] == {"code": "RateLimit",
                                 "message": "You have reached the rate limit for ping."}
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), BOUND)
        assert closed.value.rcvd.code == 1008


async def test_idle_connection_is_dropped(deriv):
    deriv.control.configure(idle_timeout=0.2)
    async with websockets.connect(deriv.endpoint, ping_interval=None) as ws:
        await asyncio.wait_for(ws.wait_closed(), BOUND)
        assert ws.close_code == 1006  # the TCP connection ends without a close frame
    notes = deriv.plane.journal(fake="deriv", kind="note", method="idle_timeout")
    assert len(notes) == 1


# -- control plane faults in Deriv's terms -----------------------------------------------------
async def test_error_fault_in_deriv_vocabulary(deriv):
    deriv.plane.add_fault(fake="deriv", method="ticks_history", action="error", times=1, error={
        "code": "RateLimit", "message": "You have reached the rate limit for ticks_history."})
    async with websockets.connect(deriv.endpoint) as ws:
        request = {"ticks_history": "R_50", "end": "latest", "count": 3, "req_id": 5,
                   "passthrough": {"n": 1}}
        failed = await ask(ws, request)
        assert failed == {"echo_req": request, "msg_type": "ticks_history", "req_id": 5,
                          "passthrough": {"n": 1}, "error": {
                              "code": "RateLimit",
                              "message": "You have reached the rate limit for ticks_history."}}
        assert (await ask(ws, request))["msg_type"] == "history"


async def test_dropped_reply_and_close_after_n_messages(deriv):
    # rules are checked in the order they were armed: the close rule counts every message
    deriv.plane.add_fault(fake="deriv", action="close", skip=3, close_code=4001,
                          close_reason="going away on purpose")
    deriv.plane.add_fault(fake="deriv", method="time", action="drop", times=1)
    async with websockets.connect(deriv.endpoint) as ws:
        await send(ws, {"time": 1, "req_id": 1})  # message 1: its reply is dropped
        assert (await ask(ws, {"ping": 1, "req_id": 2}))["req_id"] == 2  # message 2
        assert (await ask(ws, {"time": 1, "req_id": 3}))["req_id"] == 3  # message 3
        await send(ws, {"ping": 1, "req_id": 4})  # message 4: closes
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), BOUND)
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4001, "going away on purpose")


async def test_stalled_stream_withholds_ticks_until_unstalled(deriv):
    async with websockets.connect(deriv.endpoint) as ws:
        sub = (await ask(ws, {"ticks": "R_25", "req_id": 1}))["subscription"]["id"]
        deriv.control.stall(subscription=sub)
        await step(deriv, 3)
        assert (await ask(ws, {"ping": 1}))["msg_type"] == "ping"
        withheld = deriv.plane.journal(fake="deriv", kind="push", ok=False)
        assert len(withheld) == 3 and withheld[0]["outcome"]["code"] == "drop"
        deriv.control.unstall()
        market = await step(deriv, 1)
        tick = await recv(ws)
        assert tick["tick"]["epoch"] == market["epoch"] and tick["subscription"]["id"] == sub


async def test_latency_rule_delays_the_reply(deriv):
    deriv.control.latency(0.01, jitter=0.01, method="ping")
    async with websockets.connect(deriv.endpoint) as ws:
        assert (await ask(ws, {"ping": 1}))["ping"] == "pong"
    faults = deriv.plane.journal(fake="deriv", kind="fault", method="ping")
    assert [f["data"]["action"] for f in faults] == ["delay"]


async def test_every_message_in_and_out_is_journaled(deriv):
    async with websockets.connect(deriv.endpoint) as ws:
        await ask(ws, {"ticks": "R_50", "req_id": 1})
        await step(deriv, 1)
        await recv(ws)
    kinds = [(e["kind"], e["method"]) for e in deriv.plane.journal(fake="deriv")]
    assert kinds == [("connect", ""), ("request", "ticks"), ("response", "ticks"),
                     ("push", "tick"), ("disconnect", "")]
