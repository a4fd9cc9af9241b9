"""Seed 003, the half-fix: `recv()` behind a lock, but no routing by req_id.

The ConcurrencyError is gone, since one caller at a time reads, but each caller takes *the next
message* on the socket as its reply. When the server answers out of order (or a /watch tick comes
in between), callers get each other's replies: /price R_50 reports R_100's quote, a tick stream
swallows a /balance reply and /balance times out. Nothing raises; the answers are just wrong.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

from ._naive_socket import NaiveSocketMarket


class LockedRecvMarket(NaiveSocketMarket):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._recv_lock = asyncio.Lock()

    async def _receive_reply(self, ws) -> dict:
        async with self._recv_lock:  # no ConcurrencyError any more...
            return json.loads(await ws.recv())  # ...but the next message is not necessarily ours


def variant(reference):
    return replace(
        reference,
        make_market=lambda c: LockedRecvMarket(c.deriv_ws_url, c.deriv_app_id, c.deriv_api_token),
    )
