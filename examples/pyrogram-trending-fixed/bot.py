"""The same Pyrogram (Kurigram) trending service with seed 000's fix: one client, started once
behind a lock, shared by every request, so the auth key is only ever used on one connection.

    GET /trending-channels | /trending-coins | /trending-topics    GET /health
Environment: PYROGRAM_SESSION (a Pyrogram session string), TELEGRAM_API_ID, TELEGRAM_API_HASH,
TRENDING_CHANNELS (comma-separated usernames), PORT.
"""

from __future__ import annotations

import asyncio
import logging
import os

from aiohttp import web
from pyrogram import Client

from trending import trending

SESSION = os.environ["PYROGRAM_SESSION"]
API_ID = int(os.environ["TELEGRAM_API_ID"])
API_HASH = os.environ["TELEGRAM_API_HASH"]
CHANNELS = [c for c in os.environ.get("TRENDING_CHANNELS", "crypto_signals").split(",") if c]
PORT = int(os.environ.get("PORT", "8080"))
log = logging.getLogger("trending")


class TelegramConnection:
    """One client, connected by whoever comes first; the others wait for that same start."""

    def __init__(self) -> None:
        self.client: Client | None = None
        self.lock = asyncio.Lock()

    async def get(self) -> Client:
        async with self.lock:
            if self.client is None:
                client = Client("trending", session_string=SESSION, in_memory=True,
                                api_id=API_ID, api_hash=API_HASH, no_updates=True)
                try:
                    await client.start()
                except Exception as exc:
                    log.error("Telegram connection error: %s", exc)
                    raise
                self.client = client
                print("Telegram client connected", flush=True)
        return self.client

    async def close(self, _app: web.Application) -> None:
        if self.client is not None:
            await self.client.stop()


telegram = TelegramConnection()


async def endpoint(request: web.Request) -> web.Response:
    try:
        client = await telegram.get()
        posts = [(channel, message.text or "") for channel in CHANNELS
                 async for message in client.get_chat_history(channel, limit=50)]
    except Exception as exc:
        return web.json_response({"error": str(exc)}, status=500)
    return web.json_response(trending(request.match_info["kind"], posts))


async def health(_request: web.Request) -> web.Response:
    return web.Response(text="ok")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app = web.Application()
    app.add_routes([web.get("/trending-{kind:channels|coins|topics}", endpoint), web.get("/health", health)])
    app.on_cleanup.append(telegram.close)
    web.run_app(app, host="127.0.0.1", port=PORT, print=lambda *_: print(f"trending service listening on {PORT}", flush=True))


if __name__ == "__main__":
    main()
