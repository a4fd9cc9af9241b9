"""Unmodified Telethon against the fake MTProto server: sessions, sign-in, history, updates, errors."""

from __future__ import annotations

import asyncio

import pytest
from telethon import errors, events
from telethon.tl import functions

pytestmark = pytest.mark.asyncio


async def test_minted_string_session_get_me_send_message_and_history(mtproto, mtproto_string_session):
    client = mtproto.client(mtproto_string_session)
    await client.connect()
    try:
        assert await client.is_user_authorized()
        me = await client.get_me()
        assert me.first_name == "User" and not me.bot and me.access_hash

        sent = await client.send_message("alice", "hello alice")
        assert sent.out and sent.id == 1 and sent.text == "hello alice"

        posts = [m async for m in client.iter_messages("crypto_signals", limit=None)]
        assert [m.id for m in posts] == list(range(40, 0, -1))  # newest first, all pages
        assert all("$" in m.text and "#" in m.text for m in posts)  # coins and topics to count
        assert posts[0].post and posts[0].chat.username == "crypto_signals"

        page = [m async for m in client.iter_messages("defi_daily", limit=5, offset_id=30)]
        assert [m.id for m in page] == [29, 28, 27, 26, 25]
    finally:
        await client.disconnect()

    # the fake saw it: the journal names calls by their TL names
    journal = await mtproto.plane.aio.journal(fake="mtproto", kind="request")
    methods = [e["method"] for e in journal]
    assert methods[0] == "invokeWithLayer" and journal[0]["data"]["params"]["query"] == "help.getConfig"
    assert "messages.sendMessage" in methods and "messages.getHistory" in methods


async def test_new_message_handler_receives_control_api_posts(mtproto, mtproto_string_session):
    client = mtproto.client(mtproto_string_session)
    received: asyncio.Queue = asyncio.Queue()
    client.add_event_handler(received.put, events.NewMessage())
    await client.connect()
    try:
        me = await client.get_me()
        posted = await mtproto.aio.post("crypto_signals", "$BTC breaks out, #ETF flows")
        assert posted["delivered"] == 1
        event = await asyncio.wait_for(received.get(), 10)
        assert event.raw_text == "$BTC breaks out, #ETF flows"
        assert event.chat.username == "crypto_signals" and event.message.id == posted["id"]

        await mtproto.aio.send_message("bob_trader", me.id, "gm from bob")
        event = await asyncio.wait_for(received.get(), 10)
        assert event.is_private and event.raw_text == "gm from bob"
        assert (await event.get_sender()).username == "bob_trader"
    finally:
        await client.disconnect()


async def test_fresh_bot_sign_in_through_the_real_key_exchange(mtproto):
    bot = await mtproto.aio.create_bot("signals_bot", "Signals")
    client = mtproto.client()  # empty session: Telethon must create an auth key with the fake
    await client.start(bot_token=bot["token"])
    try:
        me = await client.get_me()
        assert me.bot and me.username == "signals_bot" and me.id == bot["id"]
        saved = client.session.save()
    finally:
        await client.disconnect()
    steps = [e["method"] for e in await mtproto.plane.aio.journal(fake="mtproto", kind="response")]
    assert steps[:3] == ["req_pq_multi", "req_DH_params", "set_client_DH_params"]
    assert "auth.importBotAuthorization" in steps

    again = mtproto.client(saved)  # the key the exchange produced stays known to the fake
    await again.connect()
    try:
        assert (await again.get_me()).username == "signals_bot"
    finally:
        await again.disconnect()


async def test_wrong_bot_token_is_access_token_invalid(mtproto):
    client = mtproto.client()
    try:
        with pytest.raises(errors.AccessTokenInvalidError):
            await client.start(bot_token="123:not-a-real-token")
    finally:
        await client.disconnect()


async def test_user_phone_code_sign_in(mtproto):
    client = mtproto.client()
    await client.start(phone="+15550000001", code_callback=lambda: "12345")
    try:
        me = await client.get_me()
        assert me.username == "alice" and me.phone == "15550000001"
        dialogs = [d.name async for d in client.iter_dialogs()]
        assert {"Crypto Signals", "DeFi Daily", "Altcoin Radar"} <= set(dialogs)
    finally:
        await client.disconnect()


