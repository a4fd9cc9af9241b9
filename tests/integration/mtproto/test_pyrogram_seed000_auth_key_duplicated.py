"""Seed 000 in Pyrogram: examples/pyrogram-trending-{buggy,fixed}.

The buggy service starts a Kurigram client per HTTP request on one session string. A gate on
invokeWithLayer (every connection's first call) holds the three handshakes until all three
connections are in, so they overlap on every run, and Kurigram raises its own 406:
`Telegram says: [406 AUTH_KEY_DUPLICATED] ... (caused by "InvokeWithLayer")`. The fixed service
(one client, started once behind a lock) answers the same burst held together on one connection.
"""

from __future__ import annotations

import asyncio
import sys

import pytest

from . import trending_service
from .gramjs_support import EXAMPLES
from .pyrogram_support import needs_kurigram, python_env
from .trending_service import burst

pytestmark = [pytest.mark.asyncio, pytest.mark.slow, needs_kurigram]


async def start_service(mtproto, name: str):
    return await trending_service.start_service(
        mtproto, name, [sys.executable, "bot.py"], EXAMPLES / name, session_format="pyrogram",
        session_variable="PYROGRAM_SESSION", env=python_env(mtproto))


async def test_a_client_per_request_gets_pyrogram_own_auth_key_duplicated(mtproto):
    bot, port = await start_service(mtproto, "pyrogram-trending-buggy")
    try:
        await mtproto.plane.aio.add_gate(fake="mtproto", method="invokeWithLayer", count=3)
        results = await burst(port)
        await asyncio.to_thread(bot.stop)
    finally:
        bot.kill()
    assert [status for status, _ in results] == [500, 500, 500], results
    for _status, body in results:
        assert body["error"].startswith("Telegram says: [406 AUTH_KEY_DUPLICATED]"), body
        assert '(caused by "InvokeWithLayer")' in body["error"], body
    assert bot.output().count("Telegram connection error: Telegram says: [406 AUTH_KEY_DUPLICATED]") == 3
    refused = await mtproto.plane.aio.journal(fake="mtproto", kind="response", code=406)
    assert [e["method"] for e in refused] == ["invokeWithLayer"] * 3


async def test_one_client_behind_a_lock_passes(mtproto):
    bot, port = await start_service(mtproto, "pyrogram-trending-fixed")
    try:
        await mtproto.plane.aio.add_gate(fake="mtproto", method="messages.getHistory", count=3)
        results = await burst(port)
        await asyncio.to_thread(bot.stop)
    finally:
        bot.kill()
    assert [status for status, _ in results] == [200, 200, 200], results
    assert {c["name"] for c in results[0][1]} == {"crypto_signals", "defi_daily", "altcoin_radar"}
    assert await mtproto.plane.aio.journal(fake="mtproto", kind="response", code=406) == []
    assert len(await mtproto.plane.aio.journal(fake="mtproto", kind="connect")) == 1
