"""The WebSocket transport of the fake Deriv API (websockets' asyncio server). I/O only.

It owns sockets and nothing else: the handshake (whose rules, path and app_id, are the core's),
frame size and idle timeout, and the passage of every message through the control plane, whose
decision the kit enacts with the core's error mapping. Each incoming message is handled in a
task of its own when something could hold it, so several requests of one connection can be
pending at once and a gate can hold them and release their replies in any order, as the real
server (which forwards calls to RPC workers) may answer them. Stream messages go out through
each connection's push queue.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from ..control import journal
from ..control.enact import FaultAnswer, enact_request
from ..control.links import WebSocketLink
from ..control.plane import ControlPlane
from . import envelope
from .core import PATH, Delivery, DerivCore, Result, Session, handshake_refusal  # noqa: F401
from .envelope import Incoming

FAKE = "deriv"
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


class DerivLink(WebSocketLink):
    """One client connection and its session."""

    def __init__(self, conn: str, ws: DerivConnection, core: DerivCore, session: Session) -> None:
        super().__init__(FAKE, conn, ws)
        self.session = session
        self.describe = lambda: core.describe_session(session)

    async def push(self, message: dict) -> None:
        await self.send(envelope.encode(message))


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

    @property
    def links(self) -> list[DerivLink]:
        return self.plane.links.of(FAKE)  # type: ignore[return-value]

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

    async def close_all(self) -> None:
        """Close every client connection (1001 "reset") and wait (bounded) until each has
        journaled its disconnect, so none of it lands after a reset."""
        await self.plane.links.close_all(FAKE)

    # -- handshake -----------------------------------------------------------------------------
    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        refusal = handshake_refusal(request.path)
        if refusal is None:
            return None
        response = connection.respond(refusal.status, refusal.body)
        if refusal.content_type:
            del response.headers["Content-Type"]
            response.headers["Content-Type"] = refusal.content_type
        if refusal.journaled:
            self.plane.journal.record(FAKE, "note", method="handshake",
                                      data={"path": request.path, "status": refusal.status,
                                            "error": refusal.journaled})
        return response

    # -- one connection ------------------------------------------------------------------------
    async def _handler(self, ws: DerivConnection) -> None:
        conn = self.plane.new_conn_id(FAKE)
        session = self.core.connect(conn)
        ws.last_activity = time.monotonic()
        link = DerivLink(conn, ws, self.core, session)
        self.plane.links.open(link, path=ws.request.path if ws.request else "")
        tasks: set[asyncio.Task] = set()
        try:
            loop = asyncio.get_running_loop()
            may_hold = self.plane.may_hold
            async for frame in ws:
                if may_hold(FAKE):
                    task = loop.create_task(self._serve(link, frame))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                else:
                    # Nothing can hold this request (no gate, no delay rule): it would run to
                    # its reply without yielding anyway, so skip the task and its loop turn.
                    await self._serve(link, frame)
        except ConnectionClosed:
            pass
        finally:
            for task in list(tasks):
                task.cancel()
            self.core.disconnect(session)
            protocol = ws.protocol
            by = ("client" if protocol.close_rcvd is not None and (
                protocol.close_sent is None or protocol.close_rcvd_then_sent) else
                "server" if protocol.close_sent is not None else "network")
            self.plane.links.closed(link, code=ws.close_code if ws.close_code is not None else 1006,
                                    reason=ws.close_reason or "", by=by)

    async def _serve(self, link: DerivLink, frame: str | bytes) -> None:
        session = link.session
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
            # (the check first: no coroutine for the common case, where no rule fired)
            if req.decision.rule is not None and await enact_request(
                    req, link, lambda error: self._fault_answer(incoming, error)):
                return
            if session.closed:
                # not a fault: the client (or a reset) ended the connection while this waited
                req.reply(journal.error("connection_closed",
                                        "the connection closed while the request waited"))
                return
            result = self.core.handle(session, incoming)
            await self._send_replies(link, req, result)
            pushes = result.pushes
        if pushes:
            await self.deliver(pushes)

    def _fault_answer(self, incoming: Incoming, error: dict[str, Any]) -> FaultAnswer:
        message = self.core.fault_reply(incoming, error)
        return FaultAnswer(envelope.encode(message),
                           journal.error(message["error"]["code"], message["error"]["message"]),
                           data={"messages": [message]})

    async def _send_replies(self, link: DerivLink, req: Any, result: Result) -> None:
        for message in result.replies:
            await link.send(envelope.encode(message))
        req.reply(result.outcome(), data={"messages": result.replies})
        if result.close is not None:
            code, reason = result.close
            await link.close(code, reason)

    # -- pushes --------------------------------------------------------------------------------
    async def deliver(self, deliveries: list[Delivery]) -> int:
        """Send stream messages, each journaled as a push and decided by the plane (match
        params: subscription, type, symbol, contract_id). Returns how many were sent or queued
        to be sent: a push under a delay rule waits in its connection's push queue, and that
        connection's later pushes queue behind it, so one slow connection stalls no other."""
        sent = 0
        links = self.plane.links
        for d in deliveries:
            session = d.session
            if session.closed:
                continue
            link = links.get(session.conn)
            if link is None:
                continue
            decision = self.plane.push(FAKE, session.conn, d.message["msg_type"], d.match_params(),
                                       data={"message": d.message})
            sent += await link.pushes.put(decision, d.message)
        return sent

    async def close_connection(self, conn: str, code: int = 1000, reason: str = "") -> bool:
        return await self.plane.links.close(conn, code, reason)

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
            for link in self.links:
                if link.ws.last_activity < deadline:
                    self.plane.journal.record(FAKE, "note", conn=link.conn, method="idle_timeout",
                                              data={"idle_timeout": timeout})
                    link.ws.transport.close()
