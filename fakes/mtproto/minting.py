"""Sessions that hold a key the fake knows, in each client's own format.

A bot then needs no code change: it is handed a session the way it already loads one.

  format         what                                                   built with
  telethon       Telethon StringSession string (dc, ip, port, key)      Telethon's StringSession
  telethon-file  Telethon .session SQLite file                          Telethon's SQLiteSession
  gramjs         GramJS StringSession string (dc, address, port, key)   the layout of GramJS's
                 "1" + base64(dc:1 | len:int16 | address | port:int16 | key:256), big-endian
  pyrogram       Pyrogram/Kurigram session string                       the layout of Kurigram's
                 urlsafe base64 of >BI?256sQ? (dc, api_id, test_mode,    Storage.export_session_string
                 key, user_id, is_bot); it has no address: the client dials DC 2's, which
                 `pyrogram_preload` sends to the fake
  pyrogram-file  Pyrogram/Kurigram .session SQLite file (with address    Kurigram's SQLiteStorage
                 and port, so no redirect is needed)
GramJS reads the port as a *signed* 16-bit integer: a port above 32767 cannot be expressed, so
the fake picks its own port at most 32767 (transport.py) and refuses to mint otherwise.
"""

from __future__ import annotations

import asyncio
import base64
import struct
from pathlib import Path

from telethon.crypto import AuthKey
from telethon.sessions import SQLiteSession, StringSession

FORMATS = {
    "telethon": "Telethon StringSession string",
    "telethon-file": "Telethon .session SQLite file (needs path)",
    "gramjs": "GramJS (npm telegram) StringSession string",
    "pyrogram": "Pyrogram/Kurigram session string (the client dials DC 2: use the Pyrogram preload)",
    "pyrogram-file": "Pyrogram/Kurigram .session SQLite file (needs path)",
}
FILE_FORMATS = {"telethon-file", "pyrogram-file"}
GRAMJS_MAX_PORT = 32767
# Any api_id/api_hash works with the fake; these are what fixtures and harness clients send
# (Pyrogram sessions carry the api_id).
API_ID = 12345
API_HASH = "0123456789abcdef0123456789abcdef"


class MintError(ValueError):
    """A session that cannot be written in the asked format (the control API answers 400)."""


def session_string(dc_id: int, host: str, port: int, key: bytes) -> str:
    session = StringSession()
    session.set_dc(dc_id, host, port)
    session.auth_key = AuthKey(key)
    return session.save()


def write_session_file(path: str, dc_id: int, host: str, port: int, key: bytes) -> str:
    """Write (or overwrite the key in) a Telethon .session file; returns the file's path.

    Blocking sqlite: call it off the event loop. Telethon appends ".session" when missing.
    """
    session = SQLiteSession(path)
    try:
        session.set_dc(dc_id, host, port)
        session.auth_key = AuthKey(key)
        session.save()
    finally:
        session.close()
    return session.filename


def gramjs_session_string(dc_id: int, host: str, port: int, key: bytes) -> str:
    if not 0 < port <= GRAMJS_MAX_PORT:
        raise MintError(f"port {port} does not fit a GramJS StringSession (it reads the port as a "
                        f"signed 16-bit integer: at most {GRAMJS_MAX_PORT})")
    address = host.encode()
    body = struct.pack(">Bh", dc_id, len(address)) + address + struct.pack(">h", port) + key
    return "1" + base64.b64encode(body).decode()


def pyrogram_session_string(dc_id: int, api_id: int, key: bytes, user_id: int, is_bot: bool) -> str:
    packed = struct.pack(">BI?256sQ?", dc_id, api_id, False, key, user_id, is_bot)
    return base64.urlsafe_b64encode(packed).decode().rstrip("=")


def write_pyrogram_session_file(path: str, dc_id: int, host: str, port: int, key: bytes,
                                api_id: int, user_id: int, is_bot: bool) -> str:
    """A Kurigram .session file written by Kurigram's own SQLiteStorage; returns its path.

    Blocking sqlite (Kurigram's storage API is async but runs sqlite inline): call it off the
    fake's event loop. Kurigram names the file <name>.session in a work dir."""
    try:
        from pyrogram.storage import SQLiteStorage
    except ImportError:
        raise MintError("the pyrogram-file format needs Kurigram installed where the fake runs "
                        "(pip install kurigram)") from None
    target = Path(path)
    name = target.name[:-len(".session")] if target.name.endswith(".session") else target.name
    target.parent.mkdir(parents=True, exist_ok=True)

    async def write() -> str:
        storage = SQLiteStorage(name, workdir=target.parent)
        await storage.open()
        try:
            await storage.dc_id(dc_id)
            await storage.server_address(host)
            await storage.port(port)
            await storage.api_id(api_id)
            await storage.test_mode(False)
            await storage.auth_key(key)
            await storage.user_id(user_id)
            await storage.is_bot(is_bot)
            await storage.save()
        finally:
            await storage.close()
        return str(storage.database)

    return asyncio.run(write())
