"""The asyncio TCP side of the MTProto fake: sockets in, ConnectionProtocol, bytes out.

I/O only: read bytes, hand them to the connection's sans-I/O protocol, write what it returns, and
run each call through `plane.request(...)` so the journal, fault rules and gates apply to every
key-exchange step, RPC and ping; the kit enacts a rule's decision (`enact_request`) with the
core's error mapping (`ConnectionProtocol.fault_answer`). Calls run as their own tasks so a call
held at a gate does not stop the connection from reading (Telegram answers a connection's
requests concurrently too). Pushed updates go through the connection's push queue.
"""

from __future__ import annotations

import asyncio
import errno
import random

from ..control import journal
from ..control.enact import enact_request
from ..control.links import StreamLink
from ..control.plane import ControlPlane
from .core import Call, ConnectionProtocol, MTProtoCore, Output
from .methods import Delivery

FAKE = "mtproto"
MAX_PORT = 32767  # the highest port a GramJS StringSession can hold (int16)
PORT_RANGE = (10000, MAX_PORT)  # below Linux's ephemeral range, above well-known services
READ_SIZE = 1 << 16


class MTProtoLink(StreamLink):
    """One TCP connection and its protocol state."""

    def __init__(self, conn: str, writer: asyncio.StreamWriter, protocol: ConnectionProtocol) -> None:
        super().__init__(FAKE, conn, writer)
        self.protocol = protocol
        self.tasks: set[asyncio.Task] = set()
        self.describe = self._describe

    def _describe(self) -> dict:
        record = self.protocol.record
        return {"transport": self.protocol.codec.mode,
                "key_id": str(record.key_id) if record else None,
                "user_id": record.user_id if record else None}

    async def push(self, updates) -> None:
        # encrypted when sent, so a delayed push still gets an msg_id in order
        self.write(self.protocol.push(updates))

    async def close(self, code: int | None = None, reason: str = "") -> None:
        self.protocol.closed = True
        await super().close(code, reason)


# Telegram publishes no idle timeout; its clients keep a connection alive with a ping every 60 s
# (Telethon) or ping_delay_disconnect(75), so 120 s without a byte only ends dead connections,
# including a client that stops halfway through a packet. None = never.
DEFAULT_IDLE_TIMEOUT = 120.0


class MTProtoTransport:
    def __init__(self, plane: ControlPlane, core: MTProtoCore,
                 idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT) -> None:
        self.plane = plane
        self.core = core
        self.idle_timeout = idle_timeout or None
        self._server: asyncio.base_events.Server | None = None
        self.host = "127.0.0.1"
        self.port = 0

    async def start(self, host: str, port: int) -> int:
        """Listen on `port`; 0 picks a free port at most MAX_PORT (GramJS keeps a session's port
        in a signed 16-bit field, and the OS's own picks are above 32767 on Linux)."""
        if port:
            self._server = await asyncio.start_server(self._serve, host, port)
        else:
            self._server = await self._listen_low(host)
        self.host = host
        self.port = self._server.sockets[0].getsockname()[1]
        self.core.port = self.port
        return self.port

    async def _listen_low(self, host: str) -> asyncio.base_events.Server:
        # Binding is the check, so no other process can take the port in between. Which port is
        # not part of a run's determinism (clients read it from the session or ready file).
        candidates = random.Random().sample(range(PORT_RANGE[0], PORT_RANGE[1] + 1), 200)
        for candidate in candidates:
            try:
                return await asyncio.start_server(self._serve, host, candidate)
            except OSError as exc:
                if exc.errno not in (errno.EADDRINUSE, errno.EACCES):
                    raise
        raise OSError(f"no free port in {PORT_RANGE[0]}-{PORT_RANGE[1]} on {host}")

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        await self.close_all()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def close_all(self) -> None:
        """Close every connection and wait (bounded) until each has journaled its disconnect."""
        for link in self.plane.links.of(FAKE):
            for task in list(link.tasks):
                task.cancel()
        await self.plane.links.close_all(FAKE)

    def connection_ids(self) -> list[str]:
        return [link.conn for link in self.plane.links.of(FAKE)]

    # -- one connection -------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn_id = self.plane.new_conn_id(FAKE)
        # This connection belongs to the core of the world it opened in: a reset swaps
        # self.core, and the old connection's end must not touch the new one.
        core = self.core
        protocol = core.connect(conn_id)
        link = MTProtoLink(conn_id, writer, protocol)
        self.plane.links.open(link)
        reason = "server closed the connection"
        try:
            while True:
                try:
                    data = await asyncio.wait_for(reader.read(READ_SIZE), self.idle_timeout)
                except asyncio.TimeoutError:
                    reason = f"idle timeout: nothing received for {self.idle_timeout:g} s"
                    self._note_close(link, reason)
                    break
                except (ConnectionError, OSError):
                    data = b""
                output = protocol.receive(data) if data else protocol.eof()
                self._apply(link, output)
                if output.close:
                    reason = output.close
                    break
                await writer.drain()
        except asyncio.CancelledError:
            reason = "server stopped"
        except (ConnectionError, OSError) as exc:
            reason = f"connection lost: {exc}"
        finally:
            for task in list(link.tasks):
                task.cancel()
            core.disconnect(conn_id)
            await link.close()
            self.plane.links.closed(link, reason=reason, transport=protocol.codec.mode)

    def _note_close(self, link: MTProtoLink, reason: str) -> None:
        self.plane.journal.record(FAKE, "note", conn=link.conn, method="close", data={"reason": reason})

    def _apply(self, link: MTProtoLink, output: Output) -> None:
        for note in output.notes:
            self.plane.journal.record(FAKE, "note", conn=link.conn, data=note)
            if "bad_input" in note:
                self.plane.count("mtproto.bad_input")
        for data in output.send:
            link.write(data)
        if output.close:
            self._note_close(link, output.close)
            link.protocol.closed = True
            link.writer.close()
            return
        for call in output.calls:
            task = asyncio.get_running_loop().create_task(self._run_call(link, call))
            link.tasks.add(task)
            task.add_done_callback(link.tasks.discard)

    async def _run_call(self, link: MTProtoLink, call: Call) -> None:
        protocol = link.protocol
        async with self.plane.request(FAKE, link.conn, call.method, call.params) as req:
            if await enact_request(req, link, lambda error: protocol.fault_answer(call, error)):
                return
            outcome = protocol.core.execute(call)
            if outcome.close is not None:
                req.reply(outcome.journal_outcome())
                self._note_close(link, outcome.close)
                await link.close()
                return
            if protocol.closed:
                req.reply(journal.error("closed", "the connection closed before the answer"))
                return
            link.write(protocol.answer(call, outcome))
            req.reply(outcome.journal_outcome(), data={"detail": outcome.detail} if outcome.detail
                      else None if outcome.error else {"result": type(outcome.result).__name__})
        await self.deliver(outcome.deliveries)

    async def deliver(self, deliveries: list[Delivery]) -> int:
        """Push updates to the live connections of each delivery's account; returns how many
        were sent or queued to be sent."""
        sent = 0
        for delivery in deliveries:
            kinds = ",".join(type(u).__name__ for u in getattr(delivery.updates, "updates", []))
            for protocol in self.core.connections_of(delivery.account_id):
                if protocol.conn_id == delivery.skip_conn:
                    continue
                link = self.plane.links.get(protocol.conn_id)
                if link is None:
                    continue
                decision = self.plane.push(FAKE, protocol.conn_id, "updates",
                                           {"account": delivery.account_id, "update": kinds})
                sent += await link.pushes.put(decision, delivery.updates)
        return sent
