"""The journal as server-sent events: one fan-out per control plane, off the fakes' hot path.

What a journal write costs while a dashboard is open is one call of `_on_event` (set a flag);
with none open, nothing (the listener is only registered while a client is connected). The
broadcaster task wakes at most every FLUSH_INTERVAL, reads the new events by sequence number,
encodes them once for every client and hands the bytes to each client's bounded queue. Above
MAX_EVENTS_PER_FLUSH new events per flush (a load test, not a human reading along) it sends the
newest ones and a "gap" naming the rest, which the page can load on demand; a client whose queue
is full (a stalled tab) is cut off, and its EventSource reconnects with Last-Event-ID.

Messages (SSE `event:` names): hello, events, gap, reset, stats, owners. See docs in routes.py.
"""

from __future__ import annotations

import asyncio
import json
import time
import weakref
from typing import Any, Mapping

from ..control.journal import Event
from ..control.plane import ControlPlane
from .owners import OwnerResolver

FLUSH_INTERVAL = 0.1  # seconds: coalesce a burst into one message; a human sees it at once
MAX_EVENTS_PER_FLUSH = 50  # <= 500 events/s streamed live (more than anyone reads); more is a
# gap the page loads on demand. Each streamed event costs the fakes ~10 µs of their loop.
STATS_INTERVAL = 0.5  # counters, gates and fault rules at most twice a second
HEARTBEAT = 2.0  # seconds between checks for a reset when nothing happens
CLIENT_QUEUE = 64  # messages a client may be behind before it is cut off
BACKLOG = 2000  # events sent to a client that connects (older ones: load on scroll-back)
MAX_EVENT_BYTES = 4096  # a bigger event (e.g. an uploaded file's params) is sent abridged


def _event_dict(event: Event) -> dict[str, Any]:
    # not dataclasses.asdict: its deep copy is most of the cost, and the page only reads the event
    return {"seq": event.seq, "time": event.time, "fake": event.fake, "conn": event.conn,
            "kind": event.kind, "method": event.method, "request": event.request,
            "data": event.data, "outcome": event.outcome}


def event_json(event: Event) -> str:
    """One event as JSON; a big one (e.g. an uploaded file's params) abridged."""
    data = _event_dict(event)
    text = json.dumps(data, default=str, separators=(",", ":"))
    if len(text) > MAX_EVENT_BYTES:
        data["data"] = {"abridged": True, "bytes": len(text),
                        "preview": json.dumps(event.data, default=str)[:600]}
        text = json.dumps(data, default=str, separators=(",", ":"))
    return text


def events_message(events: list[Event]) -> str:
    """{"events": [...]}: one encoder call for the batch, event by event only if it is big."""
    text = json.dumps({"events": [_event_dict(e) for e in events]}, default=str, separators=(",", ":"))
    if len(text) <= MAX_EVENT_BYTES * 8 + 400 * len(events):
        return text
    return '{"events":[' + ",".join(event_json(e) for e in events) + "]}"


class StreamClient:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[str, str, str | None] | None] = asyncio.Queue(CLIENT_QUEUE)
        self.cut = False

    def offer(self, kind: str, data: str, last_id: str | None = None) -> None:
        if self.cut:
            return
        try:
            self.queue.put_nowait((kind, data, last_id))
        except asyncio.QueueFull:
            # A stalled tab: cut it off rather than buffer without bound or slow the others.
            self.cut = True
            self.queue = asyncio.Queue(1)
            self.queue.put_nowait(None)

    def close(self) -> None:
        self.cut = True
        try:
            self.queue.put_nowait(None)
        except asyncio.QueueFull:
            self.queue = asyncio.Queue(1)
            self.queue.put_nowait(None)


