"""Schedule policies wired into the plane's gates (no sockets but the control route's loopback)."""

import asyncio

import pytest
from aiohttp.test_utils import TestClient, TestServer

from botfakes.fakes.control import ControlPlane, EventFilter, Gate, Match
from botfakes.fakes.control import journal as j
from botfakes.fakes.control import schedules as s
from botfakes.fakes.control.http import build_control_app


async def passage(plane, log, n, method="ticks_history", conn="deriv#7", fake="deriv", params=None):
    async with plane.request(fake, conn, method, {"n": n, **(params or {})}) as req:
        log.append(n)
        req.reply(j.ok())


async def run_batch(plane, count, **kwargs):
    log: list = []
    tasks = []
    for n in range(count):
        tasks.append(asyncio.create_task(passage(plane, log, n, **kwargs)))
        # each one held before the next arrives: arrival order is n's order
        await plane.journal.wait(EventFilter(kind="gate", action="held"), count=n + 1, timeout=5)
    await asyncio.gather(*tasks)
    return log


def released(plane):
    return [e for e in plane.journal.events(EventFilter(kind="gate", action="released"))]


@pytest.mark.parametrize("index", range(7))
async def test_explore_gate_releases_the_index_th_distinct_order(index):
    plane = ControlPlane()
    gate = plane.gates.add(Gate(Match(fake="deriv"), count=3, order="explore", schedule=index))
    log = await run_batch(plane, 3)
    assert tuple(log) == list(s.distinct_orders([s.RequestIdentity("deriv", "conn1", "m", n)
                                                 for n in (1, 2, 3)]))[index % 6]
    assert gate.to_json()["orders"] == 6
    events = released(plane)
    assert [e.data["identity"] for e in events] == [f"deriv/conn1/ticks_history/{n + 1}" for n in log]
    assert {e.data["policy"] for e in events} == {"explore"} and {e.data["batch"] for e in events} == {1}
    assert s.schedule_from_events(plane.journal.events())[0].order == tuple(log)


async def test_por_over_bot_tokens_counts_fewer_orders():
    plane = ControlPlane()
    gate = plane.gates.add(Gate(Match(fake="botapi"), count=4, order="explore", schedule=0))
    log: list = []
    tasks = []
    for n, bot in enumerate(("11", "22", "11", "22")):
        tasks.append(asyncio.create_task(
            passage(plane, log, n, method="sendMessage", conn=f"botapi#{n}", fake="botapi",
                    params={"bot_id": bot})))
        await plane.journal.wait(EventFilter(kind="gate", action="held"), count=n + 1, timeout=5)
    await asyncio.gather(*tasks)
    assert gate.to_json()["orders"] == 4  # 2! x 2!: the two bots' requests do not race each other
    held = plane.journal.events(EventFilter(kind="gate", action="held"))
    assert [e.data["identity"] for e in held] == [
        "botapi/bot1/sendMessage/1", "botapi/bot2/sendMessage/1",
        "botapi/bot1/sendMessage/2", "botapi/bot2/sendMessage/2"]


@pytest.mark.parametrize("order", ["pct", "random"])
async def test_seeded_policies_repeat_their_order(order):
    orders = []
    for _ in range(2):
        plane = ControlPlane()
        plane.gates.add(Gate(Match(fake="deriv"), count=5, order=order, seed=11, depth=3))
        orders.append(await run_batch(plane, 5))
        assert {e.data["policy"] for e in released(plane)} == {order}
    assert orders[0] == orders[1] and sorted(orders[0]) == list(range(5))
    expected = (s.PCT(11, depth=3, steps=5) if order == "pct" else s.Random(11)).order(
        [s.RequestIdentity("deriv", "conn1", "ticks_history", n) for n in range(1, 6)])
    assert orders[0] == expected


async def test_a_plane_wide_policy_overrides_each_gates_order_until_reset():
    plane = ControlPlane()
    ids = tuple(s.RequestIdentity("deriv", "conn1", "ticks_history", n) for n in (1, 2, 3))
    plane.gates.set_policy(s.Replay((s.Batch(ids, (1, 0, 2)),)))
    plane.gates.add(Gate(Match(fake="deriv"), count=3, order="reverse"))
    assert await run_batch(plane, 3) == [1, 0, 2]
    assert {e.data["policy"] for e in released(plane)} == {"replay"}
    recorded = s.schedule_from_events([e.to_json() for e in plane.journal.events()])
    assert recorded == (s.Batch(ids, (1, 0, 2)),)
    await plane.reset()
    assert plane.gates.policy is None
    plane.gates.add(Gate(Match(fake="deriv"), count=3, order="reverse"))
    assert await run_batch(plane, 3) == [2, 1, 0]


async def test_a_policy_named_at_release_time():
    plane = ControlPlane()
    gate = plane.gates.add(Gate(Match(fake="deriv"), seed=5))
    log: list = []
    tasks = [asyncio.create_task(passage(plane, log, n)) for n in range(4)]
    await plane.journal.wait(EventFilter(kind="gate", action="held"), count=4, timeout=5)
    assert plane.gates.release(gate.id, "random") == 4
    await asyncio.gather(*tasks)
    assert log == s.Random(5).order([None] * 4)


def test_gate_fields_are_checked():
    for body, field in (({"order": "explore", "schedule": "2"}, "schedule"),
                        ({"order": "pct", "seed": 1.5}, "seed"), ({"order": "pct", "depth": 0}, "depth"),
                        ({"order": "explore", "schedule": -1}, "schedule"), ({"order": "sideways"}, "order")):
        with pytest.raises(ValueError, match=field):
            Gate.from_json({"fake": "deriv", **body})
    gate = Gate.from_json({"fake": "deriv", "order": "pct", "seed": 3, "depth": 3, "count": 2})
    assert gate.to_json()["seed"] == 3 and gate.to_json()["depth"] == 3


async def test_control_route_takes_policies_and_answers_400_naming_the_field():
    plane = ControlPlane()
    async with TestClient(TestServer(build_control_app(plane))) as client:
        ok = await client.post("/gates", json={"fake": "deriv", "count": 3, "order": "explore", "schedule": 4})
        assert ok.status == 200
        body = await ok.json()
        gate = body.get("result", body)
        assert gate["order"] == "explore" and gate["schedule"] == 4
        bad = await client.post("/gates", json={"fake": "deriv", "order": "pct", "depth": "deep"})
        assert bad.status == 400 and "depth" in await bad.text()
