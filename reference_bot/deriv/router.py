"""Routes Deriv replies to their callers by req_id, and stream messages by subscription id.

This is the fix for seed 003 with no sockets in it: one reader per connection hands every message
it receives to `Router.route()`; callers never read the socket. Seed 003's bug was several
coroutines each calling `recv()` on one connection (`cannot call recv while another coroutine is
already running recv`). Putting `recv()` behind a lock silences that error but each caller then
takes *the next message*, which is somebody else's reply whenever the server answers out of
order or a stream tick arrives in between: only routing by req_id gives each caller its own reply.

Rules:
- A request gets a fresh req_id (a positive int the connection never reused) and a future.
- A reply carrying a pending req_id resolves that future; for a subscribe request whose reply
  carries `subscription.id`, the stream queue is registered *in the same step*, before the reader
  can route the next message, so no tick falls between "reply seen" and "queue ready".
- A message with a known subscription id goes to that stream's queue (Deriv repeats the
  original req_id on every stream message, so the subscription id is looked at first).
- A message matching nothing (a reply after its caller timed out, a tick of a stream just
  forgotten) is counted and dropped, never handed to someone else.
- When the connection is lost, every pending future fails with ConnectionLost; streams stay
  registered by their handle so the manager can resubscribe them on the next connection.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


class DerivError(Exception):
    """A Deriv `error` reply: `code` and `message` are the server's own."""

    def __init__(self, code: str, message: str, reply: dict | None = None):
        self.code = code
        self.message = message
        self.reply = reply or {}
        super().__init__(f"{code}: {message}")


class ConnectionLost(ConnectionError):
    """The connection closed before the reply came; the request may or may not have run."""


class RequestTimeout(asyncio.TimeoutError):
    pass


def raise_for_error(reply: dict) -> dict:
    err = reply.get("error")
    if isinstance(err, dict):
        raise DerivError(str(err.get("code", "")), str(err.get("message", "")), reply)
    return reply


def subscription_id(message: dict) -> str | None:
    sub = message.get("subscription")
    if isinstance(sub, dict) and sub.get("id"):
        return str(sub["id"])
    return None


@dataclass(eq=False)
class Stream:
    """One subscription as the caller sees it; survives reconnects (its server id changes)."""

    request: dict
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(maxsize=1000))
    server_id: str | None = None
    closed: bool = False
    dropped: int = 0  # messages dropped because the consumer was too slow

    def put(self, message: dict) -> None:
        if self.queue.full():
            # A slow consumer must not grow memory without bound; ticks are superseded anyway.
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(message)


@dataclass
class _Pending:
    future: asyncio.Future
    stream: Stream | None


class Router:
    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._pending: dict[int, _Pending] = {}
        self._streams: dict[str, Stream] = {}
        self.unmatched = 0

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    @property
    def streams(self) -> list[Stream]:
        return list(self._streams.values())

    def expect(self, stream: Stream | None = None) -> tuple[int, asyncio.Future]:
        req_id = next(self._ids)
        fut = asyncio.get_running_loop().create_future()
        self._pending[req_id] = _Pending(fut, stream)
        return req_id, fut

    def forget_request(self, req_id: int) -> None:
        """The caller gave up (timeout, cancellation): a late reply is then unmatched."""
        self._pending.pop(req_id, None)

    def route(self, message: dict) -> str:
        """Deliver one received message; returns where it went ("reply"/"stream"/"unmatched")."""
        sid = subscription_id(message)
        if sid is not None and sid in self._streams:
            self._streams[sid].put(message)
            return "stream"
        req_id = message.get("req_id")
        pending = self._pending.pop(req_id, None) if isinstance(req_id, int) else None
        if pending is None:
            self.unmatched += 1
            log.debug("dropping unmatched message %s req_id=%s", message.get("msg_type"), req_id)
            return "unmatched"
        if pending.stream is not None and sid is not None and "error" not in message:
            stream = pending.stream
            if stream.closed:
                # Forgotten while the subscribe was in flight: the manager forgets the server side.
                pass
            else:
                stream.server_id = sid
                self._streams[sid] = stream
        if not pending.future.done():
            pending.future.set_result(message)
        return "reply"

    def drop_stream(self, stream: Stream) -> None:
        if stream.server_id is not None:
            self._streams.pop(stream.server_id, None)

    def fail_pending(self, exc: BaseException | None = None) -> None:
        """Fail every request still waiting: its reply cannot come on a dead connection."""
        pending, self._pending = self._pending, {}
        for p in pending.values():
            if not p.future.done():
                p.future.set_exception(ConnectionLost(f"connection lost: {exc}" if exc else "connection lost"))

    def connection_lost(self, exc: BaseException | None = None) -> list[Stream]:
        """Fail every pending request; return the live streams to resubscribe on a new connection."""
        self.fail_pending(exc)
        streams = [s for s in self._streams.values() if not s.closed]
        self._streams = {}
        for s in streams:
            s.server_id = None
        return streams


def with_req_id(payload: dict[str, Any], req_id: int) -> dict[str, Any]:
    return {**payload, "req_id": req_id}
