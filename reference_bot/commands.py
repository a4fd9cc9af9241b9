"""The bot's commands, shared by every variant: only the plumbing under them differs.

/start, /help, /price SYMBOL, /balance, /watch SYMBOL, /unwatch [SYMBOL], /trending.
Commands work in private chats and groups; in groups Telegram clients send `/cmd@botname`, and a
command addressed to another bot is ignored.

Failures of the services behind a command (Deriv, Telethon) are answered in the chat: the update
is handled. A failure to answer at all (sendMessage did not go through) propagates, so the webhook
front answers 500 and Telegram redelivers, and the polling front retries the update.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass, field

from .deriv.market import Market, NotConfigured
from .deriv.router import ConnectionLost, DerivError, RequestTimeout
from .telegram.client import BadRequest, BotApiClient, TelegramError
from .telethon.trending import TrendingService

log = logging.getLogger(__name__)

SYMBOL_RE = re.compile(r"^[A-Za-z0-9_]{1,40}$")
MAX_WATCHES_PER_CHAT = 3
# Telegram's limits: about 1 message/s in a private chat, 20/min in a group.
PRIVATE_INTERVAL = 1.0
GROUP_INTERVAL = 3.0

HELP = """Trading bot commands:
/price SYMBOL - latest tick, e.g. /price R_50
/balance - your Deriv account balance
/watch SYMBOL - stream ticks into this chat
/unwatch [SYMBOL] - stop streaming (all symbols if none given)
/trending - trending coins, topics and channels
/help - this message"""


def parse_command(text: str, bot_username: str | None) -> tuple[str, list[str]] | None:
    """`("price", ["R_50"])` for "/price@thisbot R_50"; None for text or another bot's command."""
    if not text.startswith("/"):
        return None
    head, *args = text.split()
    name, _, addressee = head[1:].partition("@")
    if addressee and bot_username and addressee.lower() != bot_username.lower():
        return None
    if not name:
        return None
    return name.lower(), args


def describe_failure(exc: BaseException) -> str:
    if isinstance(exc, NotConfigured):
        return f"Not configured: {exc}"
    if isinstance(exc, DerivError):
        return f"Deriv refused: {exc.message} ({exc.code})"
    if isinstance(exc, (RequestTimeout, asyncio.TimeoutError)):
        return "The market did not answer in time, please try again."
    if isinstance(exc, (ConnectionLost, ConnectionError, OSError)):
        return "The market connection dropped, please try again."
    # Unexpected failures (the naive variants' ConcurrencyError...) are shown with their text, so
    # a scenario reading the chat sees what went wrong.
    return f"Service unavailable ({type(exc).__name__}: {str(exc)[:200]})."


@dataclass
class Watch:
    chat_id: int
    symbol: str
    task: asyncio.Task | None = None
    latest: dict | None = None
    sent: int = 0
    wake: asyncio.Event = field(default_factory=asyncio.Event)


