"""Bad input on the wire gets what Telegram's servers give, and the fake keeps serving others.

Each test keeps a real Telethon client connected while a raw socket misbehaves, then checks the
client still gets answers.
"""

from __future__ import annotations

import asyncio
import os
import struct
from zlib import crc32

import pytest
from telethon import TelegramClient, errors
from telethon.sessions import StringSession

from botfakes.fakes.mtproto.crypto import auth_key_id, encrypt_client_message

pytestmark = pytest.mark.asyncio


def full_packet(payload: bytes, seq: int = 0) -> bytes:
    body = struct.pack("<ii", len(payload) + 12, seq) + payload
    return body + struct.pack("<I", crc32(body))


async def raw(mtproto):
    return await asyncio.open_connection(mtproto.host, mtproto.port)


async def read_all(reader: asyncio.StreamReader) -> bytes:
    return await asyncio.wait_for(reader.read(), 10)  # until the server closes


@pytest.fixture
async def bystander(mtproto):
    client = mtproto.client(await mtproto.aio.string_session())
    await client.connect()
    try:
        yield client
    finally:
        await client.disconnect()


async def test_garbage_bytes_close_the_connection(mtproto, bystander):
    reader, writer = await raw(mtproto)
    writer.write(b"GARBAGE!" * 8)
    assert await read_all(reader) == b""  # closed without an answer
    writer.close()
    notes = await mtproto.plane.aio.journal(fake="mtproto", kind="note", method="close")
    assert "invalid packet length" in notes[-1]["data"]["reason"] or "exceeds" in notes[-1]["data"]["reason"]
    assert (await bystander.get_me()).id


async def test_bad_crc_closes_the_connection(mtproto, bystander):
    reader, writer = await raw(mtproto)
    packet = bytearray(full_packet(b"\x00" * 8 + struct.pack("<qi", 4, 0)))
    packet[-1] ^= 0xFF
    writer.write(bytes(packet))
    assert await read_all(reader) == b""
    writer.close()
    notes = await mtproto.plane.aio.journal(fake="mtproto", kind="note", method="close")
    assert notes[-1]["data"]["reason"] == "transport: packet CRC32 mismatch"
    assert (await bystander.get_me()).id


async def test_truncated_packet_is_journaled_and_closed(mtproto, bystander):
    reader, writer = await raw(mtproto)
    writer.write(full_packet(os.urandom(96))[:40])  # declares 108 bytes, sends 40
    writer.write_eof()
    assert await read_all(reader) == b""
    writer.close()
    bad = await mtproto.plane.aio.wait(fake="mtproto", kind="note", count=1, timeout=10)
    assert any("truncated packet: 40 bytes" in str(e["data"]) for e in
               await mtproto.plane.aio.journal(fake="mtproto", kind="note")), bad
    assert (await bystander.get_me()).id


async def test_unknown_auth_key_gets_transport_error_404(mtproto, bystander):
    reader, writer = await raw(mtproto)
    writer.write(full_packet(struct.pack("<Q", 0x1234567890ABCDEF) + os.urandom(16 + 48)))
    answer = await read_all(reader)
    writer.close()
    assert answer == full_packet(struct.pack("<i", -404))  # then the server closed
    assert (await bystander.get_me()).id


async def test_unknown_auth_key_is_auth_key_not_found_in_telethon(mtproto, bystander):
    session = StringSession()
    session.set_dc(mtproto.dc_id, mtproto.host, mtproto.port)
    from telethon.crypto import AuthKey
    session.auth_key = AuthKey(b"\x01" + os.urandom(255))  # a key the fake never saw
    client = TelegramClient(session, mtproto.api_id, mtproto.api_hash)
    try:
        with pytest.raises(errors.AuthKeyNotFound):
            await client.connect()
        with pytest.raises(errors.AuthKeyNotFound):
            await client.disconnected  # the same error ends the client's connection
    finally:
        await client.disconnect()
    assert (await bystander.get_me()).id


async def test_wrong_msg_key_gets_transport_error_404(mtproto, bystander):
    minted = await mtproto.aio.mint_session()
    key = StringSession(minted["session"]).auth_key.key
    assert str(auth_key_id(key)) == minted["key_id"]
    plaintext = struct.pack("<qqqii", 0, 1, 0, 1, 4) + b"\x00" * 4
    packet = bytearray(encrypt_client_message(key, plaintext))
    packet[8] ^= 0x01  # corrupt the msg_key
    reader, writer = await raw(mtproto)
    writer.write(full_packet(bytes(packet)))
    answer = await read_all(reader)
    writer.close()
    assert answer == full_packet(struct.pack("<i", -404))
    assert (await bystander.get_me()).id


async def test_abridged_and_intermediate_transports_serve_telethon(mtproto):
    from telethon.network import ConnectionTcpAbridged, ConnectionTcpIntermediate

    session = await mtproto.aio.string_session()
    for connection in (ConnectionTcpAbridged, ConnectionTcpIntermediate):
        client = TelegramClient(StringSession(session), mtproto.api_id, mtproto.api_hash,
                                connection=connection)
        await client.connect()
        try:
            assert len([m async for m in client.iter_messages("defi_daily", limit=150)]) == 40
        finally:
            await client.disconnect()
    # the server journals a disconnect when it reads the client's EOF, after disconnect() returns
    closed = await mtproto.plane.aio.wait(fake="mtproto", kind="disconnect", count=2, timeout=10)
    modes = {e["data"].get("transport") for e in closed}
    assert {"abridged", "intermediate"} <= modes


async def test_transport_error_fault_rule(mtproto, bystander):
    """A fault rule {"transport_error": 429} answers with the 4-byte -429 packet and closes."""
    from telethon.tl.functions import ReqPqMultiRequest

    await mtproto.plane.aio.add_fault(fake="mtproto", method="req_pq_multi", action="error",
                                      error={"transport_error": 429}, times=1)
    body = bytes(ReqPqMultiRequest(nonce=1))
    reader, writer = await raw(mtproto)
    writer.write(full_packet(struct.pack("<qqi", 0, 4 << 32, len(body)) + body))
    assert await read_all(reader) == full_packet(struct.pack("<i", -429))
    writer.close()
    assert (await bystander.get_me()).id
