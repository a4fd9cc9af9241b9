"""Fault outcomes in the journal, push delays per connection, rate-limit close reason, and what a
reset does to open connections. Clients are plain `websockets`."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

BOUND = 10.0  # bounds a broken run; never a wait for something to happen


async def ask(ws, request: dict) -> dict:
    await ws.send(json.dumps(request))
    return json.loads(await asyncio.wait_for(ws.recv(), BOUND))


async def journal_wait(deriv, **filters):
    return await asyncio.to_thread(deriv.plane.wait, timeout=BOUND, **filters)


async def test_drop_and_close_journal_the_rule_outcome(deriv):
    drop = deriv.plane.add_fault(fake="deriv", method="time", action="drop", times=1)
    close = deriv.plane.add_fault(fake="deriv", method="ping", action="close", times=1)
    async with websockets.connect(deriv.endpoint) as ws:
        await ws.send(json.dumps({"time": 1, "req_id": 1}))
        assert (await ask(ws, {"website_status": 1, "req_id": 2}))["req_id"] == 2  # still open
        await ws.send(json.dumps({"ping": 1}))
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), BOUND)
    [dropped] = deriv.plane.journal(fake="deriv", kind="response", method="time")
    [closed] = deriv.plane.journal(fake="deriv", kind="response", method="ping")
    assert dropped["outcome"] == {"ok": False, "code": "drop", "text": f"fault rule {drop['id']}"}
    assert closed["outcome"] == {"ok": False, "code": "close", "text": f"fault rule {close['id']}"}


async def test_rate_limit_close_says_policy_violation(deriv):
    deriv.control.set_limits(connection={"per_minute": 1})
    async with websockets.connect(deriv.endpoint) as ws:
        await ask(ws, {"ping": 1})
        await ask(ws, {"ping": 1})
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), BOUND)
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1008, "Policy Violation")


async def test_push_delay_on_one_connection_stalls_no_other(deriv):
    async with websockets.connect(deriv.endpoint) as slow, \
            websockets.connect(deriv.endpoint) as fast:
        await ask(slow, {"ticks": "R_50"})  # subscribed first: its push comes first in a step
        await ask(fast, {"ticks": "R_50"})
        [slow_conn, fast_conn] = [e["conn"] for e in deriv.plane.journal(fake="deriv", kind="connect")]
        # a delay far beyond the bound: before the fix the step (and `fast`) waited it out
        deriv.plane.add_fault(fake="deriv", method="tick", action="delay", delay=600,
                              stage="push", conn=slow_conn)
        await asyncio.to_thread(deriv.step, 1)
        tick = json.loads(await asyncio.wait_for(fast.recv(), BOUND))
        assert tick["msg_type"] == "tick"
        # the slow connection's later pushes queue behind its delayed one (order kept)
        deriv.plane.clear_faults()
        await asyncio.to_thread(deriv.step, 1)
        assert json.loads(await asyncio.wait_for(fast.recv(), BOUND))["msg_type"] == "tick"
        pushes = deriv.plane.journal(fake="deriv", kind="push", conn=slow_conn)
        assert len(pushes) == 2 and pushes[0]["data"]["fault"]
        assert fast_conn != slow_conn


async def test_reset_closes_open_connections_and_leaves_a_clean_journal(deriv):
    async with websockets.connect(deriv.endpoint) as ws:
        await ask(ws, {"ticks": "R_50"})
        await asyncio.to_thread(deriv.plane.reset)
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), BOUND)
        assert closed.value.rcvd.code == 1001
    # the reset waited for the disconnect: nothing of the old connection is in the new journal
    assert deriv.plane.journal(fake="deriv") == []
    assert deriv.plane.stats()["fakes"]["deriv"]["connections"] == 0
