"""Seed 000 in GramJS, the bot's own language: examples/gramjs-trending-{buggy,fixed}.

The buggy service creates and connects a GramJS client per HTTP request on one session. A gate on
invokeWithLayer (every connection's first call) holds the three handshakes until all three
connections are in, so they overlap on every run, and GramJS itself raises the production error:
`RPCError: 406: AUTH_KEY_DUPLICATED (caused by InvokeWithLayer)`. The fixed service (one in-flight
connect promise, one shared client) gets the same three requests held together on its one
connection and answers all three.
"""

from __future__ import annotations

import asyncio
import shutil

import pytest

from . import trending_service
from .gramjs_support import EXAMPLES, node_env
from .trending_service import burst

pytestmark = [pytest.mark.asyncio, pytest.mark.slow]
PRODUCTION_ERROR = "RPCError: 406: AUTH_KEY_DUPLICATED (caused by InvokeWithLayer)"


def example(name: str):
    folder = EXAMPLES / name
    if shutil.which("node") is None or not (folder / "node_modules/telegram").is_dir():
        pytest.skip(f"GramJS not installed: cd examples/{name} && npm install")
    return folder


async def start_service(mtproto, name: str):
    return await trending_service.start_service(
        mtproto, name, ["node", "bot.js"], example(name), session_format="gramjs",
        session_variable="TELEGRAM_SESSION", env=node_env(mtproto))


async def test_a_client_per_request_gets_gramjs_own_auth_key_duplicated(mtproto):
    bot, port = await start_service(mtproto, "gramjs-trending-buggy")
    try:
        await mtproto.plane.aio.add_gate(fake="mtproto", method="invokeWithLayer", count=3)
        results = await burst(port)
        assert results == [(500, {"error": PRODUCTION_ERROR})] * 3
        await asyncio.to_thread(bot.stop)
    finally:
        bot.kill()
    assert bot.output().count(f"❌ Telegram connection error: {PRODUCTION_ERROR}") == 3
    refused = await mtproto.plane.aio.journal(fake="mtproto", kind="response", code=406)
    assert [e["method"] for e in refused] == ["invokeWithLayer"] * 3
    assert {e["data"]["params"]["layer"] for e in
            await mtproto.plane.aio.journal(fake="mtproto", kind="request", method="invokeWithLayer")} == {198}


async def test_one_connect_promise_and_a_shared_client_pass(mtproto):
    bot, port = await start_service(mtproto, "gramjs-trending-fixed")
    try:
        # the three requests still overlap, now on the one connection: held until all 3 arrive
        await mtproto.plane.aio.add_gate(fake="mtproto", method="messages.getHistory", count=3)
        results = await burst(port)
        await asyncio.to_thread(bot.stop)
    finally:
        bot.kill()
    assert [status for status, _ in results] == [200, 200, 200], results
    channels, coins, _topics = (body for _status, body in results)
    assert {c["name"] for c in channels} == {"crypto_signals", "defi_daily", "altcoin_radar"}
    assert coins and all(c["name"].isupper() for c in coins)  # $COINS counted from the posts
    assert await mtproto.plane.aio.journal(fake="mtproto", kind="response", code=406) == []
    assert len(await mtproto.plane.aio.journal(fake="mtproto", kind="connect")) == 1
    assert bot.output().count("✅ Telegram client connected successfully") == 1
