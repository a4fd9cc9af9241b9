"""The journal's fan-out to dashboards, on a plane alone (no sockets): backlog, live batches,
bursts as gaps, resets, and no listener at all while nobody watches."""

import asyncio
import json

from botfakes.fakes.control import ControlPlane
from botfakes.fakes.control import journal as j
from botfakes.fakes.dashboard import stream as stream_mod
from botfakes.fakes.dashboard.stream import JournalStream, event_json


def kinds(messages):
    return [m[0] for m in messages]


async def next_message(client, kind):
    """The next message of this kind the client gets (bounded: a broken stream fails the test)."""
    while True:
        item = await asyncio.wait_for(client.queue.get(), 10)
        assert item is not None, "the stream cut the client off"
        if item[0] == kind:
            return json.loads(item[1]), item[2]


def record_requests(plane, n, method="sendMessage"):
    for i in range(n):
        request = plane.journal.record("botapi", "request", conn="botapi#1", method=method,
                                       data={"params": {"n": i}})
        plane.journal.record("botapi", "response", conn="botapi#1", method=method,
                             request=request.seq, outcome=j.ok())


async def test_a_client_gets_hello_backlog_and_stats_then_live_events():
    plane = ControlPlane()
    record_requests(plane, 3)
    stream = JournalStream(plane, {})
    client, backlog = stream.subscribe(None)
    try:
        assert kinds(backlog) == ["hello", "events", "stats"]
        hello = json.loads(backlog[0][1])
        assert hello["last_seq"] == 6 and hello["first_seq"] == 1
        events = json.loads(backlog[1][1])["events"]
        assert [e["seq"] for e in events] == [1, 2, 3, 4, 5, 6]
        assert backlog[1][2] == "6"  # the SSE id: where a reconnecting EventSource resumes
        record_requests(plane, 1, method="getMe")
        live, last_id = await next_message(client, "events")
        assert [(e["seq"], e["kind"], e["method"]) for e in live["events"]] == [
            (7, "request", "getMe"), (8, "response", "getMe")]
        assert last_id == "8"
    finally:
        stream.unsubscribe(client)


async def test_resuming_after_a_seq_sends_only_what_came_later():
    plane = ControlPlane()
    record_requests(plane, 5)
    stream = JournalStream(plane, {})
    client, backlog = stream.subscribe(7)
    stream.unsubscribe(client)
    events = [e for m in backlog if m[0] == "events" for e in json.loads(m[1])["events"]]
    assert [e["seq"] for e in events] == [8, 9, 10]


async def test_a_burst_beyond_the_live_bound_becomes_a_gap_then_the_newest(monkeypatch):
    monkeypatch.setattr(stream_mod, "MAX_EVENTS_PER_FLUSH", 10)
    plane = ControlPlane()
    stream = JournalStream(plane, {})
    client, _ = stream.subscribe(None)
    try:
        record_requests(plane, 15)  # 30 events before the broadcaster's next flush
        gap, _ = await next_message(client, "gap")
        assert gap == {"from": 1, "to": 20}
        live, _ = await next_message(client, "events")
        assert [e["seq"] for e in live["events"]] == list(range(21, 31))
    finally:
        stream.unsubscribe(client)


async def test_a_reset_is_announced_and_the_new_world_streams_on():
    plane = ControlPlane()
    record_requests(plane, 2)
    stream = JournalStream(plane, {})
    client, _ = stream.subscribe(None)
    try:
        await plane.reset()
        record_requests(plane, 1, method="getMe")
        reset, _ = await next_message(client, "reset")
        assert reset["epoch"] == 1
        live, _ = await next_message(client, "events")
        assert [e["method"] for e in live["events"]] == ["getMe", "getMe"]
    finally:
        stream.unsubscribe(client)


async def test_nobody_watching_costs_the_journal_nothing():
    plane = ControlPlane()
    stream = JournalStream(plane, {})
    listeners_before = list(plane.journal._listeners)
    client, _ = stream.subscribe(None)
    assert len(plane.journal._listeners) == len(listeners_before) + 1
    stream.unsubscribe(client)
    assert plane.journal._listeners == listeners_before


async def test_a_stalled_client_is_cut_off_not_buffered(monkeypatch):
    monkeypatch.setattr(stream_mod, "CLIENT_QUEUE", 2)
    plane = ControlPlane()
    stream = JournalStream(plane, {})
    client, _ = stream.subscribe(None)
    try:
        for i in range(5):
            client.offer("events", "{}")
        assert client.cut
        assert await asyncio.wait_for(client.queue.get(), 1) is None  # the handler ends the stream
    finally:
        stream.unsubscribe(client)


def test_a_huge_event_is_sent_abridged():
    plane = ControlPlane()
    event = plane.journal.record("botapi", "request", conn="botapi#1", method="sendDocument",
                                 data={"params": {f"p{i}": "x" * 60 for i in range(400)}})
    text = event_json(event)
    assert len(text) < 2000
    assert json.loads(text)["data"]["abridged"] is True
