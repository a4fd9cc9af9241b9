"""The MTProto protocol core: auth keys, connections, the session layer and the API, no sockets.

`MTProtoCore` owns the state shared by all connections (the world, the auth keys the server knows,
which connections use which key). `ConnectionProtocol` is one TCP connection, sans-I/O in the
style of h11: the transport feeds it bytes with `receive()` and gets back bytes to write
immediately (service answers), calls to run through the control plane, and whether to close.
For each call the transport runs `core.execute(call)` inside `plane.request(...)` and writes what
`answer()` / `answer_error()` return.

AUTH_KEY_DUPLICATED (https://core.telegram.org/api/errors#406-not-acceptable): a non-media DC that
sees an authorized session "sending requests in parallel from two separate TCP connections"
answers 406 AUTH_KEY_DUPLICATED and the authorization is invalid from then on. Here a key's
connections are the open TCP connections that have sent it an encrypted message; when a call on
an authorized key is executed while another of its connections is open, the policy decides:
  "both"  (Telegram's documented behaviour) the key is invalidated: every call on it, on any
          connection, gets 406 AUTH_KEY_DUPLICATED until `revive()` (the control API);
  "newer" only calls on the newest connection get 406; older connections keep working.
"""

from __future__ import annotations

import random
import struct
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Iterable

from telethon.tl import functions as F
from telethon.tl import types as T

from . import rpc
from .crypto import DecryptError, auth_key_id, decrypt_client_message, encrypt_server_message
from .framing import FrameCodec, FramingError
from .keyexchange import KeyExchange, KeyExchangeError
from .session import (
    BAD_CONTAINER, BAD_SEQNO_EVEN_FOR_CONTENT, BAD_SEQNO_ODD_FOR_SERVICE,
    BAD_SERVER_SALT, Message, MsgIdClock, ServerSession, check_msg_id, is_content_related, parse_plaintext,
    read_object, rpc_error, rpc_result, serialize, tl_name, unwrap,
)
from .world import Account, World

POLICIES = ("both", "newer")
AUTH_KEY_DUPLICATED = (406, "AUTH_KEY_DUPLICATED")
# A 400 (not 500) on purpose: Telethon retries 500s for ~10 s before giving up.
INTERNAL_ERROR = "FAKE_INTERNAL_ERROR"
KEY_EXCHANGE = (F.ReqPqMultiRequest, F.ReqPqRequest, F.ReqDHParamsRequest, F.SetClientDHParamsRequest)
MAX_SESSIONS_PER_KEY = 64


def _signed64(rng: random.Random) -> int:
    return rng.getrandbits(64) - (1 << 63)


@dataclass
class AuthKeyRecord:
    key: bytes
    key_id: int
    salt: int
    user_id: int | None = None
    invalidated: bool = False  # by AUTH_KEY_DUPLICATED, until revived
    minted: bool = False  # created by the control API rather than a key exchange
    conns: dict[str, int] = field(default_factory=dict)  # open conn id -> opening order
    sessions: OrderedDict = field(default_factory=OrderedDict)  # session_id -> ServerSession

    def session(self, session_id: int, first_msg_id: int, rng: random.Random) -> tuple[ServerSession, bool]:
        existing = self.sessions.get(session_id)
        if existing is not None:
            self.sessions.move_to_end(session_id)
            return existing, False
        created = ServerSession(session_id, first_msg_id, _signed64(rng))
        self.sessions[session_id] = created
        while len(self.sessions) > MAX_SESSIONS_PER_KEY:
            self.sessions.popitem(last=False)
        return created, True


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
    deliveries: list[rpc.Delivery] = field(default_factory=list)
    detail: str = ""  # for the journal: why a call failed inside the fake


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
    query, chain = rpc.unwrap_query(request)
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


