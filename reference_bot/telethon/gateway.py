"""The bot's only Telethon client (seeds 000 and 002).

- One `TelegramClient` per process, created once. A second client on the same auth key is what
  Telegram punishes with `406 AUTH_KEY_DUPLICATED` (seed 000), and a second client on the same
  `.session` file is what SQLite punishes with `database is locked` (seed 002): Telethon keeps a
  write transaction open on that file between its saves.
- Connecting is single-flight (single_flight.py): concurrent first requests share one attempt.
- Every Telethon call runs under one `asyncio.Lock`, so at most one request is in flight on the
  client at a time and nothing else touches its session meanwhile (seed 002's rule). It costs
  throughput; the trending service's cache makes that cheap.
- When TELETHON_SESSION is a file, an exclusive `flock` on `<file>.lock` keeps a second *process*
  (a second worker, a local run next to the server) from opening it, with a message saying so.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any, Awaitable, Callable, TypeVar

from telethon import TelegramClient
from telethon.sessions import SQLiteSession, StringSession

from .sessionfile import SessionInUse, is_session_path, lock_session_file, session_file
from .single_flight import SingleFlight

__all__ = ["SessionInUse", "TelethonGateway", "is_session_path", "make_session", "simplify"]

log = logging.getLogger(__name__)

T = TypeVar("T")


def make_session(value: str):
    if is_session_path(value):
        return SQLiteSession(value)  # Telethon appends ".session" when missing
    return StringSession(value)


def simplify(message: Any, channel: str) -> dict:
    """The fields the trending service needs, as plain data (no Telethon objects leave here)."""
    date = getattr(message, "date", None)
    return {
        "channel": channel,
        "id": getattr(message, "id", None),
        "date": date.timestamp() if date is not None else None,
        "text": getattr(message, "message", None) or "",
        "views": getattr(message, "views", None) or 0,
        "forwards": getattr(message, "forwards", None) or 0,
    }


class TelethonGateway:
    """`await gateway.history(channel, limit)`; `await gateway.close()`."""

    def __init__(self, session: str, api_id: int, api_hash: str, *, client_factory=TelegramClient):
        self._session_lock_fd: int | None = None
        if is_session_path(session):
            self._session_lock_fd = lock_session_file(session_file(session))
        # Default options, as most bots run Telethon (updates on: requests are sent unwrapped,
        # so a journal shows messages.getHistory rather than invokeWithoutUpdates).
        self.client = client_factory(make_session(session), api_id, api_hash)
        self._connect = SingleFlight(self._open, is_alive=lambda c: bool(c.is_connected()))
        self._lock = asyncio.Lock()

    async def _open(self) -> TelegramClient:
        log.info("telethon: connecting")
        await self.client.connect()
        log.info("telethon: connected")
        return self.client

    async def run(self, call: Callable[[TelegramClient], Awaitable[T]]) -> T:
        """Run one Telethon call: connected once, and never two calls at a time."""
        client = await self._connect.get()
        async with self._lock:
            return await call(client)

    async def history(self, channel: str, limit: int = 100) -> list[dict]:
        messages = await self.run(lambda c: c.get_messages(channel, limit=limit))
        return [simplify(m, channel) for m in messages]

    async def close(self) -> None:
        await self._connect.cancel()
        async with self._lock:
            try:
                await self.client.disconnect()
            except Exception as exc:  # already broken: nothing left to release but the file
                log.debug("telethon disconnect: %s", exc)
        if self._session_lock_fd is not None:
            os.close(self._session_lock_fd)
            self._session_lock_fd = None
