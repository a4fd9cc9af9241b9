"""Trending channels, coins and topics computed from channel history (seed 000's service).

Each of the three answers is cached on its own for `cache_seconds` (seed 000: 15 minutes), as the
seed's service did. So three requests for three endpoints on a cold cache are three history reads
at once: the gateway's single-flight connect and call lock are what keep that safe, and the naive
variants, which share this service, fail exactly there.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import re
import time
from collections import Counter, defaultdict
from typing import Callable, Protocol

HISTORY_LIMIT = 100
TOP = 10

# Ticker symbols written as $BTC / #BTC, or bare when they are well known.
_CASHTAG = re.compile(r"[$#]([A-Za-z]{2,10})\b")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9']{3,}")
_HASHTAG = re.compile(r"#(\w{2,50})")
KNOWN_COINS = {
    "BTC": ("bitcoin",), "ETH": ("ethereum", "ether"), "SOL": ("solana",), "XRP": ("ripple",),
    "DOGE": ("dogecoin",), "ADA": ("cardano",), "BNB": (), "TON": ("toncoin",), "USDT": ("tether",),
    "TRX": ("tron",), "AVAX": ("avalanche",), "LTC": ("litecoin",), "DOT": ("polkadot",),
}
_COIN_BY_NAME = {name: sym for sym, names in KNOWN_COINS.items() for name in names}
STOPWORDS = frozenset(
    """this that with from have will your just they them then than what when were been
    into over about more some only also like very here there their after before would could
    should today price market markets going still make made much many most other such next
    week weeks daily plan accordingly topic recap update updates new""".split()
)


# Which history read (one per cache miss) the current task serves. The reference gateway ignores
# it; the naive "two workers" variant uses it to keep one read on one worker, as a multi-worker
# server keeps one HTTP request on one worker.
read_round: contextvars.ContextVar[int] = contextvars.ContextVar("read_round", default=0)
_rounds = itertools.count(1)


class HistorySource(Protocol):
    async def history(self, channel: str, limit: int = HISTORY_LIMIT) -> list[dict]: ...

    async def close(self) -> None: ...


def coins_in(text: str) -> set[str]:
    found = {m.upper() for m in _CASHTAG.findall(text) if m.upper() in KNOWN_COINS or m.isupper()}
    for word in re.findall(r"[A-Za-z]+", text):
        upper, lower = word.upper(), word.lower()
        if word == upper and upper in KNOWN_COINS:
            found.add(upper)
        elif lower in _COIN_BY_NAME:
            found.add(_COIN_BY_NAME[lower])
    return found


def rank_channels(histories: dict[str, list[dict]]) -> list[dict]:
    rows = []
    for channel, messages in histories.items():
        views = sum(m.get("views") or 0 for m in messages)
        forwards = sum(m.get("forwards") or 0 for m in messages)
        rows.append({
            "channel": channel,
            "messages": len(messages),
            "views": views,
            "forwards": forwards,
            "score": views + 10 * forwards + len(messages),
        })
    rows.sort(key=lambda r: (-r["score"], r["channel"]))
    return rows[:TOP]


def rank_coins(histories: dict[str, list[dict]]) -> list[dict]:
    mentions: Counter[str] = Counter()
    where: dict[str, set[str]] = defaultdict(set)
    for channel, messages in histories.items():
        for m in messages:
            for coin in coins_in(m.get("text", "")):
                mentions[coin] += 1
                where[coin].add(channel)
    return [
        {"coin": coin, "mentions": n, "channels": sorted(where[coin])}
        for coin, n in sorted(mentions.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
    ]


def rank_topics(histories: dict[str, list[dict]]) -> list[dict]:
    counts: Counter[str] = Counter()
    coin_words = {c.lower() for c in KNOWN_COINS} | set(_COIN_BY_NAME)
    for messages in histories.values():
        for m in messages:
            text = m.get("text", "")
            seen = {f"#{t.lower()}" for t in _HASHTAG.findall(text)}
            seen |= {
                w.lower() for w in _WORD.findall(_HASHTAG.sub(" ", _CASHTAG.sub(" ", text)))
                if w.lower() not in STOPWORDS and w.lower() not in coin_words
            }
            counts.update(seen)  # once per message: a message repeating a word is one vote
    return [{"topic": t, "messages": n} for t, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]]


RANKERS: dict[str, Callable[[dict[str, list[dict]]], list[dict]]] = {
    "channels": rank_channels,
    "coins": rank_coins,
    "topics": rank_topics,
}


class TrendingService:
    def __init__(
        self,
        source: HistorySource,
        channels: tuple[str, ...],
        cache_seconds: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.source = source
        self.channels = channels
        self.cache_seconds = cache_seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, dict]] = {}
        self.history_reads = 0

    async def get(self, kind: str) -> dict:
        """`kind` is channels, coins or topics; the answer is cached per kind."""
        if kind not in RANKERS:
            raise KeyError(kind)
        now = self._clock()
        hit = self._cache.get(kind)
        if hit is not None and hit[0] > now:
            return {**hit[1], "cached": True}
        histories = await self._read_all()
        answer = {
            kind: RANKERS[kind](histories),
            "generated_at": time.time(),
            "source_channels": list(self.channels),
        }
        self._cache[kind] = (self._clock() + self.cache_seconds, answer)
        return {**answer, "cached": False}

    async def _read_all(self) -> dict[str, list[dict]]:
        self.history_reads += 1
        read_round.set(next(_rounds))  # copied into the gather's tasks
        results = await asyncio.gather(*(self.source.history(c, HISTORY_LIMIT) for c in self.channels))
        return dict(zip(self.channels, results))

    async def summary(self) -> str:
        # Three reads at once on a cold cache, as seed 000's three endpoints were.
        coins, topics, channels = await asyncio.gather(
            self.get("coins"), self.get("topics"), self.get("channels")
        )
        lines = ["Trending now"]
        top_coins = ", ".join(f"{c['coin']} ({c['mentions']})" for c in coins["coins"][:5]) or "none"
        top_topics = ", ".join(t["topic"] for t in topics["topics"][:5]) or "none"
        top_channels = ", ".join(f"@{c['channel']}" for c in channels["channels"][:3]) or "none"
        lines += [f"Coins: {top_coins}", f"Topics: {top_topics}", f"Channels: {top_channels}"]
        return "\n".join(lines)
