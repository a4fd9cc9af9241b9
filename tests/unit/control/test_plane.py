"""The control plane on its own: journal, fault rules, gates, reset (no sockets)."""

import asyncio

import pytest

from botfakes.fakes.control import ControlPlane, EventFilter, FaultRule, Gate, Match
from botfakes.fakes.control import journal as j


async def passage(plane, order_log, method="ping", conn="c1", params=None, park=False):
    async with plane.request("deriv", conn, method, params or {}) as req:
        order_log.append(req.event.data["params"].get("n"))
        if req.fault is not None:
            req.reply(j.error("fault", req.fault.action))
            return req.fault
        req.reply(j.ok())
        return None


async def test_journal_pairs_request_and_response():
    plane = ControlPlane()
    await passage(plane, [], params={"n": 1})
    kinds = [(e.kind, e.method) for e in plane.journal.events()]
    assert kinds == [("request", "ping"), ("response", "ping")]
    request, response = plane.journal.events()
    assert response.request == request.seq
    assert response.outcome == {"ok": True}
    assert request.time <= response.time


async def test_exception_inside_passage_is_journaled():
    plane = ControlPlane()
    with pytest.raises(ZeroDivisionError):
        async with plane.request("botapi", "c", "getMe", {}):
            1 / 0
    response = plane.journal.events(EventFilter(kind="response"))[0]
    assert response.outcome["ok"] is False and response.outcome["code"] == "exception"


async def test_gate_holds_until_count_then_releases_in_reverse():
    plane = ControlPlane()
    plane.gates.add(Gate(Match(fake="deriv", method="ping"), count=3, order="reverse"))
    log: list = []
    tasks = [asyncio.create_task(passage(plane, log, params={"n": n})) for n in range(3)]
    await asyncio.gather(*tasks)
    assert log == [2, 1, 0]
    held = plane.journal.events(EventFilter(kind="gate", action="held"))
    assert len(held) == 3


async def test_gate_manual_release_with_explicit_order():
    plane = ControlPlane()
    gate = plane.gates.add(Gate(Match(method="ping")))
    log: list = []
    tasks = [asyncio.create_task(passage(plane, log, params={"n": n})) for n in range(3)]
    await plane.journal.wait(EventFilter(kind="gate", action="held"), count=3, timeout=5)
    assert log == []
    assert plane.gates.release(gate.id, [1]) == 3
    await asyncio.gather(*tasks)
    assert log == [1, 0, 2]
    assert not gate.armed  # one batch by default: later requests pass
    await passage(plane, log, params={"n": 9})
    assert log[-1] == 9


async def test_release_waits_for_each_request_to_pass():
    """The next held request is let go only once the previous one has left the plane."""
    plane = ControlPlane()
    plane.gates.add(Gate(Match(method="slow"), count=2, order="arrival"))
    first_may_finish = asyncio.Event()
    log = []

    async def slow(n):
        async with plane.request("x", "c", "slow", {"n": n}) as req:
            log.append(("in", n))
            if n == 0:
                await first_may_finish.wait()
            log.append(("out", n))
            req.reply(j.ok())

    t0 = asyncio.create_task(slow(0))
    t1 = asyncio.create_task(slow(1))
    await plane.journal.wait(EventFilter(kind="gate", action="released"), count=1, timeout=5)
    await asyncio.sleep(0)  # let the released one run up to its wait: scheduling, not timing
    assert log == [("in", 0)]
    first_may_finish.set()
    await asyncio.gather(t0, t1)
    assert log == [("in", 0), ("out", 0), ("in", 1), ("out", 1)]


async def test_passed_lets_the_next_one_go_while_the_first_parks():
    plane = ControlPlane()
    plane.gates.add(Gate(Match(method="poll"), count=2))
    parked = asyncio.Event()
    log = []

    async def poll(n):
        async with plane.request("x", "c", "poll", {}) as req:
            log.append(n)
            if n == 0:
                req.passed()
                await parked.wait()
            req.reply(j.ok())

    tasks = [asyncio.create_task(poll(n)) for n in range(2)]
    await plane.journal.wait(EventFilter(kind="response"), count=1, timeout=5)
    assert log == [0, 1]
    parked.set()
    await asyncio.gather(*tasks)


async def test_cancelled_while_held_is_skipped_at_release():
    plane = ControlPlane()
    gate = plane.gates.add(Gate(Match(method="ping")))
    log: list = []
    t0 = asyncio.create_task(passage(plane, log, params={"n": 0}))
    t1 = asyncio.create_task(passage(plane, log, params={"n": 1}))
    await plane.journal.wait(EventFilter(kind="gate", action="held"), count=2, timeout=5)
    t0.cancel()
    await asyncio.gather(t0, return_exceptions=True)
    assert plane.gates.release(gate.id) == 1
    await t1
    assert log == [1]


async def test_fault_next_n_with_skip():
    plane = ControlPlane()
    plane.faults.add(FaultRule(Match(method="ping"), action="close", close_code=1008, skip=2, times=1))
    results = [await passage(plane, [], params={"n": n}) for n in range(5)]
    fired = [r is not None for r in results]
    assert fired == [False, False, True, False, False]
    assert results[2].close_code == 1008
    assert plane.counters.get("deriv.faults.close") == 1


async def test_fault_matches_params_as_strings():
    plane = ControlPlane()
    plane.faults.add(FaultRule(Match(params={"chat_id": 5}), action="error", error={"x": 1}))
    assert await passage(plane, [], params={"chat_id": "6"}) is None
    assert (await passage(plane, [], params={"chat_id": "5"})).action == "error"