class Bot:
    def __init__(
        self,
        api: BotApiClient,
        market: Market,
        trending: TrendingService | None,
        *,
        bot_username: str | None = None,
        private_interval: float = PRIVATE_INTERVAL,
        group_interval: float = GROUP_INTERVAL,
    ):
        self.api = api
        self.market = market
        self.trending = trending
        self.bot_username = bot_username
        self.private_interval = private_interval
        self.group_interval = group_interval
        self.watches: dict[tuple[int, str], Watch] = {}
        self.handled = 0

    async def handle_update(self, update: dict) -> None:
        message = update.get("message")  # edits of old commands are not new commands
        if not isinstance(message, dict):
            return  # other update kinds are none of this bot's business
        text = message.get("text")
        chat = message.get("chat") or {}
        chat_id = chat.get("id")
        if not isinstance(text, str) or chat_id is None:
            return
        parsed = parse_command(text, self.bot_username)
        if parsed is None:
            return
        name, args = parsed
        handler = getattr(self, f"cmd_{name}", None)
        if handler is None:
            if chat.get("type") == "private":
                await self.reply(chat_id, f"Unknown command /{name}. Send /help for the list.")
            return
        await handler(chat_id, chat.get("type", "private"), args)
        self.handled += 1

    async def reply(self, chat_id: int, text: str) -> None:
        try:
            await self.api.send_message(chat_id, text)
        except BadRequest as exc:
            # The chat is gone or the bot was removed: retrying cannot help, so the update is done.
            log.warning("sendMessage to %s refused: %s", chat_id, exc.description)

    # -- commands --------------------------------------------------------------------------
    async def cmd_start(self, chat_id, chat_type, args) -> None:
        await self.reply(chat_id, "Hello! I report Deriv prices and crypto trends.\n\n" + HELP)

    async def _report_failure(self, chat_id, what: str, exc: Exception) -> None:
        """A market call failed: log it and tell the chat why; a bug of our own propagates."""
        if not _service_failure(exc):
            raise exc
        log.warning("%s failed: %s: %s", what, type(exc).__name__, exc)
        await self.reply(chat_id, f"{what}: {describe_failure(exc)}")

    async def cmd_help(self, chat_id, chat_type, args) -> None:
        await self.reply(chat_id, HELP)

    async def cmd_price(self, chat_id, chat_type, args) -> None:
        if len(args) != 1 or not SYMBOL_RE.match(args[0]):
            await self.reply(chat_id, "Usage: /price SYMBOL, e.g. /price R_50")
            return
        symbol = args[0]
        try:
            tick = await self.market.latest_tick(symbol)
        except Exception as exc:
            await self._report_failure(chat_id, f"/price {symbol}", exc)
            return
        await self.reply(chat_id, f"{symbol}: {tick['quote']}{_when(tick.get('epoch'))}")

    async def cmd_balance(self, chat_id, chat_type, args) -> None:
        try:
            bal = await self.market.balance()
        except Exception as exc:
            await self._report_failure(chat_id, "/balance", exc)
            return
        await self.reply(chat_id, f"Balance: {bal.get('balance')} {bal.get('currency', '')} ({bal.get('loginid', '?')})")

    async def cmd_watch(self, chat_id, chat_type, args) -> None:
        if len(args) != 1 or not SYMBOL_RE.match(args[0]):
            await self.reply(chat_id, "Usage: /watch SYMBOL, e.g. /watch R_50")
            return
        symbol = args[0]
        if (chat_id, symbol) in self.watches:
            await self.reply(chat_id, f"Already watching {symbol}. /unwatch {symbol} to stop.")
            return
        if sum(1 for (c, _) in self.watches if c == chat_id) >= MAX_WATCHES_PER_CHAT:
            await self.reply(chat_id, f"At most {MAX_WATCHES_PER_CHAT} watches per chat; /unwatch one first.")
            return
        try:
            stream = await self.market.ticks(symbol)
        except Exception as exc:
            await self._report_failure(chat_id, f"/watch {symbol}", exc)
            return
        interval = self.private_interval if chat_type == "private" else self.group_interval
        watch = Watch(chat_id, symbol)
        self.watches[(chat_id, symbol)] = watch
        watch.task = asyncio.create_task(self._run_watch(watch, stream, interval), name=f"watch-{chat_id}-{symbol}")
        await self.reply(chat_id, f"Watching {symbol}. /unwatch {symbol} to stop.")

    async def cmd_unwatch(self, chat_id, chat_type, args) -> None:
        keys = [k for k in self.watches if k[0] == chat_id and (not args or k[1] == args[0])]
        if not keys:
            await self.reply(chat_id, "Nothing to stop: no watch" + (f" on {args[0]}." if args else "es in this chat."))
            return
        await asyncio.gather(*(self._stop_watch(k) for k in keys))
        await self.reply(chat_id, "Stopped watching " + ", ".join(sorted(k[1] for k in keys)) + ".")

    async def cmd_trending(self, chat_id, chat_type, args) -> None:
        if self.trending is None:
            await self.reply(chat_id, "Trending is not configured (TELEGRAM_API_ID, TELEGRAM_API_HASH, TELETHON_SESSION).")
            return
        try:
            text = await self.trending.summary()
        except Exception as exc:
            log.warning("trending failed: %s: %s", type(exc).__name__, exc)
            text = f"Trending is unavailable right now ({type(exc).__name__}: {str(exc)[:200]})."
        await self.reply(chat_id, text)

    # -- watches ---------------------------------------------------------------------------
    async def _run_watch(self, watch: Watch, stream, interval: float) -> None:
        """Ticks come faster than a chat may receive messages: keep the latest, send one per interval."""
        reader = asyncio.create_task(self._read_ticks(watch, stream))
        try:
            await asyncio.sleep(interval)  # the "Watching" reply just went to this chat
            while not reader.done() or watch.latest is not None:
                if watch.latest is None:
                    waiter = asyncio.create_task(watch.wake.wait())
                    await asyncio.wait({waiter, reader}, return_when=asyncio.FIRST_COMPLETED)
                    waiter.cancel()
                    watch.wake.clear()
                    continue
                tick, watch.latest = watch.latest, None
                await self.reply(watch.chat_id, f"{watch.symbol}: {tick.get('quote')}{_when(tick.get('epoch'))}")
                watch.sent += 1
                await asyncio.sleep(interval)  # rate limit, not synchronization
            if reader.exception() is not None:
                exc = reader.exception()
                await self.reply(watch.chat_id, f"Stopped watching {watch.symbol}: {describe_failure(exc)}")
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("watch %s in %s failed", watch.symbol, watch.chat_id)
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            try:
                await asyncio.wait_for(stream.close(), 5)
            except Exception as exc:
                log.debug("closing tick stream: %s", exc)
            self.watches.pop((watch.chat_id, watch.symbol), None)

    async def _read_ticks(self, watch: Watch, stream) -> None:
        async for tick in stream:
            watch.latest = tick
            watch.wake.set()

    async def _stop_watch(self, key) -> None:
        watch = self.watches.pop(key, None)
        if watch is not None and watch.task is not None:
            watch.task.cancel()
            await asyncio.gather(watch.task, return_exceptions=True)

    async def close(self) -> None:
        await asyncio.gather(*(self._stop_watch(k) for k in list(self.watches)))


def _service_failure(exc: BaseException) -> bool:
    # TelegramError is ours to propagate (the answer did not go out); the rest is the service's.
    return not isinstance(exc, TelegramError) and isinstance(exc, Exception)


def _when(epoch) -> str:
    if not isinstance(epoch, (int, float)):
        return ""
    return time.strftime(" (%H:%M:%S UTC)", time.gmtime(epoch))