class MTProtoCore:
    def __init__(self, world: World | None = None, *, policy: str = "both", port: int = 0,
                 clock=time.time, rng: random.Random | None = None) -> None:
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}")
        self.clock = clock
        # Server salts, new_session_created unique ids and minted auth keys come from this seeded
        # generator, so a run repeats: a client only stores or echoes these values, it checks none
        # of them. The key exchange keeps os.urandom (server nonce, DH secret, padding): that is
        # where a client does check the server (g_a range, nonces), and determinism buys nothing.
        self.rng = rng if rng is not None else random.Random(0)
        self.world = world if world is not None else World(clock=clock)
        self.policy = policy
        self.port = port  # the port the transport listens on, for Config.dc_options
        self.keys: dict[int, AuthKeyRecord] = {}
        self.connections: dict[str, ConnectionProtocol] = {}
        self._conn_order = 0
        self.stats = {"key_exchanges": 0, "rpcs": 0, "duplicated": 0, "transport_errors": 0}

    # -- keys -----------------------------------------------------------------------------------

    def register_key(self, key: bytes, user_id: int | None = None, minted: bool = False) -> AuthKeyRecord:
        record = AuthKeyRecord(key, auth_key_id(key), _signed64(self.rng),
                               user_id=user_id, minted=minted)
        self.keys[record.key_id] = record
        return record

    def mint_key(self, account: Account) -> AuthKeyRecord:
        """A fresh authorized key for `account`, as a completed sign-in would leave it.

        256 bytes with a non-zero first byte: StringSession stores keys in a fixed 256-byte
        field, so a shorter (leading-zero) key would not survive the round trip.
        """
        while True:
            key = self.rng.randbytes(256)
            if key[0] and auth_key_id(key) not in self.keys:
                return self.register_key(key, account.id, minted=True)

    def revive(self, key_id: int | None = None) -> int:
        """Clear AUTH_KEY_DUPLICATED invalidation (one key or all); returns how many."""
        count = 0
        for record in self.keys.values():
            if record.invalidated and (key_id is None or record.key_id == key_id):
                record.invalidated = False
                count += 1
        return count

    # -- connections ----------------------------------------------------------------------------

    def connect(self, conn_id: str) -> "ConnectionProtocol":
        self._conn_order += 1
        protocol = ConnectionProtocol(self, conn_id, self._conn_order)
        self.connections[conn_id] = protocol
        return protocol

    def disconnect(self, conn_id: str) -> None:
        protocol = self.connections.pop(conn_id, None)
        if protocol is None:
            return
        for record in protocol.keys_used:
            record.conns.pop(conn_id, None)

    def connections_of(self, account_id: int) -> Iterable["ConnectionProtocol"]:
        """Connections that should receive the account's updates: signed in, key valid, active."""
        for protocol in list(self.connections.values()):
            record = protocol.record
            if (record is not None and record.user_id == account_id and not record.invalidated
                    and protocol.wants_updates and not protocol.closed):
                yield protocol

    # -- execution ------------------------------------------------------------------------------

    def execute(self, call: Call) -> Outcome:
        """Answer a call (after the control plane let it through)."""
        if call.kind == "plain":
            try:
                result = call.protocol.key_exchange.handle(call.request)
            except KeyExchangeError as exc:
                return Outcome(error=(-1, str(exc)))
            if call.protocol.key_exchange.auth_key is not None:
                self.register_key(call.protocol.key_exchange.auth_key)
                call.protocol.key_exchange = KeyExchange()
                self.stats["key_exchanges"] += 1
            return Outcome(result=result)
        if call.kind == "ping":
            return Outcome(result=T.Pong(msg_id=call.msg_id, ping_id=call.query.ping_id))
        self.stats["rpcs"] += 1
        record = call.record
        duplicated = self._duplicated(call)
        if duplicated:
            return Outcome(error=AUTH_KEY_DUPLICATED)
        account = self.world.accounts.get(record.user_id) if record.user_id is not None else None

        def authorize(new_account: Account | None) -> None:
            record.user_id = new_account.id if new_account is not None else None

        ctx = rpc.CallContext(self.world, account, call.protocol.conn_id, self.port, authorize)
        if not isinstance(call.request, F.InvokeWithoutUpdatesRequest):
            call.protocol.wants_updates = True
        try:
            result = rpc.call(ctx, call.query)
        except rpc.RpcFailure as exc:
            return Outcome(error=(exc.code, exc.message))
        except Exception as exc:  # a handler bug must answer, not leave the client waiting
            return Outcome(error=(400, INTERNAL_ERROR), detail=f"{type(exc).__name__}: {exc}")
        return Outcome(result=result, deliveries=ctx.deliveries)

    def _duplicated(self, call: Call) -> bool:
        record = call.record
        if record.invalidated:
            return True
        if record.user_id is None:
            return False  # only authorized sessions are checked (Telegram's wording)
        others = {}
        for conn_id, order in record.conns.items():
            if conn_id == call.protocol.conn_id:
                continue
            other = self.connections.get(conn_id)
            if other is not None and not other.closed:
                others[conn_id] = order
        if not others:
            return False
        self.stats["duplicated"] += 1
        if self.policy == "both":
            record.invalidated = True
            return True
        # "newer": refuse the newest connection only
        return call.protocol.order > max(others.values())

    def post_to_channel(self, channel_id: int, text: str) -> tuple[Any, list[rpc.Delivery]]:
        channel = self.world.channel(channel_id)
        message = self.world.post_channel(channel, text)
        return message, rpc.channel_post_deliveries(self.world, channel, message)

    def send_private(self, sender_id: int, recipient_id: int, text: str) -> tuple[Any, list[rpc.Delivery]]:
        sender = self.world.account(sender_id)
        recipient = self.world.account(recipient_id)
        mine, theirs = self.world.send_private(sender, recipient, text)
        deliveries = [rpc.private_delivery(self.world, recipient, sender, theirs)] if theirs else []
        # the sender's own sessions learn about their outgoing message too
        deliveries.append(rpc.private_delivery(self.world, sender, recipient, mine))
        return theirs or mine, deliveries


