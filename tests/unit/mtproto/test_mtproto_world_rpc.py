"""The world's bookkeeping and the API handlers, without any connection."""

from __future__ import annotations

import pytest
from telethon.tl import functions as F
from telethon.tl import types as T

from botfakes.fakes.mtproto import methods as rpc
from botfakes.fakes.mtproto.world import COINS, TOPICS, World, WorldError


def make_world(seed=3):
    world = World(seed=seed, clock=lambda: 1_700_000_000)
    world.seed_default(posts_per_channel=12)
    return world


def ctx_for(world, account):
    return rpc.CallContext(world, account, "mtproto#1", 4444, authorize=lambda a: None)


def test_seeded_world_is_deterministic_and_mentions_coins_and_topics():
    one, two = make_world(), make_world()
    texts = [m.text for c in one.channels.values() for m in c.messages]
    assert texts == [m.text for c in two.channels.values() for m in c.messages]
    assert all(any(f"${c}" in t for c in COINS) and any(f"#{x}" in t for x in TOPICS) for t in texts)
    channel = one.resolve("crypto_signals")
    assert channel.pts == 13 and [m.id for m in channel.messages] == list(range(1, 13))
    assert make_world(seed=4).resolve("alice").access_hash != one.resolve("alice").access_hash


def test_private_messages_have_per_account_ids_and_pts():
    world = make_world()
    alice, bob = world.resolve("alice"), world.resolve("bob_trader")
    mine, theirs = world.send_private(alice, bob, "hi")
    assert (mine.id, mine.out, mine.pts) == (1, True, 2) and (theirs.id, theirs.out, theirs.pts) == (1, False, 2)
    world.send_private(bob, alice, "yo")
    assert (alice.pts, bob.pts) == (3, 3) and [m.id for m in world.box_history(bob, alice.id)] == [1, 2]
    bot = world.resolve("trending_bot")
    with pytest.raises(WorldError, match="USER_IS_BOT"):
        world.send_private(bot, world.create_bot("other_bot"), "x")


@pytest.mark.parametrize("offset_id, add_offset, limit, max_id, min_id, expected", [
    (0, 0, 3, 0, 0, [12, 11, 10]),
    (10, 0, 3, 0, 0, [9, 8, 7]),
    (10, -2, 3, 0, 0, [11, 10, 9]),  # negative add_offset reaches newer messages
    (0, 0, 5, 11, 8, [10, 9]),
    (0, 0, 500, 0, 0, list(range(12, 0, -1))[:100]),
])
def test_history_paging(offset_id, add_offset, limit, max_id, min_id, expected):
    channel = make_world().resolve("defi_daily")
    page = rpc.page(channel.messages, offset_id, None, add_offset, limit, max_id, min_id)
    assert [m.id for m in page] == expected


def test_handlers_answer_with_telethon_types_and_telegram_errors():
    world = make_world()
    alice = world.resolve("alice")
    ctx = ctx_for(world, alice)
    resolved = rpc.call(ctx, F.contacts.ResolveUsernameRequest("crypto_signals"))
    channel = resolved.chats[0]
    assert isinstance(resolved.peer, T.PeerChannel) and channel.access_hash
    history = rpc.call(ctx, F.messages.GetHistoryRequest(
        T.InputPeerChannel(channel.id, channel.access_hash), 0, None, 0, 5, 0, 0, 0))
    assert isinstance(history, T.messages.ChannelMessages) and history.count == 12
    bytes(history)  # serializable by the installed Telethon
    with pytest.raises(rpc.RpcFailure, match="CHANNEL_INVALID"):
        rpc.call(ctx, F.channels.GetChannelsRequest([T.InputChannel(channel.id, 1)]))
    with pytest.raises(rpc.RpcFailure, match="USERNAME_NOT_OCCUPIED"):
        rpc.call(ctx, F.contacts.ResolveUsernameRequest("nobody_here"))
    with pytest.raises(rpc.RpcFailure, match="CHAT_WRITE_FORBIDDEN"):
        rpc.call(ctx, F.messages.SendMessageRequest(T.InputPeerChannel(channel.id, channel.access_hash), "x"))
    with pytest.raises(rpc.RpcFailure, match="401 AUTH_KEY_UNREGISTERED"):
        rpc.call(ctx_for(world, None), F.users.GetUsersRequest([T.InputUserSelf()]))
    with pytest.raises(rpc.RpcFailure, match=rpc.UNSUPPORTED):
        rpc.call(ctx, F.messages.GetStickersRequest("x", 0))


def test_send_message_delivers_to_the_recipient_and_difference_catches_up():
    world = make_world()
    alice, bob = world.resolve("alice"), world.resolve("bob_trader")
    ctx = ctx_for(world, alice)
    sent = rpc.call(ctx, F.messages.SendMessageRequest(T.InputPeerUser(bob.id, bob.access_hash), "gm", random_id=5))
    assert isinstance(sent, T.UpdateShortSentMessage) and (sent.id, sent.pts) == (1, 2)
    (delivery,) = ctx.deliveries
    assert delivery.account_id == bob.id
    assert delivery.updates.updates[0].pts == 2 and delivery.updates.updates[0].message.message == "gm"
    diff = rpc.call(ctx_for(world, bob), F.updates.GetDifferenceRequest(pts=1, date=None, qts=0))
    assert [m.message for m in diff.new_messages] == ["gm"] and diff.state.pts == 2
    empty = rpc.call(ctx_for(world, bob), F.updates.GetDifferenceRequest(pts=2, date=None, qts=0))
    assert isinstance(empty, T.updates.DifferenceEmpty)
