"""The Deriv connection manager: one socket, one reader, replies routed by req_id (seed 003).

One supervisor task owns the connection: it connects, authorizes, resubscribes every live
stream, starts the single reader and the keepalive, and when the socket dies it fails the pending
requests and reconnects with backoff. Callers only `send()` and await a future; nothing but the
reader ever calls `recv()` (websockets raises `ConcurrencyError: cannot call recv while another
coroutine is already running recv or recv_streaming` when two do).

- Every request has a timeout; a reply arriving after it is dropped by the router, never handed
  to the next caller.
- `RateLimit` answers are retried after a backoff (bounded attempts); the per-connection limit
  also makes the server close with 1008, which the supervisor turns into a reconnect.
- Keepalive: a `ping` call every `keepalive_interval` s (Deriv closes connections idle for 120 s);
  a ping without an answer within the request timeout closes the socket so the supervisor
  reconnects rather than the bot waiting on a half-open TCP connection.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, AsyncIterator
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from ..backoff import Backoff, retrying
from .router import ConnectionLost, DerivError, RequestTimeout, Router, Stream, raise_for_error, with_req_id

log = logging.getLogger(__name__)


def deriv_url(base: str, app_id: str) -> str:
    """`base` with `app_id` and `l=EN` in its query (kept when already there)."""
    parts = urlsplit(base)
    query = dict(parse_qsl(parts.query))
    query.setdefault("app_id", str(app_id))
    query.setdefault("l", "EN")
    return urlunsplit(parts._replace(query=urlencode(query)))


class Subscription:
    """An async iterator of stream messages (ticks, balance, ...); `await close()` forgets it."""

    def __init__(self, manager: "DerivConnection", stream: Stream, first: dict):
        self._manager = manager
        self._stream = stream
        self.first = first

    @property
    def id(self) -> str | None:
        return self._stream.server_id

    def __aiter__(self) -> AsyncIterator[dict]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[dict]:
        yield self.first
        while not self._stream.closed:
            message = await self._stream.queue.get()
            if message is _CLOSED:
                return
            yield raise_for_error(message)

    async def close(self) -> None:
        await self._manager._forget(self._stream)


_CLOSED: dict = {"_closed": True}


class DerivConnection:
    def __init__(
        self,
        url: str,
        app_id: str,
        token: str = "",
        *,
        request_timeout: float = 10.0,
        connect_timeout: float = 10.0,
        keepalive_interval: float = 30.0,
        rate_limit_retries: int = 3,
        backoff_first: float = 0.5,
        backoff_cap: float = 30.0,
        rate_limit_backoff_first: float = 1.0,
    ):
        self.url = deriv_url(url, app_id)
        self._token = token
        self.request_timeout = request_timeout
        self.connect_timeout = connect_timeout
        self.keepalive_interval = keepalive_interval
        self.rate_limit_retries = rate_limit_retries
        self._reconnect_backoff = (backoff_first, backoff_cap)
        # A RateLimit answer means too many calls in the server's window: start slower than a
        # reconnect does.
        self._rate_limit_backoff = (rate_limit_backoff_first, backoff_cap)
        self.router = Router()
        self._ws: ClientConnection | None = None
        self._ready = asyncio.Event()
        self._supervisor: asyncio.Task | None = None
        self._closed = False
        self.authorized: dict | None = None  # the last authorize reply
        self.auth_error: DerivError | None = None
        self.connects = 0  # successful connections, for logs and tests
        self._orphans: list[Stream] = []  # live streams waiting to be resubscribed

    # -- public API --------------------------------------------------------------------------
    def start(self) -> None:
        """Start the supervisor (idempotent: one connection however many callers)."""
        if self._closed:
            raise ConnectionLost("connection manager is closed")
        if self._supervisor is None:
            self._supervisor = asyncio.create_task(self._supervise(), name="deriv-supervisor")

    async def request(self, payload: dict[str, Any], timeout: float | None = None) -> dict:
        """Send one call and return its reply; raises DerivError, RequestTimeout, ConnectionLost."""
        timeout = self.request_timeout if timeout is None else timeout
        first, cap = self._rate_limit_backoff
        retry = retrying(
            f"deriv {_call_name(payload)}", _is_rate_limit,
            attempts=self.rate_limit_retries + 1, first=first, cap=cap, log=log,
        )
        return await retry(self._checked_call, payload, timeout)

    async def subscribe(self, payload: dict[str, Any], timeout: float | None = None) -> Subscription:
        """Start a stream (`payload` gets `subscribe: 1`); resubscribed after every reconnect."""
        stream = Stream(request={**payload, "subscribe": 1})
        timeout = self.request_timeout if timeout is None else timeout
        reply = await self._call(stream.request, timeout, stream=stream)
        raise_for_error(reply)
        return Subscription(self, stream, reply)

    async def close(self) -> None:
        self._closed = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            await asyncio.gather(self._supervisor, return_exceptions=True)
        if self._ws is not None:
            await self._ws.close()
        for stream in self.router.connection_lost(ConnectionLost("closed")):
            stream.closed = True
            stream.put(_CLOSED)

    # -- internals ---------------------------------------------------------------------------
    async def _checked_call(self, payload: dict, timeout: float) -> dict:
        return raise_for_error(await self._call(payload, timeout))

    async def _call(self, payload: dict, timeout: float, stream: Stream | None = None, *, ready: bool = True) -> dict:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        if ready:
            self.start()
            try:
                await asyncio.wait_for(self._ready.wait(), timeout)
            except asyncio.TimeoutError:
                raise RequestTimeout(f"deriv {_call_name(payload)}: not connected within {timeout} s") from None
        ws = self._ws
        if ws is None:
            raise ConnectionLost("not connected")
        req_id, fut = self.router.expect(stream)
        try:
            await ws.send(json.dumps(with_req_id(payload, req_id)))
            return await asyncio.wait_for(fut, max(0.0, deadline - loop.time()))
        except asyncio.TimeoutError:
            raise RequestTimeout(f"deriv {_call_name(payload)} (req_id {req_id}): no reply within {timeout} s") from None
        except ConnectionClosed as exc:
            raise ConnectionLost(str(exc)) from exc
        finally:
            self.router.forget_request(req_id)

    async def _supervise(self) -> None:
        backoff = Backoff(*self._reconnect_backoff)
        while not self._closed:
            try:
                async with connect(
                    self.url, open_timeout=self.connect_timeout, max_size=2**22, close_timeout=2
                ) as ws:
                    backoff.reset()
                    await self._serve(ws)
            except asyncio.CancelledError:
                raise
            except (OSError, InvalidHandshake, InvalidURI, asyncio.TimeoutError, ConnectionClosed) as exc:
                log.warning("deriv connection failed: %s: %s", type(exc).__name__, exc)
            except Exception:
                log.exception("deriv connection failed")
            finally:
                self._ready.clear()
                self._ws = None
            delay = backoff.next()
            log.info("deriv: reconnecting in %.1f s", delay)
            await asyncio.sleep(delay)

    async def _serve(self, ws: ClientConnection) -> None:
        self._ws = ws
        self.connects += 1
        reader = asyncio.create_task(self._read(ws), name="deriv-reader")
        keepalive: asyncio.Task | None = None
        try:
            # Re-establish what the previous connection had before anyone else may send.
            if self._token:
                await self._authorize()
            while self._orphans:
                await self._resubscribe(self._orphans[0])
                self._orphans.pop(0)
            self._ready.set()
            keepalive = asyncio.create_task(self._keepalive(ws), name="deriv-keepalive")
            await reader
        finally:
            self._ready.clear()
            for task in (reader, keepalive):
                if task is not None and not task.done():
                    task.cancel()
            await asyncio.gather(*(t for t in (reader, keepalive) if t is not None), return_exceptions=True)
            exc = reader.exception() if reader.done() and not reader.cancelled() else None
            # Streams not yet resubscribed stay orphans next to those this connection had.
            lost = self.router.connection_lost(exc)
            self._orphans = [s for s in self._orphans if not s.closed] + [
                s for s in lost if s not in self._orphans
            ]

    async def _read(self, ws: ClientConnection) -> None:
        """The one and only `recv()` of this connection."""
        try:
            async for raw in ws:
                try:
                    message = json.loads(raw)
                except ValueError:
                    log.warning("deriv: ignoring a frame that is not JSON")
                    continue
                if isinstance(message, dict):
                    self.router.route(message)
        except ConnectionClosed as exc:
            log.info("deriv connection closed: %s", exc)
            self.router.fail_pending(exc)
        finally:
            # Whoever waits for a reply learns now, not at their timeout.
            self.router.fail_pending()

    async def _authorize(self) -> None:
        reply = await self._call({"authorize": self._token}, self.request_timeout, ready=False)
        try:
            self.authorized = raise_for_error(reply)["authorize"]
            self.auth_error = None
        except DerivError as exc:
            # The socket stays useful for public calls; /balance reports the refusal.
            self.authorized, self.auth_error = None, exc
            log.error("deriv authorize refused: %s", exc)

    async def _resubscribe(self, stream: Stream) -> None:
        if stream.closed:
            return
        reply = await self._call(stream.request, self.request_timeout, stream=stream, ready=False)
        if "error" in reply:
            log.error("deriv: resubscribing %s failed: %s", _call_name(stream.request), reply["error"])
            stream.put(reply)  # the consumer sees the error and ends its stream

    async def _keepalive(self, ws: ClientConnection) -> None:
        while True:
            await asyncio.sleep(self.keepalive_interval)
            try:
                await self._call({"ping": 1}, self.request_timeout, ready=False)
            except (RequestTimeout, ConnectionLost):
                log.warning("deriv keepalive got no pong; closing to reconnect")
                await ws.close(code=1001, reason="keepalive timeout")
                return

    async def _forget(self, stream: Stream) -> None:
        if stream.closed:
            return
        stream.closed = True
        self.router.drop_stream(stream)
        stream.put(_CLOSED)
        if stream.server_id and self._ready.is_set():
            try:
                await self.request({"forget": stream.server_id})
            except (DerivError, RequestTimeout, ConnectionLost) as exc:
                log.info("deriv forget %s: %s", stream.server_id, exc)


def _call_name(payload: dict) -> str:
    return next(iter(payload), "?")


def _is_rate_limit(exc: BaseException) -> bool:
    return isinstance(exc, DerivError) and exc.code == "RateLimit"
