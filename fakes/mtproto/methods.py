"""The Telegram API calls the fake answers, built from the installed Telethon's TL classes.

Each handler takes the caller's context and the parsed request object and returns the TL answer
(or raises RpcFailure with Telegram's code and message). Handlers never touch sockets; updates
that other connections must receive are queued on the context as `Delivery`s and the core hands
them to the transport. Constructors are the installed Telethon's (layer 229 for 1.45), so a newer
Telethon's changed fields show up as a TypeError in one handler, not as silent garbage.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Callable

from telethon.tl import functions as F
from telethon.tl import types as T

from .world import (
    LOGIN_CODE, Account, BoxMessage, ChannelMessage, ChannelRecord, World, WorldError,
)

DC_ID = 2  # Telethon's default DC; minted sessions and Config say the same
UNSUPPORTED = "METHOD_NOT_SUPPORTED_BY_FAKE"  # the 400 message for calls the fake does not serve


class RpcFailure(Exception):
    """An RPC error answer: rpc_error#2144ca19 error_code:int error_message:string."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message


@dataclass
class Delivery:
    """An update for every live connection of `account_id` (except `skip_conn`, the sender)."""

    account_id: int
    updates: Any  # a T.Updates
    skip_conn: str | None = None


@dataclass
class CallContext:
    world: World
    account: Account | None  # the signed-in account of the auth key, None before sign-in
    conn: str
    port: int
    authorize: Callable[[Account | None], None]  # binds (or unbinds) the auth key to an account
    deliveries: list[Delivery] = field(default_factory=list)


# Calls answered before sign-in (everything else gets 401 AUTH_KEY_UNREGISTERED).
UNAUTHORIZED_OK = {
    F.help.GetConfigRequest, F.help.GetNearestDcRequest, F.auth.SendCodeRequest,
    F.auth.SignInRequest, F.auth.ImportBotAuthorizationRequest, F.auth.LogOutRequest,
}


# -- TL builders ----------------------------------------------------------------------------------

def user_tl(account: Account, viewer: Account | None) -> T.User:
    is_self = viewer is not None and viewer.id == account.id
    return T.User(
        id=account.id, is_self=is_self, bot=account.bot or None, access_hash=account.access_hash,
        first_name=account.first_name, last_name=account.last_name, username=account.username,
        phone=account.phone if is_self else None,
        bot_info_version=1 if account.bot else None,
        bot_nochats=None, status=None if account.bot else T.UserStatusRecently(),
    )


def channel_tl(channel: ChannelRecord, viewer: Account | None) -> T.Channel:
    member = viewer is not None and not viewer.bot
    return T.Channel(
        id=channel.id, title=channel.title, photo=T.ChatPhotoEmpty(), date=channel.date,
        broadcast=not channel.megagroup or None, megagroup=channel.megagroup or None,
        left=not member or None, access_hash=channel.access_hash, username=channel.username,
        participants_count=None,
    )


def channel_message_tl(channel: ChannelRecord, message: ChannelMessage) -> T.Message:
    return T.Message(
        id=message.id, peer_id=T.PeerChannel(channel.id), date=message.date, message=message.text,
        post=not channel.megagroup or None,
        from_id=T.PeerUser(message.from_user) if message.from_user else None,
        views=None if channel.megagroup else 100 + message.id,
        forwards=None if channel.megagroup else message.id % 7,
    )


def box_message_tl(owner: Account, message: BoxMessage) -> T.Message:
    # Private chats: peer_id is the other side; from_id names the sender on outgoing copies.
    return T.Message(
        id=message.id, peer_id=T.PeerUser(message.peer_user), date=message.date,
        message=message.text, out=message.out or None,
        from_id=T.PeerUser(owner.id) if message.out else None,
    )


def state_tl(world: World, account: Account) -> T.updates.State:
    return T.updates.State(pts=account.pts, qts=0, date=world.now(), seq=0, unread_count=0)


# -- peer resolution ------------------------------------------------------------------------------

def resolve_user(ctx: CallContext, input_user: Any) -> Account:
    if isinstance(input_user, (T.InputUserSelf, T.InputPeerSelf)):
        return ctx.account
    if isinstance(input_user, (T.InputUser, T.InputPeerUser)):
        return ctx.world.account(input_user.user_id, input_user.access_hash)
    raise RpcFailure(400, "USER_ID_INVALID")


def resolve_channel(ctx: CallContext, input_channel: Any) -> ChannelRecord:
    if isinstance(input_channel, (T.InputChannel, T.InputPeerChannel)):
        return ctx.world.channel(input_channel.channel_id, input_channel.access_hash)
    raise RpcFailure(400, "CHANNEL_INVALID")


