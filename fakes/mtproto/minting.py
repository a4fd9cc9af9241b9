"""Telethon sessions that point at the fake and hold a key it knows, built with Telethon's own classes.

A user's bot then needs no code change: `TelegramClient(StringSession(s), api_id, api_hash)` or
`TelegramClient("path/to/name.session", ...)` connects to the fake, already signed in.
"""

from __future__ import annotations

from telethon.crypto import AuthKey
from telethon.sessions import SQLiteSession, StringSession


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
