"""One MTProto connection's sans-I/O state machine (framing, crypto, session layer).

In the style of h11: the transport feeds `ConnectionProtocol` bytes with `receive()` and gets back
an `Output`: bytes to write at once (service answers), `Call`s to run through the control plane,
and whether to close. Each call's `Outcome` comes from `MTProtoCore.execute` (core.py), and
`answer()` turns it into bytes; `fault_answer()` is the fault rules' error mapping.

Layers (https://core.telegram.org/api/invoking#layers): API calls are read, and answers and
pushed updates written, in the layer the connection declared with invokeWithLayer (remembered
per auth key for a connection that has not declared one yet; the newest layer the fake has before
any), through that layer's schema (tl/). The MTProto service messages (msgs_ack, ping, containers,
the key exchange) do not change between layers and are read with Telethon's service classes.
A call that does not decode in its layer is still a call, journaled and answered with an
rpc_error to its msg_id, and the connection stays open (layers.py has the errors).
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from telethon.tl import functions as F
from telethon.tl import types as T

from ..control import journal
from ..control.enact import FaultAnswer
from . import methods, tl
from .authkeys import AuthKeyRecord
from .layers import encode_result, read_call
from .crypto import DecryptError, decrypt_client_message, encrypt_server_message
from .framing import FrameCodec, FramingError
from .keyexchange import KeyExchange
from .session import (
    BAD_CONTAINER, BAD_SEQNO_EVEN_FOR_CONTENT, BAD_SEQNO_ODD_FOR_SERVICE,
    BAD_SERVER_SALT, MsgIdClock, RawMessage, ServerSession, check_msg_id, parse_plaintext,
    read_object, rpc_error, rpc_result, serialize, split_messages, tl_name,
)

KEY_EXCHANGE = (F.ReqPqMultiRequest, F.ReqPqRequest, F.ReqDHParamsRequest, F.SetClientDHParamsRequest)
# The MTProto service layer inside encrypted messages: the same in every layer, read by Telethon.
SERVICE_IDS = {cls.CONSTRUCTOR_ID for cls in (
    T.MsgsAck, F.PingRequest, F.PingDelayDisconnectRequest, F.GetFutureSaltsRequest,
    F.DestroySessionRequest, F.DestroyAuthKeyRequest, F.RpcDropAnswerRequest, T.MsgsStateReq,
    T.MsgResendReq, T.MsgsAllInfo, T.MsgDetailedInfo, T.MsgNewDetailedInfo, T.MsgsStateInfo,
    T.HttpWait, *KEY_EXCHANGE)}
# Clients disagree on whether a ping is content-related (Telethon: odd seqno, Pyrogram: even),
# and Telegram takes both.
EITHER_SEQNO = {F.PingRequest.CONSTRUCTOR_ID, F.PingDelayDisconnectRequest.CONSTRUCTOR_ID,
                T.HttpWait.CONSTRUCTOR_ID}


@dataclass
class Call:
    """One request for the control plane and the core: a key-exchange step, an RPC or a ping."""

    kind: str  # "plain" | "rpc" | "ping"
    msg_id: int
    request: Any  # the object as received (wrappers included)
    query: Any  # the innermost query
    method: str  # journal name: the TL name of the outermost request (see session.tl_name)
    params: dict[str, Any]
    protocol: "ConnectionProtocol"
    session: ServerSession | None = None
    record: AuthKeyRecord | None = None
    layer: int = tl.NEWEST  # the layer the call was read in, and is answered in
    # a call that did not decode: (code, message, detail, journal flag), answered as is
    failure: tuple[int, str, str, str | None] | None = None


@dataclass
class Output:
    """What the transport must do after feeding bytes: write, run calls, maybe close."""

    send: list[bytes] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    close: str | None = None  # reason, journaled; close after writing `send`
    notes: list[dict[str, Any]] = field(default_factory=list)  # for the journal


@dataclass
class Outcome:
    """The core's answer to a call: a TL result or an RPC error, plus updates for others."""

    result: Any = None
    error: tuple[int, str] | None = None
    deliveries: list[methods.Delivery] = field(default_factory=list)
    detail: str = ""  # for the journal: why a call failed inside the fake
    close: str | None = None  # the connection must close after this answer (reason, journaled)
    flag: str | None = None  # journal.INTERNAL_ERROR / UNSUPPORTED: not what a test wants
    encoded: bytes | None = None  # the result's TL bytes in the call's layer

    def journal_outcome(self) -> dict[str, Any]:
        if self.error is None:
            return journal.ok()
        return journal.error(self.error[0], self.error[1], self.flag)


