"""A Pyrogram (Kurigram) trending service that starts a client per HTTP request: seed 000's bug in
Python. Three requests at once open three connections with one auth key, and Telegram answers
`[406 AUTH_KEY_DUPLICATED]` (caused by "InvokeWithLayer").

    GET /trending-channels | /trending-coins | /trending-topics    GET /health
Environment: PYROGRAM_SESSION (a Pyrogram session string), TELEGRAM_API_ID, TELEGRAM_API_HASH,
TRENDING_CHANNELS (comma-separated usernames), PORT.
"""

from __future__ import annotations

import itertools
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
_names = itertools.count()


async def recent_posts() -> list[tuple[str, str]]:
    # The bug: a new client, and so a new connection with the same key, for every request.
    client = Client(f"request-{next(_names)}", session_string=SESSION, in_memory=True,
                    api_id=API_ID, api_hash=API_HASH, no_updates=True)
    try:
        async with client:
            return [(channel, message.text or "") for channel in CHANNELS
                    async for message in client.get_chat_history(channel, limit=50)]
    except Exception as exc:
        log.error("Telegram connection error: %s", exc)
        raise


async def endpoint(request: web.Request) -> web.Response:
    try:
        posts = await recent_posts()
    except Exception as exc:
        return web.json_response({"error": str(exc)}, status=500)
    return web.json_response(trending(request.match_info["kind"], posts))


async def health(_request: web.Request) -> web.Response:
    return web.Response(text="ok")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app = web.Application()
    app.add_routes([web.get("/trending-{kind:channels|coins|topics}", endpoint), web.get("/health", health)])
    web.run_app(app, host="127.0.0.1", port=PORT, print=lambda *_: print(f"trending service listening on {PORT}", flush=True))


if __name__ == "__main__":
    main()