def resolve_peer(ctx: CallContext, peer: Any) -> Account | ChannelRecord:
    if isinstance(peer, (T.InputPeerSelf, T.InputPeerUser)):
        try:
            return resolve_user(ctx, peer)
        except WorldError:
            raise RpcFailure(400, "PEER_ID_INVALID") from None
    if isinstance(peer, T.InputPeerChannel):
        return resolve_channel(ctx, peer)
    raise RpcFailure(400, "PEER_ID_INVALID")


def _stamp(date: Any) -> int:
    """A TL date as unix seconds; 0 (the epoch, what an unset date parses to) means none."""
    if date is None:
        return 0
    return date if isinstance(date, int) else int(date.timestamp())


# -- history paging -------------------------------------------------------------------------------

def page(messages: list, offset_id: int, offset_date: Any, add_offset: int, limit: int,
         max_id: int, min_id: int) -> list:
    """messages.getHistory paging over `messages` (oldest first, with .id and .date).

    The result is newest first: start at the first message older than offset_id / offset_date
    (or the newest), move by add_offset (negative = towards newer ones), take `limit`, then keep
    only ids in (min_id, max_id).
    """
    newest_first = list(reversed(messages))
    start = 0
    stamp = _stamp(offset_date)
    if offset_id:
        start = next((i for i, m in enumerate(newest_first) if m.id < offset_id), len(newest_first))
    elif stamp:
        start = next((i for i, m in enumerate(newest_first) if m.date < stamp), len(newest_first))
    start = max(0, start + add_offset)
    chosen = newest_first[start:start + max(0, min(limit, 100))]
    return [m for m in chosen if (not max_id or m.id < max_id) and (not min_id or m.id > min_id)]


# -- handlers -------------------------------------------------------------------------------------

def _config(ctx: CallContext, _req) -> T.Config:
    now = ctx.world.now()
    return T.Config(
        date=now, expires=now + 3600, test_mode=False, this_dc=DC_ID,
        dc_options=[T.DcOption(id=DC_ID, ip_address="127.0.0.1", port=ctx.port)],
        dc_txt_domain_name="localhost", chat_size_max=200, megagroup_size_max=200000,
        forwarded_count_max=100, online_update_period_ms=210000, offline_blur_timeout_ms=5000,
        offline_idle_timeout_ms=30000, online_cloud_timeout_ms=300000,
        notify_cloud_delay_ms=30000, notify_default_delay_ms=1500, push_chat_period_ms=60000,
        push_chat_limit=2, edit_time_limit=172800, revoke_time_limit=2147483647,
        revoke_pm_time_limit=2147483647, rating_e_decay=2419200, stickers_recent_limit=200,
        channels_read_media_period=604800, call_receive_timeout_ms=20000,
        call_ring_timeout_ms=90000, call_connect_timeout_ms=30000, call_packet_timeout_ms=10000,
        me_url_prefix="https://t.me/", caption_length_max=1024, message_length_max=4096,
        webfile_dc_id=DC_ID,
    )


def _nearest_dc(ctx: CallContext, _req) -> T.NearestDc:
    return T.NearestDc(country="ZZ", this_dc=DC_ID, nearest_dc=DC_ID)


def _get_users(ctx: CallContext, req) -> list:
    found = []
    for input_user in req.id:
        try:
            found.append(user_tl(resolve_user(ctx, input_user), ctx.account))
        except (WorldError, RpcFailure):
            continue  # Telegram leaves unknown users out of the vector
    return found


def _get_full_user(ctx: CallContext, req) -> T.users.UserFull:
    account = resolve_user(ctx, req.id)
    full = T.UserFull(
        id=account.id, settings=T.PeerSettings(), notify_settings=T.PeerNotifySettings(),
        common_chats_count=0, about=f"{account.first_name} (botfakes)",
        bot_info=T.BotInfo(user_id=account.id, description="", commands=[]) if account.bot else None,
    )
    return T.users.UserFull(full_user=full, chats=[], users=[user_tl(account, ctx.account)])


def _import_bot_authorization(ctx: CallContext, req) -> T.auth.Authorization:
    account = ctx.world.account_by_token(req.bot_auth_token)
    ctx.authorize(account)
    return T.auth.Authorization(user=user_tl(account, account))


def _phone_code_hash(phone: str) -> str:
    return hashlib.sha256(f"botfakes:{phone}".encode()).hexdigest()[:18]