def _scalar_params(obj: Any) -> dict[str, Any]:
    """The plain fields of a request (ints, strings, bools) plus the ids of peer-like fields,
    for journal data and fault/gate matching (e.g. {"peer": 2000000001, "message": "hi"})."""
    out: dict[str, Any] = {}
    for key, value in getattr(obj, "__dict__", {}).items():
        if key.startswith("_") or value is None:
            continue
        if isinstance(value, (bool, int, str)):
            out[key] = value
        elif hasattr(value, "channel_id") or hasattr(value, "user_id"):
            out[key] = getattr(value, "channel_id", None) or getattr(value, "user_id", None)
        elif type(value).__name__ in ("InputPeerSelf", "InputUserSelf"):
            out[key] = "self"
    return out


def describe(request: Any) -> tuple[str, dict[str, Any], Any]:
    """(method, params, innermost query) for a received request; wrappers name the method.

    Telethon's first call on every connection is invokeWithLayer(initConnection(help.getConfig)):
    journaled as method "invokeWithLayer" with params {"query": "help.getConfig", "layer": 229,
    "chain": "invokeWithLayer>initConnection>help.getConfig", ...}, so a gate or fault can aim at
    the handshake (method) or at the inner call (params.query).
    """
    query, chain = methods.unwrap_query(request)
    params = _scalar_params(query)
    if chain:
        params["query"] = tl_name(query)
        params["chain"] = ">".join([tl_name(w) for w in chain] + [tl_name(query)])
        for wrapper in chain:
            if isinstance(wrapper, F.InvokeWithLayerRequest):
                params["layer"] = wrapper.layer
            if isinstance(wrapper, F.InitConnectionRequest):
                params["api_id"] = wrapper.api_id
    return tl_name(request), params, query


def _short(exc: BaseException, limit: int = 200) -> str:
    """An exception's text for the journal, cut: Telethon's parse errors quote the rest of the
    packet (a 1 MiB packet would otherwise be kept in every close reason)."""
    text = f"{type(exc).__name__}: {exc}" if not str(exc) else str(exc)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


class ConnectionCore(Protocol):
    """The state all of a core's connections share, as a connection (and the transport running
    its calls: a connection's calls go to the core it opened in) uses it. `MTProtoCore`
    (core.py) is one; named here so that this module does not import core.py, which imports it."""

    clock: Callable[[], float]
    rng: random.Random
    keys: dict[int, AuthKeyRecord]
    count: Callable[[str], None]

    def new_key_exchange(self) -> KeyExchange: ...

    def execute(self, call: Call) -> Outcome: ...


