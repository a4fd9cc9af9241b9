"""A reset closes every MTProto connection and leaves a clean journal; drop/close rules journal
the rule's outcome like every fake."""

from __future__ import annotations

import asyncio

import pytest

pytestmark = pytest.mark.asyncio

BOUND = 10.0  # bounds a broken run


async def test_reset_closes_connections_and_leaves_a_clean_journal(mtproto):
    plane = mtproto.plane.aio
    reader, writer = await asyncio.open_connection(mtproto.host, mtproto.port)
    [connect] = await plane.wait(fake="mtproto", kind="connect", timeout=BOUND)
    old = connect["conn"]
    await plane.reset()
    # the reset awaited the old connection's end: it is closed, and nothing of it is journaled
    assert await asyncio.wait_for(reader.read(), BOUND) == b""
    writer.close()
    assert await plane.journal(fake="mtproto") == []
    # a connection of the new world comes and goes; still nothing of the old one
    reader2, writer2 = await asyncio.open_connection(mtproto.host, mtproto.port)
    [fresh] = await plane.wait(fake="mtproto", kind="connect", timeout=BOUND)
    writer2.close()
    await plane.wait(fake="mtproto", kind="disconnect", conn=fresh["conn"], timeout=BOUND)
    assert [e for e in await plane.journal(fake="mtproto") if e["conn"] == old] == []
    assert (await mtproto.aio.connections()) == []


async def test_reset_keeps_serving_and_new_keys_differ(mtproto):
    first = await mtproto.aio.string_session()
    await mtproto.plane.aio.reset()
    second = await mtproto.aio.string_session()
    assert first != second  # a key of the old world never reappears in the new one
    client = mtproto.client(second)
    await client.connect()
    try:
        assert (await client.get_me()).id
    finally:
        await client.disconnect()


async def test_drop_journals_the_rule_outcome_and_keeps_the_connection(mtproto):
    from telethon.tl import functions as F

    plane = mtproto.plane.aio
    client = mtproto.client(await mtproto.aio.string_session())
    await client.connect()
    try:
        drop = await plane.add_fault(fake="mtproto", method="updates.getState", action="drop",
                                     times=1)
        task = asyncio.ensure_future(client(F.updates.GetStateRequest()))
        [dropped] = await plane.wait(fake="mtproto", kind="response", code="drop",
                                     timeout=BOUND)
        assert dropped["outcome"] == {"ok": False, "code": "drop", "text": f"fault rule {drop['id']}"}
        assert await mtproto.aio.connections()  # the connection stays open
        task.cancel()
    finally:
        await client.disconnect()
