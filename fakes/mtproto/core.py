"""The MTProto protocol core: auth keys, connections, the session layer and the API, no sockets.

`MTProtoCore` owns the state shared by all connections (the world, the auth keys the server knows,
which connections use which key). `ConnectionProtocol` is one TCP connection, sans-I/O in the
style of h11: the transport feeds it bytes with `receive()` and gets back bytes to write
immediately (service answers), calls to run through the control plane, and whether to close.
For each call the transport runs `core.execute(call)` inside `plane.request(...)` and writes what
`answer()` returns; `fault_answer()` maps a fault rule's error into these terms. Protocol rules
live here, not in the transport: a failed key exchange closes the connection (`Outcome.close`).
One clock (`clock`) and one seeded generator (`rng`) serve the whole core, the key exchange too;
every count goes to the plane through `count`.

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
import time
from typing import Any, Callable, Iterable

from telethon.tl import functions as F
from telethon.tl import types as T

from ..control import journal
from . import methods
from .authkeys import AuthKeyRecord, random_signed64
from .connection import KEY_EXCHANGE, Call, ConnectionProtocol, Outcome, Output, describe  # noqa: F401
from .crypto import auth_key_id
from .keyexchange import KeyExchange, KeyExchangeError
from .tl import TLError
from .world import Account, World

POLICIES = ("both", "newer")
AUTH_KEY_DUPLICATED = (406, "AUTH_KEY_DUPLICATED")
# A 400 (not 500) on purpose: Telethon retries 500s for ~10 s before giving up.
INTERNAL_ERROR = "FAKE_INTERNAL_ERROR"


class MTProtoCore:
    def __init__(self, world: World | None = None, *, policy: str = "both", port: int = 0,
                 clock=time.time, rng: random.Random | None = None,
                 count: Callable[[str], None] | None = None) -> None:
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
        # "key_exchanges", "rpcs", "duplicated", "transport_errors", "rpc_error.<MESSAGE>", ...
        self.count: Callable[[str], None] = count or (lambda name: None)

    def new_key_exchange(self) -> KeyExchange:
        return KeyExchange(clock=self.clock, rng=self.rng)

    # -- keys -----------------------------------------------------------------------------------

    def register_key(self, key: bytes, user_id: int | None = None, minted: bool = False) -> AuthKeyRecord:
        record = AuthKeyRecord(key, auth_key_id(key), random_signed64(self.rng),
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
                # an unencrypted step has no error answer: the connection closes unanswered
                call.protocol.closed = True
                return Outcome(error=(-1, str(exc)), close=f"bad key exchange: {exc}")
            if call.protocol.key_exchange.auth_key is not None:
                self.register_key(call.protocol.key_exchange.auth_key)
                call.protocol.key_exchange = self.new_key_exchange()
                self.count("key_exchanges")
            return Outcome(result=result)
        if call.kind == "ping":
            return Outcome(result=T.Pong(msg_id=call.msg_id, ping_id=call.query.ping_id))
        self.count("rpcs")
        if call.failure is not None:
            code, message, detail, flag = call.failure
            self.count(f"rpc_error.{message}")
            return Outcome(error=(code, message), detail=detail, flag=flag)
        record = call.record
        duplicated = self._duplicated(call)
        if duplicated:
            self.count(f"rpc_error.{AUTH_KEY_DUPLICATED[1]}")
            return Outcome(error=AUTH_KEY_DUPLICATED)
        account = self.world.accounts.get(record.user_id) if record.user_id is not None else None

        def authorize(new_account: Account | None) -> None:
            record.user_id = new_account.id if new_account is not None else None

        ctx = methods.CallContext(self.world, account, call.protocol.conn_id, self.port, authorize)
        if not isinstance(call.request, F.InvokeWithoutUpdatesRequest):
            call.protocol.wants_updates = True
        try:
            result = methods.call(ctx, call.query)
        except methods.RpcFailure as exc:
            self.count(f"rpc_error.{exc.message}")
            flag = journal.UNSUPPORTED if exc.message == methods.UNSUPPORTED else None
            return Outcome(error=(exc.code, exc.message), flag=flag)
        except Exception as exc:  # a handler bug must answer, not leave the client waiting
            self.count(f"rpc_error.{INTERNAL_ERROR}")
            return Outcome(error=(400, INTERNAL_ERROR), detail=f"{type(exc).__name__}: {exc}",
                           flag=journal.INTERNAL_ERROR)
        try:
            encoded = call.protocol.encode_result(call, result)
        except TLError as exc:  # an answer the client's layer cannot express: say so, never guess
            self.count(f"rpc_error.{INTERNAL_ERROR}")
            return Outcome(error=(400, INTERNAL_ERROR), flag=journal.INTERNAL_ERROR,
                           detail=f"the answer is not expressible in layer {call.layer}: {exc}")
        return Outcome(result=result, deliveries=ctx.deliveries, encoded=encoded)

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
        self.count("duplicated")
        if self.policy == "both":
            record.invalidated = True
            return True
        # "newer": refuse the newest connection only
        return call.protocol.order > max(others.values())

    def post_to_channel(self, channel_id: int, text: str) -> tuple[Any, list[methods.Delivery]]:
        channel = self.world.channel(channel_id)
        message = self.world.post_channel(channel, text)
        return message, methods.channel_post_deliveries(self.world, channel, message)

    def send_private(self, sender_id: int, recipient_id: int, text: str) -> tuple[Any, list[methods.Delivery]]:
        sender = self.world.account(sender_id)
        recipient = self.world.account(recipient_id)
        mine, theirs = self.world.send_private(sender, recipient, text)
        deliveries = [methods.private_delivery(self.world, recipient, sender, theirs)] if theirs else []
        # the sender's own sessions learn about their outgoing message too
        deliveries.append(methods.private_delivery(self.world, sender, recipient, mine))
        return theirs or mine, deliveries
