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
            self.connections.pop(conn, None)
            self.core.disconnect(session)
            protocol = ws.protocol
            by = ("client" if protocol.close_rcvd is not None and (
                protocol.close_sent is None or protocol.close_rcvd_then_sent) else
                "server" if protocol.close_sent is not None else "network")
            self.plane.journal.record(FAKE, "disconnect", conn=conn, data={
                "code": ws.close_code if ws.close_code is not None else 1006,
                "reason": ws.close_reason or "", "by": by})

    def _may_hold(self) -> bool:
        """Whether a request could wait inside the plane (a gate or a delay rule is armed)."""
        plane = self.plane
        if plane.gates.list():
            return True
        return any(r.action == "delay" or r.delay or r.jitter for r in plane.faults.list())

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
                req.reply(journal.error("closed", "the connection closed while the request waited"))
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
            req.reply(journal.error("dropped", f"reply dropped by fault rule {rule.id}"),
                      data={"fault": rule.id})
        elif rule.action == "close":
            req.reply(journal.error("closed", f"connection closed by fault rule {rule.id}"),
                      data={"fault": rule.id})
            await ws.close(rule.close_code or 1011, rule.close_reason)

    async def _send(self, ws: DerivConnection, message: dict) -> None:
        try:
            await ws.send(envelope.encode(message))
        except ConnectionClosed:
            pass

    # -- pushes --------------------------------------------------------------------------------
    async def deliver(self, deliveries: list[Delivery]) -> int:
        """Send stream messages, each journaled as a push and subject to push-stage faults
        (match params: subscription, type, symbol, contract_id)."""
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
            if rule is not None:
                delay = self.plane.faults.delay_for(rule)
                if delay:
                    await asyncio.sleep(delay)
                if rule.action == "drop":
                    continue
                if rule.action == "close":
                    await ws.close(rule.close_code or 1011, rule.close_reason)
                    continue
                if rule.action == "error":
                    continue  # an error in place of a push makes no sense on this API
            await self._send(ws, d.message)
            sent += 1
        return sent

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
