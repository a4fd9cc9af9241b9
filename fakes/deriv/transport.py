"""The WebSocket transport of the fake Deriv API (websockets' asyncio server).

It owns sockets and nothing else: the handshake rules (path, app_id), frame size and idle
timeout, and the passage of every message through the control plane. Each incoming message is
handled in a task of its own, so several requests of one connection can be pending at once and
a gate can hold them and release their replies in any order, as the real server (which forwards
calls to RPC workers) may answer them.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from ..control import journal
from ..control.faults import FaultRule
from ..control.plane import ControlPlane
from . import envelope
from .core import Delivery, DerivCore, Result, Session
from .envelope import Incoming

FAKE = "deriv"
PATH = "/websockets/v3"
APP_ID_RULE = re.compile(r"^(?!0)[0-9]{1,19}$")
#: Mojolicious' default max WebSocket message size, which the real server runs with
DEFAULT_MAX_SIZE = 262144
DEFAULT_IDLE_TIMEOUT = 120.0
#: how much of a frame that is not JSON the journal keeps
JOURNAL_FRAME_CHARS = 200


class DerivConnection(ServerConnection):
    """A server connection that remembers when it last heard anything from its client (data
    frames and control frames alike), for the idle timeout."""

    last_activity: float = 0.0

    def data_received(self, data: bytes) -> None:
        self.last_activity = time.monotonic()
        super().data_received(data)


class DerivTransport:
    def __init__(self, plane: ControlPlane, core: DerivCore, *,
                 idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
                 max_size: int | None = DEFAULT_MAX_SIZE,
                 compression: bool = True) -> None:
        self.plane = plane
        self.core = core
        self._idle_timeout = idle_timeout
        self.max_size = max_size
        self.compression = compression
        self.server: Server | None = None
        self.connections: dict[str, DerivConnection] = {}
        # set when a connection's handler has finished (its disconnect is journaled)
        self._ended: dict[str, asyncio.Event] = {}
        # pushes waiting out a push-stage delay, per connection: they hold up only their own
        # connection's later pushes (order kept), never other connections'
        self._delayed: dict[str, list[asyncio.Task]] = {}
        self._idle_task: asyncio.Task | None = None

    @property
    def idle_timeout(self) -> float | None:
        return self._idle_timeout

    @idle_timeout.setter
    def idle_timeout(self, seconds: float | None) -> None:
        self._idle_timeout = seconds
        if self._idle_task is not None:  # wake the sweeper on the new period now
            self._idle_task.cancel()
            self._idle_task = asyncio.get_running_loop().create_task(self._idle_sweeper())

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self, host: str, port: int) -> int:
        self.server = await serve(
            self._handler, host, port,
            process_request=self._process_request,
            create_connection=DerivConnection,
            compression="deflate" if self.compression else None,
            max_size=self.max_size,
            # the real server never pings its clients; it answers their pings
            ping_interval=None,
            server_header="botfakes-deriv",
        )
        self._idle_task = asyncio.get_running_loop().create_task(self._idle_sweeper())
        return self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._idle_task is not None:
            self._idle_task.cancel()
            self._idle_task = None
        self._cancel_delayed()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None

    # -- handshake -----------------------------------------------------------------------------
    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        if url.path.rstrip("/") != PATH:
            return connection.respond(404, "Not Found\n")
        app_id = parse_qs(url.query).get("app_id", [""])[-1]
        if not APP_ID_RULE.match(app_id):
            response = connection.respond(401, '{"error":"InvalidAppID"}')
            del response.headers["Content-Type"]
            response.headers["Content-Type"] = "application/json"
            self.plane.journal.record(FAKE, "note", method="handshake",
                                      data={"path": request.path, "status": 401,
                                            "error": "InvalidAppID"})
            return response
        return None

    # -- one connection ------------------------------------------------------------------------
    async def _handler(self, ws: DerivConnection) -> None:
        conn = self.plane.new_conn_id(FAKE)
        session = self.core.connect(conn)
        ws.last_activity = time.monotonic()
        self.connections[conn] = ws
        ended = self._ended[conn] = asyncio.Event()
        # host:port, so that the scenario harness can tell which bot process this is
        peer = ws.remote_address
        self.plane.journal.record(FAKE, "connect", conn=conn, data={
            "path": ws.request.path if ws.request else "",
            "peer": f"{peer[0]}:{peer[1]}" if peer else ""})
        tasks: set[asyncio.Task] = set()
        try:
            loop = asyncio.get_running_loop()
            for_pending = self._may_hold
            async for frame in ws:
                if for_pending():
                    task = loop.create_task(self._serve(ws, session, frame))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                else:
                    # Nothing can hold this request (no gate, no delay rule): it would run to
                    # its reply without yielding anyway, so skip the task and its loop turn.
                    await self._serve(ws, session, frame)
        except ConnectionClosed:
            pass
        finally:
            for task in list(tasks):
                task.cancel()
            for task in self._delayed.pop(conn, []):
                task.cancel()
            self.connections.pop(conn, None)
            self.core.disconnect(session)
            protocol = ws.protocol
            by = ("client" if protocol.close_rcvd is not None and (
                protocol.close_sent is None or protocol.close_rcvd_then_sent) else
                "server" if protocol.close_sent is not None else "network")
            self.plane.journal.record(FAKE, "disconnect", conn=conn, data={
                "code": ws.close_code if ws.close_code is not None else 1006,
                "reason": ws.close_reason or "", "by": by})
            self._ended.pop(conn, None)
            ended.set()

    def _may_hold(self) -> bool:
        """Whether a request could wait inside the plane: a gate or a delay that could match this
        fake is armed (rules of other fakes cannot hold a Deriv request)."""
        plane = self.plane
        if any(g.match.fake in ("*", FAKE) for g in plane.gates.list()):
            return True
        return any(r.match.fake in ("*", FAKE) and r.stage == "request"
                   and (r.action == "delay" or r.delay or r.jitter) for r in plane.faults.list())

    async def _serve(self, ws: DerivConnection, session: Session, frame: str | bytes) -> None:
        incoming = self.core.decode(frame)
        request = incoming.request
        if isinstance(request, dict):
            params, data = request, {"params": request}
        else:
            text = frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
            params, data = {}, {"frame": text[:JOURNAL_FRAME_CHARS],
                                "binary": isinstance(frame, bytes), "size": len(frame)}
        pushes: list[Delivery] = []
        async with self.plane.request(FAKE, session.conn, incoming.method, params, data) as req:
            if req.fault is not None:
                await self._enact(ws, req, incoming, req.fault)
                return
            if session.closed:
                # not a fault: the client (or a reset) ended the connection while this waited
                req.reply(journal.error("connection_closed",
                                        "the connection closed while the request waited"))
                return
            result = self.core.handle(session, incoming)
            await self._send_replies(ws, req, result)
            pushes = result.pushes
        if pushes:
            await self.deliver(pushes)

    async def _send_replies(self, ws: DerivConnection, req: Any, result: Result) -> None:
        for message in result.replies:
            await self._send(ws, message)
        error = result.error
        if error is not None:
            req.reply(journal.error(error["code"], error["message"]),
                      data={"messages": result.replies})
        else:
            req.reply(journal.ok(), data={"messages": result.replies})
        if result.close is not None:
            code, reason = result.close
            await ws.close(code, reason)

    async def _enact(self, ws: DerivConnection, req: Any, incoming: Incoming,
                     rule: FaultRule) -> None:
        if rule.action == "error":
            error = rule.error or {}
            message = self.core.error_for(incoming, str(error.get("code", "InternalServerError")),
                                          str(error.get("message", "")), error.get("details"))
            await self._send(ws, message)
            req.reply(journal.error(message["error"]["code"], message["error"]["message"]),
                      data={"messages": [message], "fault": rule.id})
        elif rule.action == "drop":
            # received, never answered; the connection stays open
            req.reply(rule.outcome(), data={"fault": rule.id})
        elif rule.action == "close":
            req.reply(rule.outcome(), data={"fault": rule.id})
            await ws.close(rule.close_code or 1011, rule.close_reason)

    async def _send(self, ws: DerivConnection, message: dict) -> None:
        try:
            await ws.send(envelope.encode(message))
        except ConnectionClosed:
            pass

    # -- pushes --------------------------------------------------------------------------------
    async def deliver(self, deliveries: list[Delivery]) -> int:
        """Send stream messages, each journaled as a push and subject to push-stage faults
        (match params: subscription, type, symbol, contract_id). Returns how many were sent or
        scheduled: a push under a delay rule is sent later by a task of its own, and the later
        pushes of that connection queue behind it, so one slow connection stalls no other."""
        sent = 0
        for d in deliveries:
            session = d.session
            if session.closed:
                continue
            ws = self.connections.get(session.conn)
            if ws is None:
                continue
            stream = d.stream
            params = {"subscription": stream.id, "type": stream.type} if stream else {}
            if stream is not None:
                if stream.symbol:
                    params["symbol"] = stream.symbol
                if stream.contract is not None:
                    params["contract_id"] = stream.contract.contract_id
            rule = self.plane.push(FAKE, session.conn, d.message["msg_type"], params,
                                   data={"message": d.message})
            delay = self.plane.faults.delay_for(rule) if rule is not None else 0.0
            queued = [t for t in self._delayed.get(session.conn, ()) if not t.done()]
            if delay or queued:
                self._send_later(session.conn, ws, d.message, rule, delay, queued)
                sent += rule is None or rule.action == "delay"
            elif await self._push(ws, d.message, rule):
                sent += 1
        return sent

    def _send_later(self, conn: str, ws: DerivConnection, message: dict,
                    rule: FaultRule | None, delay: float, queued: list[asyncio.Task]) -> None:
        before = queued[-1] if queued else None

        async def send_later() -> None:
            if before is not None:
                await asyncio.wait((before,))  # keep the connection's push order
            if delay:
                await asyncio.sleep(delay)
            await self._push(ws, message, rule)

        task = asyncio.get_running_loop().create_task(send_later())
        tasks = self._delayed.setdefault(conn, [])
        tasks[:] = [t for t in tasks if not t.done()] + [task]

    async def _push(self, ws: DerivConnection, message: dict, rule: FaultRule | None) -> bool:
        """Enact a push's terminal fault rule, or send it; whether it was sent."""
        if rule is not None:
            if rule.action == "drop":
                return False
            if rule.action == "close":
                await ws.close(rule.close_code or 1011, rule.close_reason)
                return False
            if rule.action == "error":
                return False  # an error in place of a push makes no sense on this API
        await self._send(ws, message)
        return True

    def _cancel_delayed(self) -> None:
        for tasks in self._delayed.values():
            for task in tasks:
                task.cancel()
        self._delayed.clear()

    async def close_all(self, code: int = 1001, reason: str = "reset",
                        timeout: float = 2.0) -> None:
        """Close every client connection and wait (bounded) until each handler has finished and
        journaled its disconnect, so none of it lands after a reset."""
        self._cancel_delayed()
        conns = list(self.connections.items())
        if not conns:
            return
        ended = [self._ended[c] for c, _ in conns if c in self._ended]
        waiters = [asyncio.ensure_future(e.wait()) for e in ended]
        closing = [asyncio.ensure_future(ws.close(code, reason)) for _, ws in conns]
        if not waiters:
            await asyncio.wait(closing, timeout=timeout)
            return
        try:
            _, pending = await asyncio.wait(waiters, timeout=timeout)
            if pending:  # a client that does not answer the close frame: cut the TCP connection
                for _, ws in conns:
                    if ws.transport is not None:
                        ws.transport.abort()
                await asyncio.wait(pending, timeout=1.0)
        finally:
            for task in waiters + closing:
                task.cancel()

    async def close_connection(self, conn: str, code: int = 1000, reason: str = "") -> bool:
        ws = self.connections.get(conn)
        if ws is None:
            return False
        await ws.close(code, reason)
        return True

    # -- idle timeout --------------------------------------------------------------------------
    async def _idle_sweeper(self) -> None:
        """Drop connections silent for idle_timeout seconds, as the real server's inactivity
        timeout does: the TCP connection just ends, with no close frame."""
        while True:
            timeout = self.idle_timeout
            await asyncio.sleep(min(max(timeout or 1.0, 0.02) / 4, 1.0))
            if not timeout:
                continue
            deadline = time.monotonic() - timeout
            for conn, ws in list(self.connections.items()):
                if ws.last_activity < deadline:
                    self.plane.journal.record(FAKE, "note", conn=conn, method="idle_timeout",
                                              data={"idle_timeout": timeout})
                    ws.transport.close()
