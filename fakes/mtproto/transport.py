"""The asyncio TCP side of the MTProto fake: sockets in, ConnectionProtocol, the control plane.

Thin on purpose: read bytes, hand them to the connection's sans-I/O protocol, write what it
returns, and run each call through `plane.request(...)` so the journal, fault rules and gates
apply to every key-exchange step, RPC and ping. Calls run as their own tasks so a call held at a
gate does not stop the connection from reading (Telegram answers a connection's requests
concurrently too).

Fault rules in the MTProto fake's terms (the rule's `error` dict):
  {"error_code": 420, "error_message": "FLOOD_WAIT_5"}  an rpc_error answer instead of the result
  {"transport_error": 429}                              the 4-byte transport error -429, then close
"drop" answers nothing (the client waits, the connection stays open), "close" closes the TCP
connection; either is journaled with the rule's outcome ({"code": "drop" | "close"}).
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..control import journal
from ..control.plane import ControlPlane
from .core import Call, ConnectionProtocol, MTProtoCore, Output
from .rpc import Delivery

FAKE = "mtproto"
READ_SIZE = 1 << 16


class _Conn:
    def __init__(self, protocol: ConnectionProtocol, writer: asyncio.StreamWriter) -> None:
        self.protocol = protocol
        self.writer = writer
        self.tasks: set[asyncio.Task] = set()

    def write(self, data: bytes) -> None:
        if data and not self.writer.is_closing():
            self.writer.write(data)

    def close(self) -> None:
        if not self.writer.is_closing():
            self.writer.close()


class MTProtoTransport:
    def __init__(self, plane: ControlPlane, core: MTProtoCore) -> None:
        self.plane = plane
        self.core = core
        self._server: asyncio.base_events.Server | None = None
        self._conns: dict[str, _Conn] = {}
        self._serving: dict[str, asyncio.Task] = {}  # conn id -> the task serving it
        self.host = "127.0.0.1"
        self.port = 0

    async def start(self, host: str, port: int) -> int:
        self._server = await asyncio.start_server(self._serve, host, port)
        self.host = host
        self.port = self._server.sockets[0].getsockname()[1]
        self.core.port = self.port
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        serving = self.close_all()
        if serving:
            await asyncio.wait(serving, timeout=2.0)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    def close_all(self) -> list[asyncio.Task]:
        """Close every connection; returns the tasks serving them, which end (journaling each
        disconnect) once they see the close: await them before starting a new world."""
        for conn in list(self._conns.values()):
            for task in list(conn.tasks):
                task.cancel()
            conn.close()
        return [t for t in self._serving.values() if not t.done()]

    def connection_ids(self) -> list[str]:
        return list(self._conns)

    def close_connection(self, conn_id: str) -> bool:
        conn = self._conns.get(conn_id)
        if conn is None:
            return False
        conn.close()
        return True

    # -- one connection -------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn_id = self.plane.new_conn_id(FAKE)
        # This connection belongs to the core of the world it opened in: a reset swaps
        # self.core, and the old connection's end must not touch the new one.
        core = self.core
        protocol = core.connect(conn_id)
        task = asyncio.current_task()
        if task is not None:
            self._serving[conn_id] = task
        conn = _Conn(protocol, writer)
        self._conns[conn_id] = conn
        peer = writer.get_extra_info("peername")
        self.plane.journal.record(FAKE, "connect", conn=conn_id,
                                  data={"peer": f"{peer[0]}:{peer[1]}" if peer else ""})
        reason = "server closed the connection"
        try:
            while True:
                try:
                    data = await reader.read(READ_SIZE)
                except (ConnectionError, OSError):
                    data = b""
                output = protocol.receive(data) if data else protocol.eof()
                self._apply(conn, output)
                if output.close:
                    reason = output.close
                    break
                await writer.drain()
        except asyncio.CancelledError:
            reason = "server stopped"
        except (ConnectionError, OSError) as exc:
            reason = f"connection lost: {exc}"
        finally:
            for task in list(conn.tasks):
                task.cancel()
            core.disconnect(conn_id)
            self._conns.pop(conn_id, None)
            self._serving.pop(conn_id, None)
            conn.close()
            self.plane.journal.record(FAKE, "disconnect", conn=conn_id,
                                      data={"reason": reason, "transport": protocol.codec.mode})

    def _apply(self, conn: _Conn, output: Output) -> None:
        for note in output.notes:
            self.plane.journal.record(FAKE, "note", conn=conn.protocol.conn_id, data=note)
            if "bad_input" in note:
                self.plane.counters.incr("mtproto.bad_input")
        for data in output.send:
            conn.write(data)
        if output.close:
            if output.send:  # a transport error was written: say so in the journal
                self.plane.counters.incr("mtproto.transport_errors")
            self.plane.journal.record(FAKE, "note", conn=conn.protocol.conn_id, method="close",
                                      data={"reason": output.close})
            conn.close()
            return
        for call in output.calls:
            task = asyncio.get_running_loop().create_task(self._run_call(conn, call))
            conn.tasks.add(task)
            task.add_done_callback(conn.tasks.discard)

    async def _run_call(self, conn: _Conn, call: Call) -> None:
        protocol = conn.protocol
        async with self.plane.request(FAKE, protocol.conn_id, call.method, call.params) as req:
            fault = req.fault
            if fault is not None:
                self._enact(conn, call, req, fault)
                return
            outcome = protocol.core.execute(call)
            if protocol.closed:
                req.reply(journal.error("closed", "the connection closed before the answer"))
                return
            if call.kind == "plain" and outcome.error is not None:
                req.reply(journal.error(outcome.error[0], outcome.error[1]))
                self.plane.journal.record(FAKE, "note", conn=protocol.conn_id, method="close",
                                          data={"reason": f"bad key exchange: {outcome.error[1]}"})
                protocol.closed = True
                conn.close()
                return
            conn.write(protocol.answer(call, outcome))
            if outcome.error is not None:
                req.reply(journal.error(outcome.error[0], outcome.error[1]),
                          data={"detail": outcome.detail} if outcome.detail else None)
                self.plane.counters.incr(f"mtproto.rpc_error.{outcome.error[1]}")
            else:
                req.reply(journal.ok(), data={"result": type(outcome.result).__name__})
        self.deliver(outcome.deliveries)

    def _enact(self, conn: _Conn, call: Call, req: Any, fault: Any) -> None:
        protocol = conn.protocol
        if fault.action == "error":
            error = fault.error or {}
            if "transport_error" in error:
                code = int(error["transport_error"])
                conn.write(protocol.codec.encode_error(code))
                req.reply(journal.error(-abs(code), f"transport error -{abs(code)}"))
                protocol.closed = True
                conn.close()
                return
            code = int(error.get("error_code", 400))
            message = str(error.get("error_message", "BAD_REQUEST"))
            if call.kind == "plain":
                # an unencrypted handshake step has no rpc_error form: the handshake fails
                req.reply(journal.error(code, f"{message} (key exchange: connection closed)"))
                protocol.closed = True
                conn.close()
                return
            conn.write(protocol.answer_error(call, code, message))
            req.reply(journal.error(code, message))
        elif fault.action == "drop":
            req.reply(fault.outcome(), data={"fault": fault.id})  # no answer; the connection stays
        elif fault.action == "close":
            req.reply(fault.outcome(), data={"fault": fault.id})
            protocol.closed = True
            conn.close()

    def deliver(self, deliveries: list[Delivery]) -> int:
        """Push updates to the live connections of each delivery's account; returns how many."""
        sent = 0
        for delivery in deliveries:
            for protocol in self.core.connections_of(delivery.account_id):
                if protocol.conn_id == delivery.skip_conn:
                    continue
                conn = self._conns.get(protocol.conn_id)
                if conn is None:
                    continue
                kinds = [type(u).__name__ for u in getattr(delivery.updates, "updates", [])]
                fault = self.plane.push(FAKE, protocol.conn_id, "updates",
                                        {"account": delivery.account_id, "update": ",".join(kinds)})
                if fault is not None and fault.action == "drop":
                    continue
                if fault is not None and fault.action == "close":
                    protocol.closed = True
                    conn.close()
                    continue
                conn.write(protocol.push(delivery.updates))
                sent += 1
        return sent
