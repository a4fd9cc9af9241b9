"""The fake's Telegram: accounts (users and bots), channels with history, message boxes and pts.

Plain data and rules, no TL and no sockets (rpc.py turns these into Telethon's TL objects).
Telegram's bookkeeping that clients check is kept faithfully enough for Telethon's update
handling: every account has its own message box (private-chat messages get per-account ids and
each new message bumps that account's pts by one), every channel has its own message ids and pts.

Simplifications (documented for users): one access_hash per user/channel for all viewers; every
user account is a member of every channel (bots are not, as on Telegram a bot only sees channel
posts when it is an admin); no groups (basic chats), media, edits or deletions.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Iterable

TOKEN_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
FIRST_USER_ID = 7_000_000_001
FIRST_CHANNEL_ID = 2_000_000_001
LOGIN_CODE = "12345"  # the code auth.signIn accepts for every phone number

COINS = ("BTC", "ETH", "SOL", "XRP", "DOGE", "ADA", "AVAX", "LINK", "TON", "PEPE", "ARB", "SUI")
TOPICS = ("ETF", "staking", "airdrop", "halving", "regulation", "memecoins", "DeFi", "layer2",
          "NFT", "stablecoins", "mining", "listing")
_TEMPLATES = (
    "${a} breaking out while ${b} consolidates. Watching #{t} closely.",
    "Whales accumulating ${a} again; #{t} narrative heating up.",
    "Daily recap: ${a} +{pct}%, ${b} -{pct2}%. Topic of the day: #{t}",
    "New #{t} rumours push ${a} volume up {pct}x",
    "${a}/${b} ratio at a 30-day high. Is #{t} season starting?",
    "Short thread on #{t}: why ${a} matters more than ${b} right now",
    "Alert: ${a} funding rates flipped positive. #{t} #{t2}",
    "${a} holders: the #{t} unlock is next week, plan accordingly",
)
SEED_CHANNELS = (
    ("crypto_signals", "Crypto Signals"),
    ("defi_daily", "DeFi Daily"),
    ("altcoin_radar", "Altcoin Radar"),
)
SEED_USERS = (
    ("alice", "Alice", "+15550000001"),
    ("bob_trader", "Bob", "+15550000002"),
)
SEED_BOTS = (("trending_bot", "Trending Bot"),)


class WorldError(Exception):
    """A request the world refuses; carries Telegram's code and message (e.g. 400 PEER_ID_INVALID)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message


@dataclass
class BoxMessage:
    """A message as one account's box holds it (private chats: each side has its own copy)."""

    id: int
    peer_user: int  # the other side of the private chat
    out: bool
    date: int
    text: str
    pts: int


@dataclass
class Account:
    id: int
    access_hash: int
    first_name: str
    username: str | None = None
    phone: str | None = None
    last_name: str | None = None
    bot: bool = False
    bot_token: str | None = None
    pts: int = 1
    date: int = 0
    box: list[BoxMessage] = field(default_factory=list)

    @property
    def next_msg_id(self) -> int:
        return len(self.box) + 1


@dataclass
class ChannelMessage:
    id: int
    date: int
    text: str
    pts: int
    from_user: int | None = None  # None: a channel post signed by the channel


@dataclass
class ChannelRecord:
    id: int
    access_hash: int
    title: str
    username: str | None
    date: int
    about: str = ""
    megagroup: bool = False
    pts: int = 1
    messages: list[ChannelMessage] = field(default_factory=list)

    @property
    def top_message(self) -> int:
        return self.messages[-1].id if self.messages else 0