def _send_code(ctx: CallContext, req) -> T.auth.SentCode:
    if not req.phone_number.lstrip("+").isdigit():
        raise RpcFailure(400, "PHONE_NUMBER_INVALID")
    if ctx.world.account_by_phone(req.phone_number) is None:
        # Sign-up is folded into sign-in: an unknown number becomes an account here.
        ctx.world.create_user(f"User {req.phone_number[-4:]}", phone=req.phone_number)
    return T.auth.SentCode(type=T.auth.SentCodeTypeApp(length=len(LOGIN_CODE)),
                           phone_code_hash=_phone_code_hash(req.phone_number))


def _sign_in(ctx: CallContext, req) -> T.auth.Authorization:
    account = ctx.world.account_by_phone(req.phone_number)
    if account is None:
        raise RpcFailure(400, "PHONE_NUMBER_UNOCCUPIED")
    if req.phone_code_hash != _phone_code_hash(req.phone_number):
        raise RpcFailure(400, "PHONE_CODE_HASH_EMPTY" if not req.phone_code_hash else "PHONE_CODE_EXPIRED")
    if not req.phone_code:
        raise RpcFailure(400, "PHONE_CODE_EMPTY")
    if req.phone_code != LOGIN_CODE:
        raise RpcFailure(400, "PHONE_CODE_INVALID")
    ctx.authorize(account)
    return T.auth.Authorization(user=user_tl(account, account))


def _log_out(ctx: CallContext, _req) -> T.auth.LoggedOut:
    ctx.authorize(None)
    return T.auth.LoggedOut()


def _get_state(ctx: CallContext, _req) -> T.updates.State:
    return state_tl(ctx.world, ctx.account)


def _get_difference(ctx: CallContext, req) -> Any:
    account = ctx.account
    if req.pts >= account.pts:
        return T.updates.DifferenceEmpty(date=ctx.world.now(), seq=0)
    new = [m for m in account.box if m.pts > req.pts]
    peers = {m.peer_user for m in new}
    users = [user_tl(ctx.world.accounts[uid], account) for uid in peers if uid in ctx.world.accounts]
    return T.updates.Difference(
        new_messages=[box_message_tl(account, m) for m in new], new_encrypted_messages=[],
        other_updates=[], chats=[], users=users, state=state_tl(ctx.world, account),
    )


def _get_channel_difference(ctx: CallContext, req) -> Any:
    channel = resolve_channel(ctx, req.channel)
    if req.pts >= channel.pts:
        return T.updates.ChannelDifferenceEmpty(pts=channel.pts, final=True, timeout=30)
    limit = max(1, min(req.limit or 100, 100))
    new = [m for m in channel.messages if m.pts > req.pts]
    chosen = new[:limit]
    final = len(chosen) == len(new)
    return T.updates.ChannelDifference(
        pts=channel.pts if final else chosen[-1].pts,
        new_messages=[channel_message_tl(channel, m) for m in chosen], other_updates=[],
        chats=[channel_tl(channel, ctx.account)], users=[], final=final or None, timeout=30,
    )


def _send_message(ctx: CallContext, req) -> Any:
    target = resolve_peer(ctx, req.peer)
    world, me = ctx.world, ctx.account
    if not req.message.strip():
        raise RpcFailure(400, "MESSAGE_EMPTY")
    if len(req.message) > 4096:
        raise RpcFailure(400, "MESSAGE_TOO_LONG")
    if isinstance(target, ChannelRecord):
        if not target.megagroup or me.bot:
            # Only admins post in broadcast channels; the fake's accounts are plain members.
            raise RpcFailure(403, "CHAT_WRITE_FORBIDDEN")
        message = world.post_channel(target, req.message, from_user=me.id)
        ctx.deliveries.extend(channel_post_deliveries(world, target, message, skip_conn=ctx.conn))
        return T.Updates(
            updates=[T.UpdateMessageID(id=message.id, random_id=req.random_id),
                     T.UpdateNewChannelMessage(channel_message_tl(target, message), message.pts, 1)],
            users=[user_tl(me, me)], chats=[channel_tl(target, me)], date=message.date, seq=0,
        )
    try:
        mine, theirs = world.send_private(me, target, req.message)
    except WorldError as exc:
        raise RpcFailure(exc.code, exc.message) from None
    if theirs is not None:
        ctx.deliveries.append(private_delivery(world, target, me, theirs))
    return T.UpdateShortSentMessage(id=mine.id, pts=mine.pts, pts_count=1, date=mine.date, out=True)


def private_delivery(world: World, recipient: Account, sender: Account, message: BoxMessage) -> Delivery:
    return Delivery(recipient.id, T.Updates(
        updates=[T.UpdateNewMessage(box_message_tl(recipient, message), message.pts, 1)],
        users=[user_tl(sender, recipient), user_tl(recipient, recipient)], chats=[],
        date=message.date, seq=0,
    ))


