"""Each connection is read and answered in the layer it declared; bad input in a layer gets
Telegram's documented error to its msg_id, the connection stays open, other clients carry on.

A raw client built on Telethon's own client-side session code (MTProtoState: encryption, msg_ids,
its reader for the answers) sends hand-made layer-198 and broken requests on a minted key.
"""

from __future__ import annotations

import asyncio
import collections
import io
import logging
import struct
from zlib import crc32

import pytest
from telethon.crypto import AuthKey
from telethon.extensions import BinaryReader
from telethon.network.mtprotostate import MTProtoState
from telethon.sessions import StringSession
from telethon.tl import types as T
from telethon.tl.core import RpcResult

from botfakes.fakes.mtproto import tl
from botfakes.fakes.mtproto.tl import TL

pytestmark = pytest.mark.asyncio
BOUND = 10.0
INVOKE_WITH_LAYER = struct.Struct("<Ii")  # invokeWithLayer#da9b0d0d layer:int query:!X


def with_layer(layer: int, query: bytes) -> bytes:
    return INVOKE_WITH_LAYER.pack(0xDA9B0D0D, layer) + query


def init_connection(layer: int, query: TL) -> bytes:
    return with_layer(layer, tl.codec(layer).encode_object(TL("initConnection", {
        "api_id": 12345, "device_model": "raw", "system_version": "1", "app_version": "1",
        "system_lang_code": "en", "lang_pack": "", "lang_code": "en", "query": query})))


class RawClient:
    """Full transport framing, Telethon's MTProtoState for the session layer."""

    def __init__(self, key: bytes) -> None:
        self.state = MTProtoState(AuthKey(key), collections.defaultdict(lambda: logging.getLogger("raw")))
        self.seq = 0
        self.reader = self.writer = None

    async def connect(self, host: str, port: int) -> None:
        self.reader, self.writer = await asyncio.open_connection(host, port)

    def _frame(self, payload: bytes) -> bytes:
        body = struct.pack("<ii", len(payload) + 12, self.seq) + payload
        self.seq += 1
        return body + struct.pack("<I", crc32(body))

    def send(self, data: bytes) -> int:
        buffer = io.BytesIO()
        msg_id = self.state.write_data_as_message(buffer, data, content_related=True)
        self.writer.write(self._frame(self.state.encrypt_message_data(buffer.getvalue())))
        return msg_id

    async def receive(self):
        head = await asyncio.wait_for(self.reader.readexactly(8), BOUND)
        size, _seq = struct.unpack("<ii", head)
        rest = await asyncio.wait_for(self.reader.readexactly(size - 8), BOUND)
        return self.state.decrypt_message_data(rest[:-4]).obj

    async def call(self, data: bytes):
        """Send, and return the rpc_result for it (resending once after bad_server_salt)."""
        msg_id = self.send(data)
        while True:
            obj = await self.receive()
            if isinstance(obj, T.BadServerSalt):
                self.state.salt = obj.new_server_salt
                msg_id = self.send(data)
            elif isinstance(obj, RpcResult) and obj.req_msg_id == msg_id:
                return obj

    def close(self) -> None:
        self.writer.close()


@pytest.fixture
async def raw(mtproto):
    minted = await mtproto.aio.mint_session()
    client = RawClient(StringSession(minted["session"]).auth_key.key)
    await client.connect(mtproto.host, mtproto.port)
    yield client
    client.close()


@pytest.fixture
async def bystander(mtproto):
    client = mtproto.client(await mtproto.aio.string_session())
    await client.connect()
    try:
        yield client
    finally:
        await client.disconnect()


def error_of(result: RpcResult) -> tuple[int, str]:
    assert result.error is not None, result
    return result.error.error_code, result.error.error_message


