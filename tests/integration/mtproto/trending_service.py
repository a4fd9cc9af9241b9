"""The example trending services (GramJS and Pyrogram) as the seed-000 tests drive them.

A service is started with a freshly minted session in its client's format, waited on until it
serves /health, then hit with one request per trending endpoint at once (the burst a gate holds).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from botfakes.testing.ports import free_port
from botfakes.testing.process import BotProcess, ReadyHttp

from .gramjs_support import BOUND
ENDPOINTS = ("/trending-channels", "/trending-coins", "/trending-topics")
CHANNELS = "crypto_signals,defi_daily,altcoin_radar"


async def start_service(mtproto, name: str, command: list[str], folder: Path, *,
                        session_format: str, session_variable: str,
                        env: dict[str, str]) -> tuple[BotProcess, int]:
    """Start one example service on a free port with a session minted in `session_format`."""
    port = free_port()
    session = (await mtproto.aio.mint_session(format=session_format))["session"]
    env = {**env, session_variable: session, "TELEGRAM_API_ID": str(mtproto.api_id),
           "TELEGRAM_API_HASH": mtproto.api_hash, "PORT": str(port), "TRENDING_CHANNELS": CHANNELS}
    bot = BotProcess(name, command, env, cwd=folder)
    bot.start()
    await asyncio.to_thread(bot.wait_ready, ReadyHttp("/health", port=port), BOUND)
    return bot, port


async def burst(port: int) -> list[tuple[int, object]]:
    """GET every trending endpoint at once; (status, JSON body) per endpoint, in order."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=BOUND)) as http:
        async def get(path: str):
            async with http.get(f"http://127.0.0.1:{port}{path}") as response:
                return response.status, await response.json()
        return await asyncio.gather(*(get(p) for p in ENDPOINTS))