class ConnectionProtocol:
    """One TCP connection's MTProto state machine (framing, crypto, session layer)."""

    def __init__(self, core: MTProtoCore, conn_id: str, order: int) -> None:
        self.core = core
        self.conn_id = conn_id
        self.order = order
        self.codec = FrameCodec()
        self.key_exchange = KeyExchange()
        self.record: AuthKeyRecord | None = None  # the key of the last encrypted message
        self.keys_used: list[AuthKeyRecord] = []
        self.plain_clock = MsgIdClock()  # msg_ids of unencrypted (key-exchange) answers
        self.session: ServerSession | None = None
        self.wants_updates = False
        self.closed = False

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
        self.core.stats["transport_errors"] += 1
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
            return self._close(out, f"bad input: unencrypted message does not parse: {exc}")
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
            obj = read_object(message.body)
            messages = unwrap(message.msg_id, message.seqno, obj)
        except Exception as exc:
            out.notes.append({"bad_input": f"message does not parse: {exc}"})
            out.send.append(self._service(T.BadMsgNotification(message.msg_id, message.seqno,
                                                                BAD_CONTAINER), now))
            return
        for inner in messages:
            self._message(record, session, inner, out, now)

    def _message(self, record: AuthKeyRecord, session: ServerSession, message: Message,
                 out: Output, now: float) -> None:
        if session.seen(message.msg_id):
            out.notes.append({"ignored": f"duplicate msg_id {message.msg_id}"})
            return
        content = is_content_related(message.obj)
        if content and message.seqno % 2 == 0:
            code = BAD_SEQNO_EVEN_FOR_CONTENT
        elif not content and message.seqno % 2 == 1:
            code = BAD_SEQNO_ODD_FOR_SERVICE
        else:
            code = None
        if code is not None:
            out.send.append(self._service(T.BadMsgNotification(message.msg_id, message.seqno, code), now))
            return
        obj = message.obj
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
            body = rpc_result(call.msg_id, outcome.result)
        return self._encrypt(call.record, call.session, body, now, content=True)

    def answer_error(self, call: Call, code: int, message: str) -> bytes:
        return self.answer(call, Outcome(error=(code, message)))

    def push(self, updates: Any) -> bytes:
        """An unsolicited update message on this connection's current session."""
        return self._encrypt(self.record, self.session, updates, self.core.clock(), content=True,
                             answer=False)