async def test_a_layer_198_connection_is_answered_in_198(mtproto, raw):
    answer = await raw.call(init_connection(198, TL("users.getUsers", {"id": [TL("inputUserSelf")]})))
    users = tl.codec(198).decode(answer.body, "Vector<User>")
    assert [u.name for u in users] == ["user"] and users[0]["self"] is True
    assert struct.unpack_from("<I", answer.body, 8)[0] == tl.schema(198).named("user").id
    # later calls on the connection are read in 198 too (this messages.getHistory id is 198's)
    channel = next(c for c in (await mtproto.aio.world())["channels"] if c["username"] == "defi_daily")
    history = await raw.call(tl.codec(198).encode_object(TL("messages.getHistory", {
        "peer": TL("inputPeerChannel", {"channel_id": channel["id"], "access_hash": channel["access_hash"]}),
        "offset_id": 0, "offset_date": 0, "add_offset": 0, "limit": 3, "max_id": 0, "min_id": 0, "hash": 0})))
    page = tl.codec(198).decode(history.body)
    assert page.name == "messages.channelMessages" and [m["id"] for m in page["messages"]] == [40, 39, 38]
    assert {m.name for m in page["messages"]} == {"message"}
    with pytest.raises(tl.UnknownConstructor):  # 198's message#, not 229's: 229 cannot read it
        tl.codec(229).decode(history.body)


@pytest.mark.botfakes_expect("unsupported")  # a layer the fake does not have, on purpose
async def test_an_unknown_layer_is_a_clear_error_and_the_connection_stays(mtproto, raw, bystander):
    answer = await raw.call(with_layer(201, bytes(tl.codec(229).encode_object(TL("help.getConfig")))))
    assert error_of(answer) == (400, "INPUT_LAYER_INVALID")
    [response] = await mtproto.plane.aio.journal(fake="mtproto", kind="response", code=400)
    assert response["method"] == "invokeWithLayer"
    assert response["data"]["detail"] == "layer 201 is not served by the fake (it has 198, 229)"
    assert response["outcome"]["flag"] == "unsupported"
    stats = (await mtproto.plane.aio.stats())["fakes"]["mtproto"]
    assert stats["unknown_layers"] == {"201": 1} and stats["layers"] == [198, 229]
    # the same connection then declares a layer the fake has, and is served
    config = await raw.call(init_connection(198, TL("help.getConfig")))
    assert tl.codec(198).decode(config.body).name == "config"
    assert (await bystander.get_me()).id


async def test_a_constructor_the_layer_lacks(mtproto, raw, bystander):
    await raw.call(init_connection(198, TL("help.getConfig")))
    # layer 229's messages.sendMessage id on a 198 connection: a method 198 does not have
    send_229 = tl.codec(229).encode_object(TL("messages.sendMessage", {
        "peer": TL("inputPeerSelf"), "message": "hi", "random_id": 1}))
    assert error_of(await raw.call(send_229)) == (400, "INPUT_METHOD_INVALID")
    # a known method holding an object id the layer lacks
    bogus_peer = tl.codec(198).encode_object(TL("messages.getHistory", {
        "peer": TL("inputPeerSelf"), "offset_id": 0, "offset_date": 0, "add_offset": 0, "limit": 1,
        "max_id": 0, "min_id": 0, "hash": 0})).replace(
        struct.pack("<I", tl.schema(198).named("inputPeerSelf").id), struct.pack("<I", 0x0BADF00D))
    assert error_of(await raw.call(bogus_peer)) == (400, "INPUT_CONSTRUCTOR_INVALID")
    notes = [e["data"]["bad_input"] for e in await mtproto.plane.aio.journal(fake="mtproto", kind="note")
             if "bad_input" in e["data"]]
    assert notes == [f"{0xFEF48F62:#010x}: constructor {0xFEF48F62:#010x} is not in layer 198",
                     f"messages.getHistory: constructor {0x0BADF00D:#010x} is not in layer 198"]
    assert (await bystander.get_me()).id


async def test_a_truncated_tl_object(mtproto, raw, bystander):
    send = tl.codec(229).encode_object(TL("messages.sendMessage", {
        "peer": TL("inputPeerSelf"), "message": "a message cut short", "random_id": 1}))
    assert error_of(await raw.call(send[:24])) == (400, "INPUT_FETCH_FAIL")
    [response] = await mtproto.plane.aio.journal(fake="mtproto", kind="response", code=400)
    assert response["method"] == "messages.sendMessage"
    assert response["data"]["detail"].startswith("truncated TL object")
    pong = await raw.call(init_connection(229, TL("help.getConfig")))  # still served
    with BinaryReader(pong.body) as reader:
        assert isinstance(reader.tgread_object(), T.Config)
    assert (await bystander.get_me()).id
