"""Seed 002, before the fix: two clients ("workers") on one `.session` file, no serialization.

Like two uvicorn workers of one service, two long-lived `TelegramClient`s open the same SQLite
session file and take requests in turn, concurrently. Telethon keeps a write transaction open on
the file after storing entities until its next save, so the second client's writes (its
`session.auth_key = ...` in connect, its own entities) wait SQLite's 5 s busy timeout and fail with
`sqlite3.OperationalError: database is locked`; and two connections on one auth key draw
`AUTH_KEY_DUPLICATED` from Telegram.

A `StringSession` in TELETHON_SESSION is first written to `DATA_DIR/shared.session`, as people do
when they move to file sessions, so the variant always runs on a file.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from telethon import TelegramClient
from telethon.sessions import SQLiteSession, StringSession

from ..telethon.gateway import is_session_path, simplify
from ..telethon.trending import read_round

WORKERS = 2


def session_path(config) -> str:
    if is_session_path(config.telethon_session):
        return config.telethon_session
    string = StringSession(config.telethon_session)
    path = Path(config.data_dir) / "shared.session"
    path.parent.mkdir(parents=True, exist_ok=True)
    file = SQLiteSession(str(path))
    file.set_dc(string.dc_id, string.server_address, string.port)
    file.auth_key = string.auth_key
    file.save()
    file.close()
    return str(path)


class WorkersOnOneFile:
    def __init__(self, path: str, api_id: int, api_hash: str):
        # The bug: WORKERS clients on one file, each used without any lock.
        self.clients = [TelegramClient(path, api_id, api_hash) for _ in range(WORKERS)]

    async def history(self, channel: str, limit: int = 100) -> list[dict]:
        # Requests take turns between the workers (one request stays on its worker).
        client = self.clients[read_round.get() % WORKERS]
        if not client.is_connected():
            await client.connect()
        messages = await client.get_messages(channel, limit=limit)
        return [simplify(m, channel) for m in messages]

    async def close(self) -> None:
        for client in self.clients:
            try:
                await client.disconnect()
            except Exception:
                pass


def variant(reference):
    return replace(
        reference,
        make_history_source=lambda c: WorkersOnOneFile(session_path(c), c.telegram_api_id, c.telegram_api_hash),
    )
