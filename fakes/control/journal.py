"""The event journal: the one record of what every fake saw and answered.

Tests, scenario verdicts and HTML timelines all read this journal; no fake keeps a second record.
It lives on the runtime's event loop (single writer, no locks needed there). Waiters are how tests
synchronise with a fake without sleeping: "wake me when the second getUpdates has arrived".
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable, Mapping

# The kinds of event. "request"/"response" pair up through Event.request; "push" is anything the
# server sends unasked (webhook delivery, subscription message, MTProto update); "fault" and "gate"
# say that the control plane interfered with a request.
KINDS = ("connect", "disconnect", "request", "response", "push", "fault", "gate", "note")


@dataclass(frozen=True)
class Event:
    seq: int
    time: float  # time.monotonic() in the fakes' process
    fake: str
    conn: str
    kind: str
    method: str = ""
    request: int | None = None  # seq of the request event this one belongs to
    data: dict[str, Any] = field(default_factory=dict)
    outcome: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class JournalReset(Exception):
    """A wait ended because the journal was cleared by a reset."""


def ok() -> dict[str, Any]:
    return {"ok": True}


def error(code: int | str, text: str) -> dict[str, Any]:
    return {"ok": False, "code": code, "text": text}


@dataclass
class EventFilter:
    """Selects events; every given field must agree. Method names compare case-insensitively."""

    fake: str | None = None
    kind: str | None = None
    method: str | None = None
    conn: str | None = None
    since: int = 0  # only events with seq > since
    ok: bool | None = None  # outcome ok / not ok (events without an outcome never match a value)
    code: int | str | None = None  # outcome code, compared as strings
    gate: str | None = None  # gate events of this gate id
    action: str | None = None  # data["action"] of gate and fault events, e.g. "held"
    # data["params"][key] == value, compared as strings ("params.chat_id=5" in a query string)
    params: dict[str, str] = field(default_factory=dict)

    def __call__(self, event: Event) -> bool:
        if event.seq <= self.since:
            return False
        if self.fake is not None and event.fake != self.fake:
            return False
        if self.kind is not None and event.kind != self.kind:
            return False
        if self.method is not None and event.method.lower() != self.method.lower():
            return False
        if self.conn is not None and event.conn != self.conn:
            return False
        if self.ok is not None and (event.outcome is None or event.outcome.get("ok") != self.ok):
            return False
        if self.code is not None and (
            event.outcome is None or str(event.outcome.get("code")) != str(self.code)
        ):
            return False
        if self.gate is not None and event.data.get("gate") != self.gate:
            return False
        if self.action is not None and event.data.get("action") != self.action:
            return False
        if self.params:
            given = event.data.get("params")
            if not isinstance(given, dict):
                return False
            for key, want in self.params.items():
                if key not in given or str(given[key]) != str(want):
                    return False
        return True

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> "EventFilter":
        ok_value = query.get("ok")
        return cls(
            fake=query.get("fake") or None,
            kind=query.get("kind") or None,
            method=query.get("method") or None,
            conn=query.get("conn") or None,
            since=int(query.get("since") or 0),
            ok=None if ok_value in (None, "") else ok_value.lower() in ("1", "true", "yes"),
            code=query.get("code") or None,
            gate=query.get("gate") or None,
            action=query.get("action") or None,
            params={k[len("params."):]: v for k, v in query.items() if k.startswith("params.")},
        )


class Journal:
    """Append-only list of events plus waiters. Must be used from the runtime's loop only."""

    def __init__(self, max_events: int = 200_000) -> None:
        # A bound so that a long Locust run cannot eat the machine; the oldest events go first.
        self.max_events = max_events
        self._events: list[Event] = []
        self._seq = 0
        self._dropped = 0
        self._waiters: list[tuple[Callable[[Event], bool], int, list[Event], asyncio.Future]] = []
        self._listeners: list[Callable[[Event], None]] = []

    def record(
        self,
        fake: str,
        kind: str,
        *,
        conn: str = "",
        method: str = "",
        request: int | None = None,
        data: Mapping[str, Any] | None = None,
        outcome: Mapping[str, Any] | None = None,
    ) -> Event:
        if kind not in KINDS:
            raise ValueError(f"unknown journal event kind {kind!r}")
        self._seq += 1
        event = Event(
            seq=self._seq,
            time=time.monotonic(),
            fake=fake,
            conn=conn,
            kind=kind,
            method=method,
            request=request,
            data=dict(data or {}),
            outcome=None if outcome is None else dict(outcome),
        )
        self._events.append(event)
        if len(self._events) > self.max_events:
            cut = len(self._events) - self.max_events
            del self._events[:cut]
            self._dropped += cut
        for listener in self._listeners:
            listener(event)
        if self._waiters:
            self._feed_waiters(event)
        return event

    def _feed_waiters(self, event: Event) -> None:
        still: list = []
        for predicate, count, found, future in self._waiters:
            if future.done():
                continue
            if predicate(event):
                found.append(event)
            if len(found) >= count:
                future.set_result(list(found))
            else:
                still.append((predicate, count, found, future))
        self._waiters = still

    def events(self, predicate: Callable[[Event], bool] | None = None) -> list[Event]:
        if predicate is None:
            return list(self._events)
        return [e for e in self._events if predicate(e)]

    def get(self, seq: int) -> Event | None:
        """The event with this seq, if still kept (sequence numbers are contiguous)."""
        if not self._events:
            return None
        index = seq - self._events[0].seq
        return self._events[index] if 0 <= index < len(self._events) else None

    @property
    def last_seq(self) -> int:
        return self._seq

    @property
    def dropped(self) -> int:
        return self._dropped

    def __len__(self) -> int:
        return len(self._events)

    async def wait(
        self, predicate: Callable[[Event], bool], count: int = 1, timeout: float | None = None
    ) -> list[Event]:
        """Wait until `count` events match (those already in the journal count too).

        Raises asyncio.TimeoutError after `timeout` seconds: a bound so a broken test fails
        instead of hanging, never a way to wait for something to happen.
        """
        found = [e for e in self._events if predicate(e)]
        if len(found) >= count:
            return found[:count] if count else found
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, count, found, future))
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self._waiters = [w for w in self._waiters if w[3] is not future]

    def add_listener(self, listener: Callable[[Event], None]) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[Event], None]) -> None:
        self._listeners.remove(listener)

    def clear(self) -> None:
        """Forget all events. Sequence numbers keep growing so `since=` stays meaningful."""
        self._events.clear()
        self._dropped = 0
        for *_, future in self._waiters:
            if not future.done():
                future.set_exception(JournalReset("the journal was reset during the wait"))
        self._waiters = []


def events_to_json(events: Iterable[Event]) -> list[dict[str, Any]]:
    return [e.to_json() for e in events]