class World:
    def __init__(self, seed: int = 0, clock=time.time) -> None:
        self.seed = seed
        self.clock = clock
        self.rng = random.Random(seed)
        self._tokens = random.Random(f"{seed}:bot-tokens")  # apart, so tokens move no other draw
        self.accounts: dict[int, Account] = {}
        self.channels: dict[int, ChannelRecord] = {}
        self._next_user_id = FIRST_USER_ID
        self._next_channel_id = FIRST_CHANNEL_ID

    def now(self) -> int:
        return int(self.clock())

    # -- creation -------------------------------------------------------------------------------

    def _hash(self) -> int:
        return self.rng.randrange(1, 2 ** 63)

    def _check_username(self, username: str | None) -> None:
        if username and self.resolve(username) is not None:
            raise WorldError(400, "USERNAME_OCCUPIED")

    def create_user(self, first_name: str = "User", username: str | None = None,
                    phone: str | None = None, last_name: str | None = None) -> Account:
        self._check_username(username)
        phone = phone.lstrip("+") if phone else None  # Telegram reports phones as bare digits
        account = Account(self._next_user_id, self._hash(), first_name, username, phone, last_name,
                          date=self.now())
        self._next_user_id += 1
        self.accounts[account.id] = account
        return account

    def create_bot(self, username: str | None = None, first_name: str = "Bot") -> Account:
        if username is None:
            username = f"fake{self._next_user_id}_bot"
        if not username.lower().endswith("bot"):
            raise WorldError(400, "BOT_USERNAME_INVALID")  # Telegram requires the bot suffix
        account = self.create_user(first_name, username)
        account.bot = True
        account.bot_token = f"{account.id}:{self._token_secret()}"
        return account

    def _token_secret(self) -> str:
        """35 token characters from the world's seeded generator, so runs repeat."""
        return "".join(self._tokens.choice(TOKEN_CHARS) for _ in range(35))

    def create_channel(self, title: str, username: str | None = None, about: str = "",
                       megagroup: bool = False) -> ChannelRecord:
        self._check_username(username)
        channel = ChannelRecord(self._next_channel_id, self._hash(), title, username, self.now(),
                                about=about, megagroup=megagroup)
        self._next_channel_id += 1
        self.channels[channel.id] = channel
        return channel

    def seed_default(self, posts_per_channel: int = 40) -> None:
        """The default world: two users, a bot and crypto channels with a seeded history."""
        for username, name, phone in SEED_USERS:
            self.create_user(name, username, phone)
        for username, name in SEED_BOTS:
            self.create_bot(username, name)
        now = self.now()
        for username, title in SEED_CHANNELS:
            channel = self.create_channel(title, username, about=f"{title}: crypto news and calls")
            channel.date = now - 30 * 86400
            # Posts spread over the last two days, oldest first, so "trending in the last N
            # hours" questions have an answer that depends on the window.
            for i in range(posts_per_channel):
                date = now - (posts_per_channel - i) * (48 * 3600 // posts_per_channel)
                self._append_channel(channel, self.crypto_post(), date)

    def crypto_post(self) -> str:
        rng = self.rng
        a, b = rng.sample(COINS, 2)
        t, t2 = rng.sample(TOPICS, 2)
        return rng.choice(_TEMPLATES).format(a=a, b=b, t=t, t2=t2, pct=rng.randint(2, 40),
                                             pct2=rng.randint(1, 20))

    # -- lookups --------------------------------------------------------------------------------

    def resolve(self, username: str) -> Account | ChannelRecord | None:
        name = username.lstrip("@").lower()
        for account in self.accounts.values():
            if account.username and account.username.lower() == name:
                return account
        for channel in self.channels.values():
            if channel.username and channel.username.lower() == name:
                return channel
        return None

    def account(self, user_id: int, access_hash: int | None = None) -> Account:
        account = self.accounts.get(user_id)
        if account is None or (access_hash is not None and access_hash != account.access_hash):
            raise WorldError(400, "USER_ID_INVALID")
        return account

    def channel(self, channel_id: int, access_hash: int | None = None) -> ChannelRecord:
        channel = self.channels.get(channel_id)
        if channel is None or (access_hash is not None and access_hash != channel.access_hash):
            raise WorldError(400, "CHANNEL_INVALID")
        return channel

    def account_by_phone(self, phone: str) -> Account | None:
        digits = phone.lstrip("+")
        for account in self.accounts.values():
            if account.phone and account.phone.lstrip("+") == digits:
                return account
        return None

    def account_by_token(self, token: str) -> Account:
        user_id, _, _secret = token.partition(":")
        account = self.accounts.get(int(user_id)) if user_id.isdigit() else None
        if account is None or not account.bot or account.bot_token != token:
            raise WorldError(400, "ACCESS_TOKEN_INVALID")
        return account

    def channel_members(self, channel: ChannelRecord) -> Iterable[Account]:
        return (a for a in self.accounts.values() if not a.bot)

    # -- messages -------------------------------------------------------------------------------

    def _append_channel(self, channel: ChannelRecord, text: str, date: int,
                        from_user: int | None = None) -> ChannelMessage:
        channel.pts += 1
        message = ChannelMessage(channel.top_message + 1, date, text, channel.pts, from_user)
        channel.messages.append(message)
        return message

    def post_channel(self, channel: ChannelRecord, text: str, from_user: int | None = None) -> ChannelMessage:
        if not text:
            raise WorldError(400, "MESSAGE_EMPTY")
        return self._append_channel(channel, text, self.now(), from_user)

    def send_private(self, sender: Account, recipient: Account, text: str) -> tuple[BoxMessage, BoxMessage | None]:
        """A private message: the sender's copy (out) and the recipient's copy (None to oneself)."""
        if not text:
            raise WorldError(400, "MESSAGE_EMPTY")
        if sender.bot and recipient.bot:
            raise WorldError(400, "USER_IS_BOT")  # bots cannot message bots
        date = self.now()
        sender.pts += 1
        mine = BoxMessage(sender.next_msg_id, recipient.id, True, date, text, sender.pts)
        sender.box.append(mine)
        if recipient.id == sender.id:
            return mine, None
        recipient.pts += 1
        theirs = BoxMessage(recipient.next_msg_id, sender.id, False, date, text, recipient.pts)
        recipient.box.append(theirs)
        return mine, theirs

    def box_history(self, account: Account, peer_user: int) -> list[BoxMessage]:
        return [m for m in account.box if m.peer_user == peer_user]
