"""The same FastAPI + Telethon relay with seed 002's fix.

- One process: `uvicorn relay:app` with a single worker (never `--workers N` or `--reload` on one
  session file), so one `TelegramClient` owns the `.session` file.
- The client connects once, at startup, before the first request is served: a cold-start burst
  finds it connected instead of racing to connect.
- Every Telethon call goes through one global `asyncio.Lock`: no two Telethon actions run at
  once, so the session's SQLite file is never written from two places.
"""

import asyncio
import logging
import os
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from telethon import TelegramClient

API_ID = int(os.environ["API_ID"])
API_HASH = os.environ["API_HASH"]
SESSION_FILE = os.environ.get("SESSION_FILE", "relay.session")
RELAY_CHANNELS = [c for c in os.environ.get("RELAY_CHANNELS", "crypto_signals,defi_daily").split(",") if c]

logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s %(message)s", level=logging.INFO)
log = logging.getLogger("relay")

# Never run concurrent Telethon actions: every call below holds this lock.
telethon_lock = asyncio.Lock()
client = TelegramClient(SESSION_FILE, API_ID, API_HASH)


@asynccontextmanager
async def lifespan(app: FastAPI):
    async with telethon_lock:
        await client.connect()
    log.info("Telegram client connected")
    yield
    async with telethon_lock:
        await client.disconnect()


app = FastAPI(lifespan=lifespan)


@app.get("/health")
async def health():
    return {"status": "ok"}


@app.get("/relay/latest")
async def latest():
    """The latest post of each relayed channel."""
    try:
        posts = {}
        async with telethon_lock:
            if not client.is_connected():
                await client.connect()
            for channel in RELAY_CHANNELS:
                messages = await client.get_messages(channel, limit=1)
                posts[channel] = messages[0].message if messages else None
        return {"posts": posts}
    except Exception as exc:
        log.error("/relay/latest failed: %s: %s", type(exc).__name__, exc)
        return JSONResponse({"error": f"{type(exc).__name__}: {exc}"}, status_code=500)
