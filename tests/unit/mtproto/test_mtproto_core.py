"""The connection protocol and session layer, sans-I/O, driven by Telethon's own MTProtoState."""

from __future__ import annotations

import logging
import struct
from collections import defaultdict
from io import BytesIO
from zlib import crc32

import pytest
from telethon.crypto import AuthKey
from telethon.extensions import BinaryReader
from telethon.network.mtprotostate import MTProtoState
from telethon.tl import functions as F
from telethon.tl import types as T
from telethon.tl.core import MessageContainer, RpcResult

from botfakes.fakes.mtproto.core import MTProtoCore
from botfakes.fakes.mtproto.framing import FrameCodec
from botfakes.fakes.mtproto.session import BAD_MSG_ID_TOO_LOW, BAD_SERVER_SALT, tl_name
from botfakes.fakes.mtproto.world import World

LOGGERS = defaultdict(lambda: logging.getLogger("test"))


def full(payload: bytes, seq: int) -> bytes:
    body = struct.pack("<ii", len(payload) + 12, seq) + payload
    return body + struct.pack("<I", crc32(body))


class Client:
    """A client connection built from Telethon's MTProtoState (what TelegramClient uses)."""

    def __init__(self, core: MTProtoCore, key: bytes, conn_id: str = "mtproto#1") -> None:
        self.protocol = core.connect(conn_id)
        self.state = MTProtoState(AuthKey(key), loggers=LOGGERS)
        self.seq = 0
        self.reader = FrameCodec()
        self.inbox: list = []  # service messages the server wrote straight away

    def send_raw(self, data: bytes, content_related: bool = True):
        buffer = BytesIO()
        msg_id = self.state.write_data_as_message(buffer, data, content_related)
        self.last_packet = self.state.encrypt_message_data(buffer.getvalue())
        output = self.protocol.receive(full(self.last_packet, self.seq))
        self.seq += 1
        if not output.close:
            self.inbox = self.decode(b"".join(output.send))
        return msg_id, output

    def send(self, request):
        return self.send_raw(bytes(request))

    def decode(self, data: bytes) -> list:
        return [self.state.decrypt_message_data(p).obj for p in self.reader.feed(data)]

    def handshake(self):
        """First request with salt 0 -> bad_server_salt; adopt the salt like Telethon does."""
        self.send(F.help.GetConfigRequest())
        (bad,) = self.inbox
        assert isinstance(bad, T.BadServerSalt) and bad.error_code == BAD_SERVER_SALT
        self.state.salt = bad.new_server_salt


@pytest.fixture
def core():
    world = World(seed=1, clock=lambda: 1_700_000_000)
    world.seed_default(posts_per_channel=5)
    return MTProtoCore(world, port=4444)


def run(core, call):
    outcome = core.execute(call)
    return call.protocol.answer(call, outcome), outcome


def test_session_start_salt_new_session_and_rpc_result(core):
    alice = core.world.resolve("alice")
    record = core.mint_key(alice)
    client = Client(core, record.key)
    client.handshake()
    layer = F.InvokeWithLayerRequest(229, F.InitConnectionRequest(
        1, "pc", "linux", "1.0", "en", "", "en", F.help.GetConfigRequest()))
    msg_id, output = client.send(layer)
    (created,) = client.inbox
    assert isinstance(created, T.NewSessionCreated) and created.server_salt == record.salt
    (call,) = output.calls
    assert (call.method, call.params["query"], call.params["layer"]) == ("invokeWithLayer", "help.getConfig", 229)
    answer, _ = run(core, call)
    (result,) = client.decode(answer)
    assert isinstance(result, RpcResult) and result.req_msg_id == msg_id
    config = layer.read_result(BinaryReader(result.body))
    assert config.this_dc == 2 and config.dc_options[0].port == 4444


def test_unauthorized_key_gets_401_and_unknown_key_gets_404(core):
    record = core.register_key(b"\x07" * 256)  # as a key exchange leaves it: no account yet
    client = Client(core, record.key)
    client.handshake()
    _, output = client.send(F.users.GetUsersRequest([T.InputUserSelf()]))
    answer, outcome = run(core, output.calls[0])
    assert outcome.error == (401, "AUTH_KEY_UNREGISTERED")
    assert client.decode(answer)[0].error.error_message == "AUTH_KEY_UNREGISTERED"

    stranger = Client(core, b"\x09" * 256, "mtproto#2")
    _, output = stranger.send(F.help.GetConfigRequest())
    assert output.send == [full(struct.pack("<i", -404), 0)] and output.close