def channel_post_deliveries(world: World, channel: ChannelRecord, message: ChannelMessage,
                            skip_conn: str | None = None) -> list[Delivery]:
    out = []
    for member in world.channel_members(channel):
        users = [user_tl(world.accounts[message.from_user], member)] if message.from_user else []
        out.append(Delivery(member.id, T.Updates(
            updates=[T.UpdateNewChannelMessage(channel_message_tl(channel, message), message.pts, 1)],
            users=users, chats=[channel_tl(channel, member)], date=message.date, seq=0,
        ), skip_conn))
    return out


def _history(ctx: CallContext, req) -> Any:
    target = resolve_peer(ctx, req.peer)
    args = (req.offset_id, req.offset_date, req.add_offset, req.limit, req.max_id, req.min_id)
    if isinstance(target, ChannelRecord):
        chosen = page(target.messages, *args)
        users = {m.from_user for m in chosen if m.from_user}
        return T.messages.ChannelMessages(
            pts=target.pts, count=len(target.messages),
            messages=[channel_message_tl(target, m) for m in chosen], topics=[],
            chats=[channel_tl(target, ctx.account)],
            users=[user_tl(ctx.world.accounts[u], ctx.account) for u in users],
        )
    me = ctx.account
    box = ctx.world.box_history(me, target.id)
    chosen = page(box, *args)
    users = [user_tl(target, me)] + ([user_tl(me, me)] if target.id != me.id else [])
    messages = [box_message_tl(me, m) for m in chosen]
    if len(chosen) < len(box):
        return T.messages.MessagesSlice(count=len(box), messages=messages, topics=[], chats=[], users=users)
    return T.messages.Messages(messages=messages, topics=[], chats=[], users=users)


def _dialogs(ctx: CallContext, req) -> Any:
    world, me = ctx.world, ctx.account
    entries = []  # (date, top message id, peer, dialog, message TL)
    if not me.bot:
        for channel in world.channels.values():
            if not channel.messages:
                continue
            top = channel.messages[-1]
            dialog = T.Dialog(
                peer=T.PeerChannel(channel.id), top_message=top.id, read_inbox_max_id=top.id,
                read_outbox_max_id=top.id, unread_count=0, unread_mentions_count=0,
                unread_reactions_count=0, unread_poll_votes_count=0,
                notify_settings=T.PeerNotifySettings(), pts=channel.pts,
            )
            entries.append((top.date, top.id, channel, dialog, channel_message_tl(channel, top)))
    last_by_peer: dict[int, BoxMessage] = {}
    for message in me.box:
        last_by_peer[message.peer_user] = message
    for peer_id, top in last_by_peer.items():
        dialog = T.Dialog(
            peer=T.PeerUser(peer_id), top_message=top.id, read_inbox_max_id=top.id,
            read_outbox_max_id=top.id, unread_count=0, unread_mentions_count=0,
            unread_reactions_count=0, unread_poll_votes_count=0,
            notify_settings=T.PeerNotifySettings(),
        )
        entries.append((top.date, top.id, world.accounts[peer_id], dialog, box_message_tl(me, top)))
    entries.sort(key=lambda e: (e[0], e[1]), reverse=True)
    total = len(entries)
    stamp = _stamp(req.offset_date)
    if stamp:
        entries = [e for e in entries if (e[0], e[1]) < (stamp, req.offset_id or 2 ** 31)]
    chosen = entries[:max(0, min(req.limit, 100))]
    chats = [channel_tl(e[2], me) for e in chosen if isinstance(e[2], ChannelRecord)]
    users = [user_tl(e[2], me) for e in chosen if isinstance(e[2], Account)]
    parts = dict(dialogs=[e[3] for e in chosen], messages=[e[4] for e in chosen], chats=chats, users=users)
    if len(chosen) < total:
        return T.messages.DialogsSlice(count=total, **parts)
    return T.messages.Dialogs(**parts)


def _resolve_username(ctx: CallContext, req) -> T.contacts.ResolvedPeer:
    name = req.username.lstrip("@")
    if not 5 <= len(name) <= 32 or not name.replace("_", "").isalnum():
        raise RpcFailure(400, "USERNAME_INVALID")
    found = ctx.world.resolve(name)
    if found is None:
        raise RpcFailure(400, "USERNAME_NOT_OCCUPIED")
    if isinstance(found, ChannelRecord):
        return T.contacts.ResolvedPeer(peer=T.PeerChannel(found.id),
                                       chats=[channel_tl(found, ctx.account)], users=[])
    return T.contacts.ResolvedPeer(peer=T.PeerUser(found.id), chats=[],
                                   users=[user_tl(found, ctx.account)])


