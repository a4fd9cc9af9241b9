"""Journal events as a Chrome/Perfetto trace: processes per fake, threads per connection, slices
that nest, the 409 marked, the harness's notes global."""

import asyncio

from botfakes.fakes.control import ControlPlane, Gate, Match
from botfakes.fakes.control import journal as j
from botfakes.fakes.control.trace import journal_trace, records_trace


def by_phase(trace, phase):
    return [e for e in trace["traceEvents"] if e["ph"] == phase]


def names(trace, meta):
    return {(e["pid"], e.get("tid")): e["args"]["name"] for e in by_phase(trace, "M") if e["name"] == meta}


def assert_slices_nest(trace):
    """Within one thread, two slices either nest or do not overlap (what the format requires)."""
    slices = sorted(by_phase(trace, "X"), key=lambda e: (e["pid"], e["tid"], e["ts"], -e["dur"]))
    stacks = {}
    for s in slices:
        stack = stacks.setdefault((s["pid"], s["tid"]), [])
        while stack and stack[-1]["ts"] + stack[-1]["dur"] <= s["ts"]:
            stack.pop()
        if stack:
            parent = stack[-1]
            assert s["ts"] + s["dur"] <= parent["ts"] + parent["dur"], (parent, s)
        stack.append(s)


async def forced_race(plane):
    """Two getUpdates held by a gate, released in reverse; the first to pass answers 409."""
    plane.gates.add(Gate(Match(fake="botapi", method="getUpdates"), count=2, order="reverse"))

    async def poll(conn, outcome):
        async with plane.request("botapi", conn, "getUpdates", {"timeout": "10"}) as req:
            req.reply(outcome)

    plane.journal.record("harness", "note", conn="A", method="instance A started")
    plane.journal.record("botapi", "connect", conn="botapi#1", data={"peer": "127.0.0.1:5001"})
    plane.journal.record("botapi", "connect", conn="botapi#2", data={"peer": "127.0.0.1:5002"})
    await asyncio.gather(
        poll("botapi#1", j.error(409, "Conflict: terminated by other getUpdates request")),
        poll("botapi#2", j.ok()))
    return [e.to_json() for e in plane.journal.events()]


async def test_requests_are_slices_on_their_connections_lane():
    events = await forced_race(ControlPlane())
    trace = journal_trace(events, owners={"botapi#1": "instance A"})
    processes = names(trace, "process_name")
    assert sorted(processes.values()) == ["botapi", "harness"]
    threads = names(trace, "thread_name")
    assert "botapi#1 · instance A" in threads.values() and "botapi#2" in threads.values()
    requests = [s for s in by_phase(trace, "X") if s["cat"] == "botapi"]
    assert len(requests) == 2
    failed = next(s for s in requests if s["name"] == "getUpdates → 409")
    assert failed["cname"] == "terrible"
    assert failed["args"]["outcome"] == "409 Conflict: terminated by other getUpdates request"
    assert threads[(failed["pid"], failed["tid"])] == "botapi#1 · instance A"
    assert_slices_nest(trace)


async def test_a_gate_hold_is_a_slice_inside_its_request_with_the_release_turn():
    events = await forced_race(ControlPlane())
    trace = journal_trace(events)
    holds = [s for s in by_phase(trace, "X") if s["cat"] == "gate"]
    assert sorted(h["args"]["turn"] for h in holds) == [0, 1]
    assert all(h["name"] == "held at gate-1" and h["args"]["released"] for h in holds)
    # reverse order: the second to arrive went first
    first_out = next(h for h in holds if h["args"]["turn"] == 0)
    assert first_out["args"]["arrival"] == 1
    assert_slices_nest(trace)


async def test_notes_and_connects_are_instants_the_harness_ones_global():
    events = await forced_race(ControlPlane())
    trace = journal_trace(events)
    instants = by_phase(trace, "i")
    started = next(i for i in instants if i["name"] == "A: instance A started")
    assert started["s"] == "g"
    connects = [i for i in instants if i["cat"] == "connect"]
    assert len(connects) == 2 and all(i["s"] == "t" for i in connects)
    assert min(e["ts"] for e in trace["traceEvents"] if "ts" in e) == 0


def test_overlapping_requests_on_one_connection_go_to_a_second_lane():
    # a WebSocket carries several requests at once; slices on one trace thread must nest
    events = [
        {"seq": 1, "time": 1.0, "fake": "deriv", "conn": "deriv#1", "kind": "request", "method": "ticks", "data": {}},
        {"seq": 2, "time": 1.1, "fake": "deriv", "conn": "deriv#1", "kind": "request", "method": "ping", "data": {}},
        {"seq": 3, "time": 1.2, "fake": "deriv", "conn": "deriv#1", "kind": "response", "method": "ticks", "request": 1, "outcome": {"ok": True}},
        {"seq": 4, "time": 1.3, "fake": "deriv", "conn": "deriv#1", "kind": "response", "method": "ping", "request": 2, "outcome": {"ok": True}},
    ]
    trace = journal_trace(events)
    slices = by_phase(trace, "X")
    assert len({s["tid"] for s in slices}) == 2
    assert sorted(names(trace, "thread_name").values()) == ["deriv#1", "deriv#1 · 2"]
    assert_slices_nest(trace)


def test_an_unanswered_request_lasts_to_the_end_of_the_journal():
    events = [
        {"seq": 1, "time": 5.0, "fake": "botapi", "conn": "botapi#1", "kind": "request", "method": "getUpdates", "data": {}},
        {"seq": 2, "time": 7.5, "fake": "botapi", "conn": "botapi#1", "kind": "disconnect", "method": "", "data": {}},
    ]
    (request,) = by_phase(journal_trace(events), "X")
    assert request["args"]["unanswered"] is True
    assert request["dur"] == 2.5e6


async def test_records_become_one_trace_with_a_process_group_per_run():
    events = await forced_race(ControlPlane())
    for e in events:
        e["instance"] = {"botapi#1": "A", "botapi#2": "B"}.get(e["conn"], e["conn"])
    records = [
        {"scenario": "two_pollers", "bot": "naive", "bug": "two-pollers", "outcome": "failed", "events": events},
        {"scenario": "two_pollers", "bot": "reference", "bug": None, "outcome": "passed", "events": events},
        {"scenario": "skipped_one", "bot": "reference", "outcome": "skipped"},
    ]
    trace = records_trace(records)
    processes = set(names(trace, "process_name").values())
    assert "two_pollers on naive [two-pollers] · botapi" in processes
    assert "two_pollers on reference [passed] · botapi" in processes
    assert len(processes) == 4  # botapi + harness per run that journaled anything
    assert trace["otherData"]["runs"] == 2
    assert "botapi#1 · instance A" in names(trace, "thread_name").values()
    assert_slices_nest(trace)
