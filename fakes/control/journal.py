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

from . import payloads

# The kinds of event. "request"/"response" pair up through Event.request; "push" is anything the
# server sends unasked (webhook delivery, subscription message, MTProto update); "fault" and "gate"
# say that the control plane interfered with a request.
# The journal's default byte cap (payloads.measure's estimate, about the JSON size): with
# Python's object overhead a full journal stays within a few hundred MB of RSS.
MAX_BYTES = 64 << 20
EVENT_OVERHEAD = 120  # seq, time, kind and the dict shells of an event, in JSON bytes

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


def error(code: int | str, text: str, flag: str | None = None) -> dict[str, Any]:
    """A failed outcome; `flag` marks what a test did not ask for (see FLAGS)."""
    if flag is None:
        return {"ok": False, "code": code, "text": text}
    return {"ok": False, "code": code, "text": text, "flag": flag}


# Outcome flags: the fake hit a bug of its own, or a client called what the fake does not serve.
# The pytest plugin fails a test that journaled one unless the test says it expects it.
INTERNAL_ERROR = "internal_error"
UNSUPPORTED = "unsupported"
FLAGS = (INTERNAL_ERROR, UNSUPPORTED)


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
    # data["params"][key] == value, compared as strings ("params.chat_id=5" in a query string);
    # an event without params of its own (a response, a fault, a gate event) is matched by the
    # params of the request it belongs to, so "the response to sendMessage in chat 5" is one filter
    params: dict[str, str] = field(default_factory=dict)
    # data[key] == value ("data.bot_id=5"), looked up in the request's data too, like params
    data: dict[str, str] = field(default_factory=dict)
    # outcome["flag"] is one of these, e.g. "internal_error,unsupported" in a query string
    flag: str | None = None
    # finds the request event of a response (the journal binds it when it filters)
    lookup: Callable[[int], "Event | None"] | None = field(default=None, repr=False, compare=False)

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
        if self.flag is not None and (event.outcome is None or event.outcome.get("flag") is None
                                      or event.outcome["flag"] not in self.flag.split(",")):
            return False
        if self.params:
            given = event.data.get("params")
            if given is None:
                given = self._requested(event).get("params")
            if not isinstance(given, dict) or not _agree(given, self.params):
                return False
        if self.data:
            if not _agree(event.data, self.data, self._requested(event)):
                return False
        return True

    def _requested(self, event: Event) -> dict[str, Any]:
        """The data of the request `event` belongs to (empty if none or no longer kept)."""
        if event.request is None or self.lookup is None:
            return {}
        request = self.lookup(event.request)
        return request.data if request is not None else {}

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
            data={k[len("data."):]: v for k, v in query.items() if k.startswith("data.")},
            flag=query.get("flag") or None,
        )


def _text(value: Any) -> str:
    # a query string carries "true" and "5" where JSON carries true and 5
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _agree(given: Mapping[str, Any], wanted: Mapping[str, Any],
           fallback: Mapping[str, Any] | None = None) -> bool:
    for key, want in wanted.items():
        if key in given:
            value = given[key]
        elif fallback is not None and key in fallback:
            value = fallback[key]
        else:
            return False
        if _text(value) != _text(want):
            return False
    return True


class Journal:
    """Append-only list of events plus waiters. Must be used from the runtime's loop only."""

    def __init__(self, max_events: int = 200_000, max_bytes: int = MAX_BYTES) -> None:
        # Bounds so that a long Locust run cannot eat the machine; the oldest events go first.
        # Events count, and so do their payloads (payloads.py: large ones are kept as prefix,
        # size and digest, and each event's size counts against max_bytes).
        self.max_events = max_events
        self.max_bytes = max_bytes
        self._bytes = 0
        self._sizes: list[int] = []
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
        kept_data, size = payloads.keep(data)
        kept_outcome, outcome_size = (None, 0) if outcome is None else payloads.keep(outcome)
        size += outcome_size + len(fake) + len(conn) + len(method) + EVENT_OVERHEAD
        event = Event(
            seq=self._seq,
            time=time.monotonic(),
            fake=fake,
            conn=conn,
            kind=kind,
            method=method,
            request=request,
            data=kept_data,
            outcome=kept_outcome,
        )
        self._events.append(event)
        self._sizes.append(size)
        self._bytes += size
        if len(self._events) > self.max_events or self._bytes > self.max_bytes:
            self._trim()
        for listener in self._listeners:
            listener(event)
        if self._waiters:
            self._feed_waiters(event)
        return event

    def _trim(self) -> None:
        """Drop the oldest events, down to 90% of the byte cap (so trims are rare, each O(n))."""
        cut = max(0, len(self._events) - self.max_events)
        if self._bytes > self.max_bytes:
            target = self.max_bytes * 0.9
            freed = sum(self._sizes[:cut])
            while cut < len(self._events) - 1 and self._bytes - freed > target:
                freed += self._sizes[cut]
                cut += 1
        else:
            freed = sum(self._sizes[:cut])
        if cut:
            del self._events[:cut]
            del self._sizes[:cut]
            self._bytes -= freed
            self._dropped += cut

    @property
    def bytes(self) -> int:
        """The journal's size as it counts it against max_bytes (about the events' JSON length)."""
        return self._bytes

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

    def _bind(self, predicate: Callable[[Event], bool]) -> None:
        if isinstance(predicate, EventFilter) and (predicate.params or predicate.data) \
                and predicate.lookup is None:
            predicate.lookup = self.get

    def events(self, predicate: Callable[[Event], bool] | None = None) -> list[Event]:
        if predicate is None:
            return list(self._events)
        self._bind(predicate)
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
        self._bind(predicate)
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
        self._sizes.clear()
        self._bytes = 0
        self._dropped = 0
        for *_, future in self._waiters:
            if not future.done():
                future.set_exception(JournalReset("the journal was reset during the wait"))
        self._waiters = []


def events_to_json(events: Iterable[Event]) -> list[dict[str, Any]]:
    return [e.to_json() for e in events]
