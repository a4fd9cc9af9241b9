"""Trending service (seed 000) and the Telethon gateway's rules (seeds 000, 002).

The gateway test uses a recording stand-in for TelegramClient to pin its two rules (one connect
for concurrent first callers, never two calls at once); the integration tests run the same code
with real Telethon against the MTProto fake.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from botfakes.reference_bot.telethon.gateway import SessionInUse, TelethonGateway, is_session_path
from botfakes.reference_bot.telethon.trending import TrendingService, coins_in, rank_coins, rank_topics


def msg(text, views=0, channel="c"):
    return {"channel": channel, "id": 1, "date": 0, "text": text, "views": views, "forwards": 0}


def test_coins_are_found_as_cashtags_tickers_and_names():
    assert coins_in("$BTC to the moon, Solana too, ETH flat") == {"BTC", "SOL", "ETH"}
    assert coins_in("eth in lower case is a word, not a ticker") == set()
    assert coins_in("nothing here") == set()
    assert coins_in("#TON pumps") == {"TON"}


def test_rankings_are_ordered_and_deterministic():
    histories = {"a": [msg("$BTC up #halving"), msg("bitcoin and $ETH #halving")], "b": [msg("ETH ETH")]}
    coins = rank_coins(histories)
    assert [c["coin"] for c in coins] == ["BTC", "ETH"]  # ties break by name
    assert {c["coin"]: c["mentions"] for c in coins} == {"BTC": 2, "ETH": 2}
    assert coins == rank_coins(histories)
    topics = rank_topics(histories)
    assert topics[0] == {"topic": "#halving", "messages": 2}


class CountingSource:
    def __init__(self):
        self.reads = 0

    async def history(self, channel, limit=100):
        self.reads += 1
        return [msg(f"$BTC from {channel}", channel=channel)]

    async def close(self):
        pass


async def test_answers_are_cached_per_kind_for_the_configured_time():
    now = [0.0]
    source = CountingSource()
    service = TrendingService(source, ("x", "y"), cache_seconds=60, clock=lambda: now[0])
    first = await service.get("coins")
    assert first["cached"] is False and first["coins"][0]["coin"] == "BTC"
    assert (await service.get("coins"))["cached"] is True
    assert source.reads == 2  # one read per channel
    await service.get("topics")  # its own cache entry
    assert source.reads == 4
    now[0] = 61.0
    assert (await service.get("coins"))["cached"] is False
    assert source.reads == 6
    with pytest.raises(KeyError):
        await service.get("nope")


class RecordingClient:
    """Stands in for TelegramClient: counts connects and concurrent calls."""

    instances = []

    def __init__(self, session, api_id, api_hash, **kwargs):
        self.connects = 0
        self.active = 0
        self.max_active = 0
        self.connected = False
        self.connect_gate = asyncio.Event()
        RecordingClient.instances.append(self)

    async def connect(self):
        self.connects += 1
        await self.connect_gate.wait()
        self.connected = True

    def is_connected(self):
        return self.connected

    async def get_messages(self, channel, limit):
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        await asyncio.sleep(0)  # give any other caller the chance to overlap
        self.active -= 1
        return [SimpleNamespace(id=1, date=datetime(2025, 1, 1, tzinfo=timezone.utc), message=f"$ETH {channel}",
                                views=5, forwards=1)]

    async def disconnect(self):
        self.connected = False


async def test_gateway_connects_once_and_serializes_every_call():
    RecordingClient.instances.clear()
    gateway = TelethonGateway("", 1, "hash", client_factory=RecordingClient)
    (client,) = RecordingClient.instances
    calls = [asyncio.create_task(gateway.history(f"ch{i}")) for i in range(6)]
    await asyncio.sleep(0)
    client.connect_gate.set()
    results = await asyncio.gather(*calls)
    assert client.connects == 1
    assert client.max_active == 1
    assert [r[0]["text"] for r in results] == [f"$ETH ch{i}" for i in range(6)]
    assert results[0][0]["views"] == 5
    await gateway.close()


def test_a_session_file_serves_one_process(tmp_path):
    path = str(tmp_path / "bot.session")
    assert is_session_path(path) and not is_session_path("1BVtsOK4Bu3")
    first = TelethonGateway(path, 1, "hash", client_factory=RecordingClient)
    with pytest.raises(SessionInUse, match="in use by another process"):
        TelethonGateway(path, 1, "hash", client_factory=RecordingClient)
    asyncio.run(first.close())
    TelethonGateway(path, 1, "hash", client_factory=RecordingClient)  # free again
