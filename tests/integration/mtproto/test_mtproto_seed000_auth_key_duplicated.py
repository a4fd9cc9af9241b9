"""Seed 000: concurrent requests that each open their own Telethon client on one session.

Production saw `RPCError: 406: AUTH_KEY_DUPLICATED (caused by InvokeWithLayer)` when
/trending-channels, /trending-coins and /trending-topics arrived together and each connected a
client with the same session. A gate on invokeWithLayer (the first call of every connection)
holds the handshakes until all three connections are in it, so they overlap on every run.
"""

from __future__ import annotations

import asyncio

import pytest
from telethon import errors

pytestmark = pytest.mark.asyncio

ENDPOINT_CHANNELS = ("crypto_signals", "defi_daily", "altcoin_radar")


async def _naive_endpoint(mtproto, session: str, channel: str):
    """The bug: every request handler creates and connects its own client."""
    client = mtproto.client(session)
    try:
        await client.connect()
        return [m.text async for m in client.iter_messages(channel, limit=5)]
    except errors.AuthKeyDuplicatedError as exc:
        return exc
    finally:
        await client.disconnect()


async def test_parallel_clients_on_one_session_get_auth_key_duplicated(mtproto):
    session = await mtproto.aio.string_session()
    await mtproto.plane.aio.add_gate(fake="mtproto", method="invokeWithLayer", count=3)

    results = await asyncio.gather(*(_naive_endpoint(mtproto, session, c) for c in ENDPOINT_CHANNELS))

    assert all(isinstance(r, errors.AuthKeyDuplicatedError) for r in results), results
    assert "InvokeWithLayer" in str(results[0])  # "... (caused by InvokeWithLayerRequest)"
    refused = await mtproto.plane.aio.journal(fake="mtproto", kind="response", code=406)
    assert [e["method"] for e in refused] == ["invokeWithLayer"] * 3
    assert len({e["conn"] for e in refused}) == 3
    # the authorization is gone (Telegram: sign in again) until the control API revives it
    keys = await mtproto.aio.keys()
    assert [k["invalidated"] for k in keys if k["minted"]] == [True]
    late = await _naive_endpoint(mtproto, session, "crypto_signals")
    assert isinstance(late, errors.AuthKeyDuplicatedError)
    assert await mtproto.aio.revive() == 1
    assert len(await _naive_endpoint(mtproto, session, "crypto_signals")) == 5


async def test_one_shared_client_behind_a_connect_lock_does_not(mtproto):
    session = await mtproto.aio.string_session()
    # The three endpoint calls still overlap, now on the one connection: held until all 3 arrive.
    await mtproto.plane.aio.add_gate(fake="mtproto", method="messages.getHistory", count=3)
    connect_lock = asyncio.Lock()
    shared = []

    async def get_client():
        async with connect_lock:  # the fix from seed 000: single-flight connect, reuse after
            if not shared:
                client = mtproto.client(session)
                await client.connect()
                shared.append(client)
        return shared[0]

    async def fixed_endpoint(channel: str):
        client = await get_client()
        return [m.text async for m in client.iter_messages(channel, limit=5)]

    try:
        results = await asyncio.gather(*(fixed_endpoint(c) for c in ENDPOINT_CHANNELS))
    finally:
        for client in shared:
            await client.disconnect()
    assert [len(r) for r in results] == [5, 5, 5]
    assert await mtproto.plane.aio.journal(fake="mtproto", kind="response", code=406) == []
    connects = await mtproto.plane.aio.journal(fake="mtproto", kind="connect")
    assert len(connects) == 1


async def test_policy_newer_refuses_only_the_newer_connection(mtproto):
    await mtproto.aio.set_policy("newer")
    session = await mtproto.aio.string_session()
    first = mtproto.client(session)
    await first.connect()
    second = mtproto.client(session)
    try:
        with pytest.raises(errors.AuthKeyDuplicatedError):
            await second.connect()
        assert (await first.get_me()).first_name == "User"  # the older connection keeps working
    finally:
        await second.disconnect()
        await first.disconnect()