async def test_channel_calls(mtproto, mtproto_string_session):
    client = mtproto.client(mtproto_string_session)
    await client.connect()
    try:
        channel = await client.get_entity("altcoin_radar")
        full = await client(functions.channels.GetFullChannelRequest(channel))
        assert full.full_chat.pts == 41 and full.chats[0].title == "Altcoin Radar"
        by_id = await client.get_messages(channel, ids=[1, 40, 99])
        assert by_id[0].id == 1 and by_id[1].id == 40 and by_id[2] is None
        chats = await client(functions.channels.GetChannelsRequest([channel]))
        assert chats.chats[0].id == channel.id
        user = await client(functions.users.GetFullUserRequest("trending_bot"))
        assert user.users[0].bot
    finally:
        await client.disconnect()


@pytest.mark.botfakes_expect("unsupported")  # calls what the fake does not serve, on purpose
async def test_flood_wait_fault_and_unsupported_method(mtproto, mtproto_string_session):
    await mtproto.plane.aio.add_fault(
        fake="mtproto", method="messages.sendMessage", action="error", times=1,
        error={"error_code": 420, "error_message": "FLOOD_WAIT_3"})
    client = mtproto.client(mtproto_string_session, flood_sleep_threshold=0)
    await client.connect()
    try:
        with pytest.raises(errors.FloodWaitError) as caught:
            await client.send_message("bob_trader", "spam")
        assert caught.value.seconds == 3
        # the rule fired once; (Telethon itself refuses the same request for longer waits)
        assert (await client.send_message("bob_trader", "later")).id == 1

        with pytest.raises(errors.BadRequestError, match="METHOD_NOT_SUPPORTED_BY_FAKE"):
            await client(functions.messages.GetStickersRequest(emoticon="x", hash=0))
    finally:
        await client.disconnect()
    refused = await mtproto.plane.aio.journal(fake="mtproto", kind="response", ok=False)
    assert [(e["method"], e["outcome"]["code"]) for e in refused] == [
        ("messages.sendMessage", 420), ("messages.getStickers", 400)]


async def test_bot_session_receives_a_private_message_and_replies(mtproto):
    minted = await mtproto.aio.mint_session(bot=True, new_username="helper_bot")
    bot = mtproto.client(minted["session"])
    received: asyncio.Queue = asyncio.Queue()
    bot.add_event_handler(received.put, events.NewMessage(incoming=True))
    await bot.connect()
    try:
        assert (await bot.get_me()).bot
        await mtproto.aio.send_message("alice", minted["user"]["id"], "/trending")
        event = await asyncio.wait_for(received.get(), 10)
        assert event.raw_text == "/trending" and (await event.get_sender()).username == "alice"
        reply = await event.reply("BTC, ETH, SOL")
        assert reply.out and reply.text == "BTC, ETH, SOL"
    finally:
        await bot.disconnect()
    alice = mtproto.client(await mtproto.aio.string_session(username="alice"))
    await alice.connect()
    try:
        history = [m.text async for m in alice.iter_messages("helper_bot")]
        assert history == ["BTC, ETH, SOL", "/trending"]
    finally:
        await alice.disconnect()


async def test_a_dropped_update_is_recovered_through_get_difference(mtproto, mtproto_string_session):
    """pts bookkeeping is real: a lost push leaves a gap Telethon fills with updates.getDifference."""
    client = mtproto.client(mtproto_string_session)
    received: asyncio.Queue = asyncio.Queue()
    client.add_event_handler(received.put, events.NewMessage(incoming=True))
    await client.connect()
    try:
        me = await client.get_me()
        await mtproto.plane.aio.add_fault(fake="mtproto", method="updates", action="drop",
                                          stage="push", times=1)
        await mtproto.aio.send_message("alice", me.id, "first (push dropped)")
        await mtproto.aio.send_message("alice", me.id, "second")
        texts = {(await asyncio.wait_for(received.get(), 10)).raw_text for _ in range(2)}
        assert texts == {"first (push dropped)", "second"}
    finally:
        await client.disconnect()
    diffs = await mtproto.plane.aio.journal(fake="mtproto", kind="response", method="updates.getDifference")
    assert diffs[-1]["data"]["result"] == "Difference"
