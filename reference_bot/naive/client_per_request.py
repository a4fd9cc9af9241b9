"""Seed 000, before the fix: a Telethon client opened per request, with no connect lock.

Every history read builds its own `TelegramClient` on the same session (so the same auth key),
connects, reads, disconnects. Three `/trending-*` requests on a cold cache are three connections
at once on one auth key, which Telegram answers with `406 AUTH_KEY_DUPLICATED` (Telethon:
`AuthKeyDuplicatedError`, "(caused by InvokeWithLayerRequest)" when it happens in connect()).
"""

from __future__ import annotations

from dataclasses import replace

from telethon import TelegramClient

from ..telethon.gateway import make_session, simplify


class ClientPerRequest:
    def __init__(self, session: str, api_id: int, api_hash: str):
        self.session, self.api_id, self.api_hash = session, api_id, api_hash

    async def history(self, channel: str, limit: int = 100) -> list[dict]:
        client = TelegramClient(make_session(self.session), self.api_id, self.api_hash)
        await client.connect()  # the bug: one more connection with the same auth key
        try:
            messages = await client.get_messages(channel, limit=limit)
        finally:
            await client.disconnect()
        return [simplify(m, channel) for m in messages]

    async def close(self) -> None:
        pass


def variant(reference):
    return replace(
        reference,
        make_history_source=lambda c: ClientPerRequest(c.telethon_session, c.telegram_api_id, c.telegram_api_hash),
    )
