"""A FastAPI service that relays Telegram channel posts through Telethon (seed 002, as deployed).

It runs under `uvicorn relay:app --workers 2`, each worker with its own `TelegramClient` on the
one `.session` file (SESSION_FILE). When both workers logged in at the same moment Telegram
refused the key (406 AUTH_KEY_DUPLICATED), so the workers were made to take turns connecting (a
file lock around `connect()`). They still share the file: Telethon's session file is SQLite, and
Telethon keeps a write transaction open on it after storing entities (the first worker's get_me)
until its next save, a minute later; the second worker's write waits SQLite's 5 s busy timeout
and fails with `sqlite3.OperationalError: database is locked`. And no lock keeps one worker's
requests from using its client concurrently.
"""

import fcntl
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
client = TelegramClient(SESSION_FILE, API_ID, API_HASH)


@asynccontextmanager
async def lifespan(app: FastAPI):
    try:
        # Workers take turns logging in (blocking: this worker serves nothing until it is done).
        with open(f"{SESSION_FILE}.startup-lock", "w") as turn:
            fcntl.flock(turn, fcntl.LOCK_EX)
            await client.connect()
        log.info("worker %s: Telegram client connected", os.getpid())
    except Exception as exc:  # keep serving; requests report the failure
        log.error("worker %s: Telegram connect failed: %s: %s", os.getpid(), type(exc).__name__, exc)
    yield
    await client.disconnect()


app = FastAPI(lifespan=lifespan)


@app.get("/health")
async def health():
    return {"status": "ok", "worker": os.getpid()}


@app.get("/relay/latest")
async def latest():
    """The latest post of each relayed channel."""
    try:
        if not client.is_connected():
            await client.connect()
        posts = {}
        for channel in RELAY_CHANNELS:
            messages = await client.get_messages(channel, limit=1)
            posts[channel] = messages[0].message if messages else None
        return {"posts": posts}
    except Exception as exc:
        log.error("worker %s: /relay/latest failed: %s: %s", os.getpid(), type(exc).__name__, exc)
        return JSONResponse({"error": f"{type(exc).__name__}: {exc}"}, status_code=500)
