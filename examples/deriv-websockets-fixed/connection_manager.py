"""One Deriv WebSocket connection with a single reader (seed 003's fix, `connection_manager_fixed`).

- One reader task per connection calls `recv()`; nobody else does. Each request gets a `req_id`
  and an `asyncio.Future`; the reader resolves the future whose `req_id` the reply carries, so
  concurrent requests can be answered in any order and each caller gets its own answer.
- Streams (`subscribe`) are routed the same way: Deriv repeats the subscribing request's `req_id`
  in every message of the stream.
- When the socket closes, pending requests fail at once (ConnectionError, never a hang), and the
  manager reconnects with backoff, authorizes again and re-subscribes every stream, so /watch
  chats keep getting ticks.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import random
from typing import Awaitable, Callable

import websockets

log = logging.getLogger("deriv")

StreamHandler = Callable[[dict], Awaitable[None]]


class DerivError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code


class ConnectionManager:
    def __init__(self, endpoint: str, token: str = "", request_timeout: float = 30.0):
        self.endpoint = endpoint
        self.token = token
        self.request_timeout = request_timeout
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self._streams: dict[int, tuple[dict, StreamHandler]] = {}  # req_id -> (request, handler)
        self._ws = None
        self._connected = asyncio.Event()
        self._runner: asyncio.Task | None = None
        self._closing = False
        self._handlers: set[asyncio.Task] = set()  # stream callbacks in flight (kept referenced)

    async def start(self) -> None:
        self._runner = asyncio.create_task(self._run(), name="deriv-connection")
        await asyncio.wait_for(self._connected.wait(), self.request_timeout)

    async def close(self) -> None:
        self._closing = True
        if self._runner:
            self._runner.cancel()
            await asyncio.gather(self._runner, return_exceptions=True)
        if self._ws is not None:
            await self._ws.close()

    async def send_request(self, request: dict) -> dict:
        """Send one request and wait for the reply that carries its req_id."""
        await asyncio.wait_for(self._connected.wait(), self.request_timeout)
        req_id = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._pending[req_id] = future
        try:
            await self._ws.send(json.dumps({**request, "req_id": req_id}))
            reply = await asyncio.wait_for(future, self.request_timeout)
        finally:
            self._pending.pop(req_id, None)
        if "error" in reply:
            raise DerivError(reply["error"].get("code", "Error"), reply["error"].get("message", ""))
        return reply

    async def subscribe(self, request: dict, handler: StreamHandler) -> None:
        """Open a stream; `handler` gets each message, across reconnects."""
        await asyncio.wait_for(self._connected.wait(), self.request_timeout)
        req_id = next(self._ids)
        self._streams[req_id] = (request, handler)
        try:
            await self._send_subscription(req_id)
        except websockets.ConnectionClosed:
            pass  # registered: the reconnect subscribes it

    async def _send_subscription(self, req_id: int) -> None:
        request, _ = self._streams[req_id]
        await self._ws.send(json.dumps({**request, "subscribe": 1, "req_id": req_id}))

    async def _run(self) -> None:
        delay = 0.5
        while not self._closing:
            try:
                async with websockets.connect(self.endpoint) as ws:
                    self._ws = ws
                    reader = asyncio.create_task(self._read(ws), name="deriv-reader")
                    try:
                        if self.token:
                            await self._authorize(ws)
                        for req_id in list(self._streams):
                            await self._send_subscription(req_id)
                        self._connected.set()
                        delay = 0.5
                        await reader
                    finally:
                        reader.cancel()
                        await asyncio.gather(reader, return_exceptions=True)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure means: reconnect
                log.warning("Deriv connection failed: %s: %s", type(exc).__name__, exc)
            self._connected.clear()
            self._fail_pending(ConnectionError("the Deriv connection closed"))
            if not self._closing:
                log.info("reconnecting to Deriv in %.1f s", delay)
                await asyncio.sleep(delay * (1 + random.random() / 2))
                delay = min(delay * 2, 10.0)

    async def _authorize(self, ws) -> None:
        req_id = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._pending[req_id] = future
        await ws.send(json.dumps({"authorize": self.token, "req_id": req_id}))
        reply = await asyncio.wait_for(future, self.request_timeout)
        if "error" in reply:
            raise DerivError(reply["error"].get("code", "Error"), reply["error"].get("message", ""))

    async def _read(self, ws) -> None:
        """The only recv() on this socket."""
        async for raw in ws:
            message = json.loads(raw)
            req_id = message.get("req_id")
            stream = self._streams.get(req_id)
            if stream is not None:
                if "error" in message:
                    log.warning("stream %s refused: %s", stream[0], message["error"].get("message"))
                    continue
                # Off the reader: a slow handler (a Telegram send) never delays other replies.
                task = asyncio.create_task(stream[1](message))
                self._handlers.add(task)
                task.add_done_callback(self._handlers.discard)
                continue
            future = self._pending.get(req_id)
            if future is not None and not future.done():
                future.set_result(message)

    def _fail_pending(self, exc: Exception) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(exc)
        self._pending.clear()