class ConnectionProtocol:
    """One TCP connection's MTProto state machine (framing, crypto, session layer)."""

    def __init__(self, core: ConnectionCore, conn_id: str, order: int) -> None:
        self.core = core
        self.conn_id = conn_id
        self.order = order
        self.codec = FrameCodec()
        self.key_exchange = core.new_key_exchange()
        self.record: AuthKeyRecord | None = None  # the key of the last encrypted message
        self.keys_used: list[AuthKeyRecord] = []
        self.plain_clock = MsgIdClock()  # msg_ids of unencrypted (key-exchange) answers
        self.session: ServerSession | None = None
        self.wants_updates = False
        self.closed = False
        self.layer: int | None = None  # declared by invokeWithLayer on this connection

    # -- input ----------------------------------------------------------------------------------

    def receive(self, data: bytes) -> Output:
        out = Output()
        if self.closed:
            return out
        try:
            packets = self.codec.feed(data)
        except FramingError as exc:
            return self._close(out, f"transport: {exc}")
        for packet in packets:
            self._packet(packet, out)
            if out.close:
                break
        return out

    def eof(self) -> Output:
        """The client closed its side; a partial packet left over was truncated."""
        out = Output()
        if self.codec.pending:
            out.notes.append({"bad_input": f"truncated packet: {self.codec.pending} bytes left at EOF"})
        return self._close(out, "client closed the connection")

    def _close(self, out: Output, reason: str) -> Output:
        out.close = reason
        self.closed = True
        return out

    def _transport_error(self, out: Output, code: int, reason: str) -> None:
        self.core.count("transport_errors")
        out.send.append(self.codec.encode_error(code))
        self._close(out, reason)

    def _packet(self, packet: bytes, out: Output) -> None:
        if len(packet) < 8:
            return self._close(out, "bad input: packet shorter than an auth_key_id")
        (key_id,) = struct.unpack_from("<Q", packet)
        if key_id == 0:
            return self._plain(packet, out)
        record = self.core.keys.get(key_id)
        if record is None:
            return self._transport_error(out, 404, f"unknown auth_key_id {key_id:#x}")
        try:
            plaintext = decrypt_client_message(record.key, packet)
        except DecryptError as exc:
            # Telegram's answer to a packet it cannot decrypt is the same as to an unknown key,
            # so a forged packet learns nothing about which check failed.
            return self._transport_error(out, 404, f"undecryptable packet: {exc}")
        self.record = record
        if record not in self.keys_used:
            self.keys_used.append(record)
        record.conns.setdefault(self.conn_id, self.order)
        self._encrypted(record, plaintext, out)

    def _plain(self, packet: bytes, out: Output) -> None:
        if len(packet) < 20:
            return self._close(out, "bad input: short unencrypted message")
        msg_id, length = struct.unpack_from("<qi", packet, 8)
        try:
            request = read_object(packet[20:20 + length])
        except Exception as exc:
            return self._close(out, f"bad input: unencrypted message does not parse: {_short(exc)}")
        if not isinstance(request, KEY_EXCHANGE):
            return self._close(out, f"bad input: {type(request).__name__} sent unencrypted")
        out.calls.append(Call("plain", msg_id, request, request, tl_name(request),
                              _scalar_params(request), self))

    def _encrypted(self, record: AuthKeyRecord, plaintext: bytes, out: Output) -> None:
        now = self.core.clock()
        message = parse_plaintext(plaintext)
        session, created = record.session(message.session_id, message.msg_id, self.core.rng)
        self.session = session
        bad = check_msg_id(message.msg_id, now)
        if bad is not None:
            out.send.append(self._service(T.BadMsgNotification(message.msg_id, message.seqno, bad), now))
            return
        if message.salt != record.salt:
            out.send.append(self._service(T.BadServerSalt(
                message.msg_id, message.seqno, BAD_SERVER_SALT, record.salt), now))
            # the session is not started by a rejected message; the resend will start it
            if created:
                record.sessions.pop(message.session_id, None)
            return
        if created:
            out.send.append(self._encrypt(record, session, T.NewSessionCreated(
                first_msg_id=message.msg_id, unique_id=session.unique_id, server_salt=record.salt),
                now, content=True, answer=False))
        try:
            messages = split_messages(message.msg_id, message.seqno, message.body)
        except ValueError as exc:
            out.notes.append({"bad_input": f"message does not parse: {_short(exc)}"})
            out.send.append(self._service(T.BadMsgNotification(message.msg_id, message.seqno,
                                                                BAD_CONTAINER), now))
            return
        for inner in messages:
            self._message(record, session, inner, out, now)

    # -- layers ---------------------------------------------------------------------------------

    @property
    def current_layer(self) -> int:
        if self.layer is not None:
            return self.layer
        if self.record is not None and self.record.layer is not None:
            return self.record.layer
        return tl.NEWEST

    def _read_call(self, raw: RawMessage, record: AuthKeyRecord, session: ServerSession,
                   out: Output) -> Any:
        """The API call in `raw` as the fake's model object, or None after queuing a failed call."""
        read = read_call(raw.body, raw.constructor_id, self.current_layer, self.core.count)
        if read.failure is None:
            return read.obj
        out.notes.append({"bad_input": f"{read.method}: {read.failure[2]}", "layer": self.current_layer})
        out.calls.append(Call("rpc", raw.msg_id, None, None, read.method, read.params, self, session,
                              record, layer=self.current_layer, failure=read.failure))
        return None

    def encode_result(self, call: Call, result: Any) -> bytes:
        """`result` as the TL type the call's function returns, in the call's layer."""
        return encode_result(call.query, result, call.layer)

    def _message(self, record: AuthKeyRecord, session: ServerSession, message: RawMessage,
                 out: Output, now: float) -> None:
        if session.seen(message.msg_id):
            out.notes.append({"ignored": f"duplicate msg_id {message.msg_id}"})
            return
        content = message.content_related
        if message.constructor_id in EITHER_SEQNO:
            code = None
        elif content and message.seqno % 2 == 0:
            code = BAD_SEQNO_EVEN_FOR_CONTENT
        elif not content and message.seqno % 2 == 1:
            code = BAD_SEQNO_ODD_FOR_SERVICE
        else:
            code = None
        if code is not None:
            out.notes.append({"bad_msg": code, "seqno": message.seqno,
                              "constructor": f"{message.constructor_id:#010x}"})
            out.send.append(self._service(T.BadMsgNotification(message.msg_id, message.seqno, code), now))
            return
        if message.constructor_id not in SERVICE_IDS:
            obj = self._read_call(message, record, session, out)
            if obj is None:
                return
            if isinstance(obj, F.InvokeWithLayerRequest):
                self.layer = record.layer = obj.layer
            if not hasattr(obj, "read_result"):
                out.notes.append({"ignored": f"{type(obj).__name__} is not a request"})
                return
            method, params, query = describe(obj)
            out.calls.append(Call("rpc", message.msg_id, obj, query, method, params, self, session,
                                  record, layer=self.current_layer))
            return
        try:
            obj = read_object(message.body)
        except Exception as exc:
            out.notes.append({"bad_input": f"service message does not parse: {_short(exc)}"})
            out.send.append(self._service(T.BadMsgNotification(message.msg_id, message.seqno,
                                                                BAD_CONTAINER), now))
            return
        if isinstance(obj, T.MsgsAck):
            return
        if isinstance(obj, (F.PingRequest, F.PingDelayDisconnectRequest)):
            out.calls.append(Call("ping", message.msg_id, obj, obj, "ping",
                                  {"ping_id": obj.ping_id}, self, session, record))
            return
        if isinstance(obj, F.GetFutureSaltsRequest):
            salts = [T.FutureSalt(valid_since=int(now) - 60, valid_until=int(now) + 3600 * (i + 1),
                                  salt=record.salt) for i in range(min(obj.num, 1))]
            out.send.append(self._encrypt(record, session, T.FutureSalts(
                req_msg_id=message.msg_id, now=int(now), salts=salts), now, content=True))
            return
        if isinstance(obj, F.DestroySessionRequest):
            known = record.sessions.pop(obj.session_id, None) is not None
            answer = (T.DestroySessionOk if known else T.DestroySessionNone)(obj.session_id)
            out.send.append(self._encrypt(record, session, answer, now, content=True))
            return
        if isinstance(obj, (T.MsgsStateReq, T.MsgResendReq, T.MsgsAllInfo, T.MsgDetailedInfo,
                            T.MsgNewDetailedInfo, T.MsgsStateInfo)):
            return  # informational; the fake keeps no resend queue
        if not hasattr(obj, "read_result"):
            out.notes.append({"ignored": f"{type(obj).__name__} is not a request"})
            return
        method, params, query = describe(obj)
        out.calls.append(Call("rpc", message.msg_id, obj, query, method, params, self, session, record))

    # -- output ---------------------------------------------------------------------------------

    def _encrypt(self, record: AuthKeyRecord, session: ServerSession, body: Any, now: float,
                 content: bool, answer: bool = True) -> bytes:
        data = serialize(body)
        header = struct.pack("<qqqii", record.salt, session.session_id, session.clock.next(now, answer),
                             session.next_seqno(content), len(data))
        return self.codec.encode(encrypt_server_message(record.key, record.key_id, header + data))

    def _service(self, body: Any, now: float) -> bytes:
        return self._encrypt(self.record, self.session, body, now, content=False)

    def answer(self, call: Call, outcome: Outcome) -> bytes:
        """The bytes answering `call` with the core's outcome (result or RPC error)."""
        now = self.core.clock()
        if call.kind == "plain":
            if outcome.error is not None:
                return b""  # a broken handshake gets no answer; the transport closes
            body = bytes(outcome.result)
            msg_id = self.plain_clock.next(now)
            return self.codec.encode(struct.pack("<qqi", 0, msg_id, len(body)) + body)
        if call.kind == "ping":
            return self._encrypt(call.record, call.session, outcome.result, now, content=True)
        if outcome.error is not None:
            body = rpc_error(call.msg_id, *outcome.error)
        else:
            body = rpc_result(call.msg_id, outcome.encoded if outcome.encoded is not None
                              else outcome.result)
        return self._encrypt(call.record, call.session, body, now, content=True)

    def answer_error(self, call: Call, code: int, message: str) -> bytes:
        return self.answer(call, Outcome(error=(code, message)))

    def fault_answer(self, call: Call, error: dict[str, Any]) -> FaultAnswer:
        """A fault rule's `error` in MTProto terms (the error-mapping hook):
          {"error_code": 420, "error_message": "FLOOD_WAIT_5"}  an rpc_error instead of the result
          {"transport_error": 429}   the 4-byte transport error -429, then the connection closes
        An unencrypted key-exchange step has no rpc_error form: the handshake fails and closes."""
        if "transport_error" in error:
            code = abs(int(error["transport_error"]))
            self.closed = True
            return FaultAnswer(self.codec.encode_error(code),
                               journal.error(-code, f"transport error -{code}"), close=True)
        code = int(error.get("error_code", 400))
        message = str(error.get("error_message", "BAD_REQUEST"))
        if call.kind == "plain":
            self.closed = True
            return FaultAnswer(None, journal.error(code, f"{message} (key exchange: connection closed)"),
                               close=True)
        return FaultAnswer(self.answer_error(call, code, message), journal.error(code, message))

    def push(self, updates: Any) -> bytes:
        """An unsolicited update message on this connection's current session, in its layer
        (b"" when the layer cannot express it: counted as push_not_expressible)."""
        try:
            data = tl.codec(self.current_layer).encode_object(updates)
        except tl.TLError:
            self.core.count("push_not_expressible")
            return b""
        return self._encrypt(self.record, self.session, data, self.core.clock(), content=True,
                             answer=False)
