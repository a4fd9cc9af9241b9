"""The trading calls the bot's commands use, over one DerivConnection.

The naive variants (reference_bot/naive/) implement the same three calls over their broken
socket handling, so the commands and the rest of the bot are identical across variants.
"""

from __future__ import annotations

from typing import AsyncIterator, Protocol

from .connection import DerivConnection, Subscription
from .router import DerivError


class NotConfigured(RuntimeError):
    pass


class TickStream(Protocol):
    def __aiter__(self) -> AsyncIterator[dict]: ...

    async def close(self) -> None: ...


class Market(Protocol):
    async def latest_tick(self, symbol: str) -> dict: ...

    async def balance(self) -> dict: ...

    async def ticks(self, symbol: str) -> TickStream: ...

    async def close(self) -> None: ...


def tick_from_history(reply: dict, symbol: str) -> dict:
    history = reply.get("history") or {}
    prices, times = history.get("prices") or [], history.get("times") or []
    if not prices:
        raise DerivError("NoTicks", f"No ticks for {symbol}.", reply)
    return {"symbol": symbol, "quote": prices[-1], "epoch": times[-1] if times else None,
            "pip_size": reply.get("pip_size")}


class _TickIterator:
    """Yields the `tick` objects of a ticks Subscription."""

    def __init__(self, sub: Subscription):
        self._sub = sub

    def __aiter__(self) -> AsyncIterator[dict]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[dict]:
        async for message in self._sub:
            tick = message.get("tick")
            if isinstance(tick, dict):
                yield tick

    async def close(self) -> None:
        await self._sub.close()


class DerivMarket:
    def __init__(self, connection: DerivConnection):
        self.connection = connection

    async def latest_tick(self, symbol: str) -> dict:
        reply = await self.connection.request(
            {"ticks_history": symbol, "end": "latest", "count": 1, "style": "ticks"}
        )
        return tick_from_history(reply, symbol)

    async def balance(self) -> dict:
        if not self.connection._token:
            raise NotConfigured("DERIV_API_TOKEN is not set")
        try:
            reply = await self.connection.request({"balance": 1})
        except DerivError as exc:
            # "Please log in." hides the cause when authorize itself was refused: report that.
            if self.connection.auth_error is not None:
                raise self.connection.auth_error from exc
            raise
        return reply["balance"]

    async def ticks(self, symbol: str) -> TickStream:
        return _TickIterator(await self.connection.subscribe({"ticks": symbol}))

    async def close(self) -> None:
        await self.connection.close()