def test_container_gzip_ping_ack_and_duplicates(core):
    record = core.mint_key(core.world.resolve("alice"))
    client = Client(core, record.key)
    client.handshake()
    client.send(F.help.GetConfigRequest())  # starts the session
    # a container carrying a ping and a gzip-packed getState, like Telethon's MessagePacker
    buffer = BytesIO()
    inner = []
    for request in (F.PingRequest(ping_id=42), F.updates.GetStateRequest()):
        data = bytes(request)
        if isinstance(request, F.updates.GetStateRequest):
            from telethon.tl.core import GzipPacked
            data = bytes(GzipPacked(data))
        inner.append(client.state.write_data_as_message(buffer, data, True))
    container = struct.pack("<Ii", MessageContainer.CONSTRUCTOR_ID, 2) + buffer.getvalue()
    container_id, output = client.send_raw(container, content_related=False)
    assert [c.method for c in output.calls] == ["ping", "updates.getState"]
    pong = client.decode(run(core, output.calls[0])[0])[0]
    assert isinstance(pong, T.Pong) and pong.msg_id == inner[0] and pong.ping_id == 42
    # a resent message (same msg_id) is ignored, an ack is swallowed
    output = client.protocol.receive(full(client.last_packet, client.seq))
    assert not output.calls and "duplicate msg_id" in output.notes[0]["ignored"]
    client.seq += 1
    _, output = client.send_raw(bytes(T.MsgsAck([1])), content_related=False)
    assert not output.calls and not output.send


def test_msg_id_too_old_gets_bad_msg_notification(core):
    record = core.mint_key(core.world.resolve("alice"))
    client = Client(core, record.key)
    client.state.time_offset = -1000  # a client clock 1000 s behind
    client.send(F.help.GetConfigRequest())
    (bad,) = client.inbox
    assert isinstance(bad, T.BadMsgNotification) and bad.error_code == BAD_MSG_ID_TOO_LOW


@pytest.mark.parametrize("policy, first_refused, second_refused", [
    ("both", True, True), ("newer", False, True)])
def test_auth_key_duplicated_policies(core, policy, first_refused, second_refused):
    core.policy = policy
    record = core.mint_key(core.world.resolve("alice"))
    first, second = Client(core, record.key, "mtproto#1"), Client(core, record.key, "mtproto#2")
    first.handshake()
    second.handshake()
    _, out1 = first.send(F.updates.GetStateRequest())
    _, out2 = second.send(F.updates.GetStateRequest())
    results = [core.execute(out2.calls[0]), core.execute(out1.calls[0])]  # the newer goes first
    assert (results[1].error is not None, results[0].error is not None) == (first_refused, second_refused)
    assert record.invalidated is (policy == "both")
    # once the second connection is gone, a "newer" refusal ends; "both" needs revive()
    core.disconnect("mtproto#2")
    _, out1 = first.send(F.updates.GetStateRequest())
    assert (core.execute(out1.calls[0]).error is not None) is (policy == "both")
    core.revive()
    _, out1 = first.send(F.updates.GetStateRequest())
    assert core.execute(out1.calls[0]).error is None


def test_journal_names():
    assert tl_name(F.messages.SendMessageRequest(T.InputPeerSelf(), "x")) == "messages.sendMessage"
    assert tl_name(F.InvokeWithLayerRequest(1, F.help.GetConfigRequest())) == "invokeWithLayer"
    assert tl_name(F.ReqDHParamsRequest(1, 2, b"", b"", 3, b"")) == "req_DH_params"


def test_a_handler_bug_answers_fake_internal_error(core, monkeypatch):
    from botfakes.fakes.mtproto import methods as rpc

    def broken(ctx, req):
        raise TypeError("layer changed a constructor")

    monkeypatch.setitem(rpc.HANDLERS, F.updates.GetStateRequest, broken)
    record = core.mint_key(core.world.resolve("alice"))
    client = Client(core, record.key)
    client.handshake()
    _, output = client.send(F.updates.GetStateRequest())
    answer, outcome = run(core, output.calls[0])
    assert outcome.error == (400, "FAKE_INTERNAL_ERROR") and "TypeError" in outcome.detail
    assert client.decode(answer)[0].error.error_message == "FAKE_INTERNAL_ERROR"


def test_salts_unique_ids_and_minted_keys_follow_the_seeded_generator():
    """Same generator seed, same values (runs repeat); another seed, other values."""
    import random

    def minted(seed: int):
        core = MTProtoCore(World(seed=1), rng=random.Random(seed))
        account = core.world.create_user("Ann")
        record = core.mint_key(account)
        session, _ = record.session(77, 1 << 32, core.rng)
        return record.key, record.salt, session.unique_id

    assert minted(5) == minted(5)
    assert minted(5) != minted(6)
    key, salt, unique_id = minted(5)
    assert len(key) == 256 and key[0] and -(1 << 63) <= salt < (1 << 63)
    assert -(1 << 63) <= unique_id < (1 << 63)


def test_duplicate_check_ignores_connections_the_core_no_longer_has(core):
    """A key's connection list naming a connection the core has dropped is not a second user."""
    account = core.world.create_user("Bo")
    record = core.mint_key(account)
    record.conns["mtproto#gone"] = 1  # e.g. left over by a connection of an older world
    client = Client(core, record.key, conn_id="mtproto#2")
    client.handshake()
    _, output = client.send(F.updates.GetStateRequest())
    assert [core.execute(c).error for c in output.calls] == [None]
    assert not record.invalidated