def _get_channels(ctx: CallContext, req) -> T.messages.Chats:
    return T.messages.Chats(chats=[channel_tl(resolve_channel(ctx, c), ctx.account) for c in req.id])


def _get_full_channel(ctx: CallContext, req) -> T.messages.ChatFull:
    channel = resolve_channel(ctx, req.channel)
    full = T.ChannelFull(
        id=channel.id, about=channel.about, read_inbox_max_id=channel.top_message,
        read_outbox_max_id=channel.top_message, unread_count=0, chat_photo=T.PhotoEmpty(id=0),
        notify_settings=T.PeerNotifySettings(), bot_info=[], pts=channel.pts,
        participants_count=len(list(ctx.world.channel_members(channel))),
    )
    return T.messages.ChatFull(full_chat=full, chats=[channel_tl(channel, ctx.account)], users=[])


def _channel_messages(ctx: CallContext, req) -> T.messages.ChannelMessages:
    channel = resolve_channel(ctx, req.channel)
    by_id = {m.id: m for m in channel.messages}
    out = []
    for item in req.id:
        if not isinstance(item, T.InputMessageID):
            raise RpcFailure(400, "MESSAGE_IDS_EMPTY")  # reply/pinned lookups are not served
        message = by_id.get(item.id)
        out.append(channel_message_tl(channel, message) if message
                   else T.MessageEmpty(id=item.id, peer_id=T.PeerChannel(channel.id)))
    return T.messages.ChannelMessages(pts=channel.pts, count=len(out), messages=out, topics=[],
                                      chats=[channel_tl(channel, ctx.account)], users=[])


def _get_messages(ctx: CallContext, req) -> T.messages.Messages:
    me = ctx.account
    by_id = {m.id: m for m in me.box}
    out, peers = [], set()
    for item in req.id:
        message = by_id.get(item.id) if isinstance(item, T.InputMessageID) else None
        if message is None:
            out.append(T.MessageEmpty(id=getattr(item, "id", 0)))
        else:
            peers.add(message.peer_user)
            out.append(box_message_tl(me, message))
    users = [user_tl(ctx.world.accounts[p], me) for p in peers]
    return T.messages.Messages(messages=out, topics=[], chats=[], users=users)


HANDLERS: dict[type, Callable[[CallContext, Any], Any]] = {
    F.help.GetConfigRequest: _config,
    F.help.GetNearestDcRequest: _nearest_dc,
    F.users.GetUsersRequest: _get_users,
    F.users.GetFullUserRequest: _get_full_user,
    F.auth.ImportBotAuthorizationRequest: _import_bot_authorization,
    F.auth.SendCodeRequest: _send_code,
    F.auth.SignInRequest: _sign_in,
    F.auth.LogOutRequest: _log_out,
    F.updates.GetStateRequest: _get_state,
    F.updates.GetDifferenceRequest: _get_difference,
    F.updates.GetChannelDifferenceRequest: _get_channel_difference,
    F.messages.SendMessageRequest: _send_message,
    F.messages.GetHistoryRequest: _history,
    F.messages.GetDialogsRequest: _dialogs,
    F.messages.GetMessagesRequest: _get_messages,
    F.contacts.ResolveUsernameRequest: _resolve_username,
    F.channels.GetChannelsRequest: _get_channels,
    F.channels.GetFullChannelRequest: _get_full_channel,
    F.channels.GetMessagesRequest: _channel_messages,
}

# Wrappers whose inner query is the real call (https://core.telegram.org/api/invoking).
WRAPPERS = (F.InvokeWithLayerRequest, F.InitConnectionRequest, F.InvokeWithoutUpdatesRequest,
            F.InvokeAfterMsgRequest, F.InvokeAfterMsgsRequest)


def unwrap_query(request: Any) -> tuple[Any, list[Any]]:
    """The innermost query and the wrappers around it, outermost first."""
    chain = []
    while isinstance(request, WRAPPERS):
        chain.append(request)
        request = request.query
    return request, chain


def call(ctx: CallContext, query: Any) -> Any:
    """Answer one (unwrapped) API query, or raise RpcFailure."""
    handler = HANDLERS.get(type(query))
    if handler is None:
        raise RpcFailure(400, UNSUPPORTED)
    if ctx.account is None and type(query) not in UNAUTHORIZED_OK:
        raise RpcFailure(401, "AUTH_KEY_UNREGISTERED")
    try:
        return handler(ctx, query)
    except WorldError as exc:
        raise RpcFailure(exc.code, exc.message) from None