class JournalStream:
    """The fan-out of one plane's journal to every connected dashboard."""

    def __init__(self, plane: ControlPlane, fakes: Mapping[str, Any]) -> None:
        self.plane = plane
        self.fakes = fakes  # name -> Fake, the runtime's (info, stats, listening ports)
        self.clients: set[StreamClient] = set()
        self.owners = OwnerResolver(self._owners_found)
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._sent_seq = plane.journal.last_seq
        self._epoch = plane.epoch
        self._stats_due = 0.0
        self._stats_dirty = True
        self._last_stats = ""  # the stats message last broadcast (sent again only when changed)
        self._flushed_at = 0.0

    # -- clients -------------------------------------------------------------------------------

    def subscribe(self, since: int | None) -> tuple[StreamClient, list[tuple[str, str, str | None]]]:
        """Register a client; returns it and the messages that bring it up to date.

        Runs without an await between reading the journal and registering, so the client misses
        nothing between its backlog and the live messages.
        """
        journal = self.plane.journal
        if not self.clients:
            self._sent_seq = journal.last_seq
            self._epoch = self.plane.epoch
            journal.add_listener(self._on_event)
            self.owners.start()
        client = StreamClient()
        self.clients.add(client)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._broadcast())
        first = journal.last_seq - len(journal) + 1  # the oldest seq the journal still keeps
        upto = self._sent_seq  # newer events reach this client live
        floor = max(first, upto - BACKLOG + 1, 1)
        start = max(floor, since + 1) if since is not None else floor
        messages: list[tuple[str, str, str | None]] = [("hello", json.dumps({
            "last_seq": journal.last_seq, "first_seq": first, "events": len(journal),
            "dropped": journal.dropped, "epoch": self.plane.epoch,
            "monotonic": time.monotonic(), "wall": time.time(),
            "fakes": {name: fake.info() for name, fake in self.fakes.items()},
        }, default=str), None)]
        if self.owners.known:
            messages.append(("owners", json.dumps(self.owners.known), None))
        if since is not None and max(since + 1, first) < start:
            # A reconnecting client missed more than the backlog: say what it can load.
            messages.append(("gap", json.dumps({"from": max(since + 1, first), "to": start - 1}), None))
        batch = [e for e in (journal.get(s) for s in range(start, upto + 1)) if e is not None]
        for i in range(0, len(batch), MAX_EVENTS_PER_FLUSH):
            chunk = batch[i:i + MAX_EVENTS_PER_FLUSH]
            messages.append(("events", events_message(chunk), str(chunk[-1].seq)))
        self._note_owners(batch)
        messages.append(("stats", self._stats_json(), None))
        return client, messages

    def unsubscribe(self, client: StreamClient) -> None:
        self.clients.discard(client)
        if not self.clients:
            try:
                self.plane.journal.remove_listener(self._on_event)
            except ValueError:
                pass
            self.owners.stop()
            self._wake.set()  # let the broadcaster see there is nobody left

    def close_all(self) -> None:
        for client in list(self.clients):
            client.close()

    # -- the hot path: nothing but a flag ------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        if not self._wake.is_set():
            self._wake.set()

    # -- the broadcaster -----------------------------------------------------------------------

    async def _broadcast(self) -> None:
        while self.clients:
            quiet = False
            try:
                await asyncio.wait_for(self._wake.wait(), HEARTBEAT)
            except asyncio.TimeoutError:
                quiet = True  # nothing journaled: still look for a reset, a new gate or rule
            if not self.clients:
                break
            if not quiet:
                # the first event after a quiet spell goes out at once; a burst is coalesced
                # into at most one message per FLUSH_INTERVAL
                wait = self._flushed_at + FLUSH_INTERVAL - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
            self._wake.clear()
            self._flushed_at = time.monotonic()
            self._flush(quiet)

    def _flush(self, quiet: bool = False) -> None:
        journal = self.plane.journal
        if self.plane.epoch != self._epoch:
            self._epoch = self.plane.epoch
            self._send("reset", json.dumps({"epoch": self._epoch, "last_seq": journal.last_seq}))
            # Events since the reset are still new: start from the oldest one the journal keeps.
            self._sent_seq = min(self._sent_seq, journal.last_seq - len(journal))
            self._stats_dirty = True
        last = journal.last_seq
        if last > self._sent_seq:
            start = self._sent_seq + 1
            if last - start + 1 > MAX_EVENTS_PER_FLUSH:
                skipped_to = last - MAX_EVENTS_PER_FLUSH
                self._send("gap", json.dumps({"from": start, "to": skipped_to}))
                start = skipped_to + 1
            batch = [e for e in (journal.get(s) for s in range(start, last + 1)) if e is not None]
            self._sent_seq = last
            if batch:
                self._send("events", events_message(batch), str(batch[-1].seq))
                self._note_owners(batch)
                self._stats_dirty = True
        now = time.monotonic()
        if (self._stats_dirty or quiet) and now >= self._stats_due:
            self._stats_due = now + STATS_INTERVAL
            self._stats_dirty = False
            text = self._stats_json()
            if text != self._last_stats:
                self._last_stats = text
                self._send("stats", text)
        elif self._stats_dirty:
            self._wake.set()  # come back for the stats once they are due

    def _stats_json(self) -> str:
        fakes = {name: fake.stats() for name, fake in self.fakes.items()}
        return json.dumps(self.plane.stats(fakes), default=str)

    def _send(self, kind: str, data: str, last_id: str | None = None) -> None:
        for client in list(self.clients):
            client.offer(kind, data, last_id)

    # -- which process opened a connection -----------------------------------------------------

    def _note_owners(self, events: list[Event]) -> None:
        for event in events:
            if event.kind == "connect" and event.data.get("peer"):
                fake = self.fakes.get(event.fake)
                self.owners.lookup(event.conn, str(event.data["peer"]), fake.port if fake else None)

    def _owners_found(self, found: dict[str, dict[str, Any]]) -> None:
        self._send("owners", json.dumps(found))


_STREAMS: "weakref.WeakKeyDictionary[ControlPlane, JournalStream]" = weakref.WeakKeyDictionary()


def stream_of(plane: ControlPlane, fakes: Mapping[str, Any]) -> JournalStream:
    """The plane's one fan-out (the control port and the Bot API port's /_control/ share it)."""
    stream = _STREAMS.get(plane)
    if stream is None:
        stream = _STREAMS[plane] = JournalStream(plane, fakes)
    return stream