async def test_probability_is_reproducible_with_the_seed():
    async def run():
        plane = ControlPlane(seed=42)
        plane.faults.add(FaultRule(Match(), action="drop", probability=0.5))
        return [await passage(plane, [], params={"n": n}) is not None for n in range(40)]

    first, second = await run(), await run()
    assert first == second
    assert 5 < sum(first) < 35


async def test_delay_then_error_both_fire():
    plane = ControlPlane()
    plane.faults.add(FaultRule(Match(), action="delay", delay=0.001))
    plane.faults.add(FaultRule(Match(), action="error", error={"code": "X"}, times=1))
    plane.faults.add(FaultRule(Match(), action="drop"))  # a second terminal rule must not fire
    rule = await passage(plane, [])
    assert rule.action == "error"
    assert [e.data["action"] for e in plane.journal.events(EventFilter(kind="fault"))] == ["delay", "error"]


def test_rule_validation():
    with pytest.raises(ValueError):
        FaultRule(Match(), action="explode")
    with pytest.raises(ValueError):
        FaultRule(Match(), action="error")  # no error body
    with pytest.raises(ValueError):
        Gate(Match(), order="sideways")
    with pytest.raises(ValueError):
        FaultRule.from_json({"action": "delay", "delay": "soon"})


async def test_wait_counts_past_events_and_times_out():
    plane = ControlPlane()
    await passage(plane, [])
    events = await plane.journal.wait(EventFilter(kind="request"), count=1, timeout=1)
    assert events[0].kind == "request"
    with pytest.raises(asyncio.TimeoutError):
        await plane.journal.wait(EventFilter(kind="request"), count=2, timeout=0.01)


async def test_reset_releases_held_requests_and_clears_everything():
    plane = ControlPlane()
    plane.gates.add(Gate(Match(method="ping")))
    plane.faults.add(FaultRule(Match(), action="drop"))
    log: list = []
    task = asyncio.create_task(passage(plane, log, params={"n": 0}))
    await plane.journal.wait(EventFilter(kind="gate", action="held"), timeout=5)
    await plane.reset()
    await task  # not stuck behind a gate that no longer exists
    assert plane.gates.list() == [] and plane.faults.list() == []
    assert plane.counters.snapshot() == {}
    assert log == [0]


async def test_filter_on_request_params():
    plane = ControlPlane()
    await passage(plane, [], params={"n": 1, "chat_id": 5})
    await passage(plane, [], params={"n": 2, "chat_id": 6})
    match = EventFilter.from_query({"kind": "request", "params.chat_id": "6"})
    assert [e.data["params"]["n"] for e in plane.journal.events(match)] == [2]


async def test_cancelled_after_release_does_not_stall_the_rest_of_the_batch():
    """A request cancelled between its release and its turn must not hold the next one forever."""
    plane = ControlPlane()
    plane.gates.add(Gate(Match(method="ping"), count=3, order="arrival"))
    log: list = []
    tasks = [asyncio.create_task(passage(plane, log, params={"n": n})) for n in range(3)]

    def cancel_first_on_release(event):
        # Runs inside the release, between "released" and the wake-up: the narrowest window.
        if event.kind == "gate" and event.data.get("action") == "released" and event.data["turn"] == 0:
            tasks[0].cancel()

    plane.journal.add_listener(cancel_first_on_release)
    results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 5)
    assert isinstance(results[0], asyncio.CancelledError)
    assert log == [1, 2]


async def test_cancelled_during_a_delay_fault_still_passes():
    plane = ControlPlane()
    plane.gates.add(Gate(Match(method="ping"), count=2))
    plane.faults.add(FaultRule(Match(method="ping"), action="delay", delay=3600, times=1))
    log: list = []
    tasks = [asyncio.create_task(passage(plane, log, params={"n": n})) for n in range(2)]
    await plane.journal.wait(EventFilter(kind="fault"), timeout=5)
    tasks[0].cancel()  # asleep in the delay rule
    await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 5)
    assert log == [1]
    response = plane.journal.events(EventFilter(kind="response", conn="c1"))[0]
    assert response.outcome["code"] == "cancelled"


async def test_request_held_across_a_reset_is_dropped_unjournaled():
    plane = ControlPlane()
    plane.gates.add(Gate(Match(method="ping")))
    task = asyncio.create_task(passage(plane, [], params={"n": 0}))
    await plane.journal.wait(EventFilter(kind="gate", action="held"), timeout=5)
    await plane.reset()
    rule = await task
    assert rule is not None and rule.action == "drop"
    assert [e.kind for e in plane.journal.events()] == []  # nothing of the old world


async def test_reset_ends_journal_waits_with_journal_reset():
    from botfakes.fakes.control.journal import JournalReset

    plane = ControlPlane()
    waiting = asyncio.create_task(plane.journal.wait(EventFilter(kind="request"), timeout=5))
    await asyncio.sleep(0)  # let the wait register (scheduling, not timing)
    await plane.reset()
    with pytest.raises(JournalReset):
        await waiting


def test_gate_input_checks():
    with pytest.raises(ValueError, match="positions 0..1"):
        Gate(Match(), count=2, order=[0, 5])
    with pytest.raises(ValueError, match="between 0 and 3600"):
        FaultRule(Match(), action="delay", delay=1e308)


async def test_releasing_an_empty_gate_keeps_it_armed():
    plane = ControlPlane()
    gate = plane.gates.add(Gate(Match(method="ping")))
    assert plane.gates.release(gate.id) == 0
    assert gate.armed
