"""Sessions minted for each client: the formats the control API lists, what each holds, bad bodies."""

from __future__ import annotations

import base64
import sqlite3
import struct

import pytest
from telethon.sessions import StringSession

from botfakes.fakes.control.client import ControlError
from botfakes.fakes.mtproto.minting import FORMATS, MintError, gramjs_session_string

pytestmark = pytest.mark.asyncio


async def test_the_ready_file_and_the_sessions_route_list_the_formats_and_layers(mtproto, botfakes):
    info = botfakes.info()["fakes"]["mtproto"]
    assert info["session_formats"] == ["telethon", "telethon-file", "gramjs", "pyrogram", "pyrogram-file"]
    assert info["layers"] == [198, 229]
    assert info["port"] <= 32767  # picked by the fake: GramJS reads the port as a signed int16
    listed = await mtproto.aio.session_formats()
    assert listed["formats"] == FORMATS and listed["file_formats"] == ["pyrogram-file", "telethon-file"]


async def test_each_format_holds_the_same_fake_and_a_key_it_knows(mtproto, tmp_path):
    key_of = {}
    telethon = await mtproto.aio.mint_session(format="telethon")
    key_of["telethon"] = StringSession(telethon["session"]).auth_key.key

    gramjs = await mtproto.aio.mint_session(format="gramjs")
    raw = base64.b64decode(gramjs["session"][1:])
    dc_id, length = struct.unpack_from(">Bh", raw)
    address = raw[3:3 + length].decode()
    (port,) = struct.unpack_from(">h", raw, 3 + length)
    assert (dc_id, address, port) == (2, mtproto.host, mtproto.port)
    key_of["gramjs"] = raw[5 + length:]

    pyrogram = await mtproto.aio.mint_session(format="pyrogram")
    text = pyrogram["session"]
    dc_id, api_id, test_mode, key, user_id, is_bot = struct.unpack(
        ">BI?256sQ?", base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    assert (dc_id, api_id, test_mode, user_id, is_bot) == (2, 12345, False, pyrogram["user"]["id"], False)
    key_of["pyrogram"] = key

    path = str(tmp_path / "kurigram.session")
    pyrogram_file = await mtproto.aio.mint_session(format="pyrogram-file", path=path, bot=True)
    with sqlite3.connect(pyrogram_file["path"]) as db:
        row = db.execute("SELECT dc_id, server_address, port, auth_key, user_id, is_bot FROM sessions").fetchone()
    assert row[:3] == (2, mtproto.host, mtproto.port) and row[4:] == (pyrogram_file["user"]["id"], 1)
    key_of["pyrogram-file"] = row[3]

    telethon_file = await mtproto.aio.mint_session(format="telethon-file", path=str(tmp_path / "t"))
    assert telethon_file["session"] == telethon_file["path"] == str(tmp_path / "t.session")

    known = {k["key_id"] for k in await mtproto.aio.keys()}
    assert len(known) == 5 and len(set(key_of.values())) == 4  # one fresh key per mint


async def test_bad_session_bodies_are_400s_naming_the_field(mtproto):
    with pytest.raises(ControlError, match="path: required for format pyrogram-file"):
        await mtproto.aio.mint_session(format="pyrogram-file")
    with pytest.raises(ControlError, match="format must be one of telethon, telethon-file, gramjs"):
        await mtproto.aio.mint_session(format="tdlib")
    with pytest.raises(ControlError, match="api_id"):
        await mtproto.aio.mint_session(format="pyrogram", api_id=0)


async def test_a_port_gramjs_cannot_hold_is_refused():
    with pytest.raises(MintError, match="port 40000 does not fit a GramJS StringSession"):
        gramjs_session_string(2, "127.0.0.1", 40000, bytes(256))


async def test_the_fixtures_mint_each_client_format(mtproto_gramjs_session, mtproto_pyrogram_session,
                                                     mtproto_pyrogram_session_file, mtproto):
    assert mtproto_gramjs_session.startswith("1") and len(base64.b64decode(mtproto_gramjs_session[1:])) == \
        5 + len(mtproto.host) + 256
    assert len(base64.urlsafe_b64decode(mtproto_pyrogram_session + "==")) == 271
    with sqlite3.connect(mtproto_pyrogram_session_file) as db:
        assert db.execute("SELECT port FROM sessions").fetchone() == (mtproto.port,)
