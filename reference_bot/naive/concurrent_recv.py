"""Seed 003, before the fix: concurrent `recv()` on one Deriv websocket.

Every caller sends its request and then calls `recv()` itself on the shared connection. The first
time two commands (or a command and a /watch stream) overlap, websockets raises
`ConcurrencyError: cannot call recv while another coroutine is already running recv or
recv_streaming` (`RuntimeError: cannot call recv while another coroutine is already waiting for
the next message` in the legacy implementation).
"""

from __future__ import annotations

import json
from dataclasses import replace

from ._naive_socket import NaiveSocketMarket


class ConcurrentRecvMarket(NaiveSocketMarket):
    async def _receive_reply(self, ws) -> dict:
        return json.loads(await ws.recv())  # the bug: any number of callers in here at once


def variant(reference):
    return replace(
        reference,
        make_market=lambda c: ConcurrentRecvMarket(c.deriv_ws_url, c.deriv_app_id, c.deriv_api_token),
    )
