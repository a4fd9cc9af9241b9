"""Shared body of the two naive Deriv variants (seed 003): one socket, callers read it themselves.

Only `_receive_reply` differs between them. What they share is what the seed's "connection pool"
did: one websocket per process, opened once, every caller sending its request and then reading
the socket for "its" reply. Tick streams read the same socket in a loop of their own.
"""

from __future__ import annotations

import asyncio
import json

from websockets.asyncio.client import ClientConnection, connect

from ..deriv.connection import deriv_url
from ..deriv.market import NotConfigured, tick_from_history
from ..deriv.router import raise_for_error

REQUEST_TIMEOUT = 10.0


class NaiveSocketMarket:
    def __init__(self, url: str, app_id: str, token: str = ""):
        self.url = deriv_url(url, app_id)
        self.token = token
        self._ws: ClientConnection | None = None
        self._connecting = asyncio.Lock()  # connecting is not the bug here; reading is

    async def _socket(self) -> ClientConnection:
        async with self._connecting:
            if self._ws is None or self._ws.close_code is not None:
                self._ws = await connect(self.url, open_timeout=REQUEST_TIMEOUT)
                if self.token:
                    await self._ws.send(json.dumps({"authorize": self.token}))
                    raise_for_error(await self._receive_reply(self._ws))
            return self._ws

    async def _receive_reply(self, ws: ClientConnection) -> dict:
        raise NotImplementedError

    async def _exchange(self, payload: dict) -> dict:
        ws = await self._socket()
        await ws.send(json.dumps(payload))  # no req_id: nothing would use it
        return raise_for_error(await asyncio.wait_for(self._receive_reply(ws), REQUEST_TIMEOUT))

    async def latest_tick(self, symbol: str) -> dict:
        reply = await self._exchange({"ticks_history": symbol, "end": "latest", "count": 1, "style": "ticks"})
        return tick_from_history(reply, symbol)

    async def balance(self) -> dict:
        if not self.token:
            raise NotConfigured("DERIV_API_TOKEN is not set")
        return (await self._exchange({"balance": 1}))["balance"]

    async def ticks(self, symbol: str):
        first = await self._exchange({"ticks": symbol, "subscribe": 1})
        return _NaiveTicks(self, first)

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()


class _NaiveTicks:
    def __init__(self, market: NaiveSocketMarket, first: dict):
        self.market = market
        self.first = first
        self.closed = False

    def __aiter__(self):
        return self._iterate()

    async def _iterate(self):
        if isinstance(self.first.get("tick"), dict):
            yield self.first["tick"]
        ws = await self.market._socket()
        while not self.closed:
            message = raise_for_error(await self.market._receive_reply(ws))  # reads "the next message"
            if isinstance(message.get("tick"), dict):
                yield message["tick"]

    async def close(self) -> None:
        self.closed = True
        sub = (self.first.get("subscription") or {}).get("id")
        if sub:
            try:
                ws = await self.market._socket()
                await ws.send(json.dumps({"forget": sub}))  # its reply is left for someone else
            except Exception:
                pass
