"""Seed 003: several coroutines sharing one Deriv WebSocket connection.

A gate holds the replies until every request of the round has arrived, so the readers always
overlap (no sleeps, no luck): the bug shows on every run, and so does the half-fix's crossed
replies; the correct single reader that routes by req_id gets every reply right.
"""

from __future__ import annotations

import asyncio
import itertools
import json

import pytest
import websockets
from websockets.exceptions import ConcurrencyError

CONCURRENCY_TEXT = "cannot call recv while another coroutine is already running recv or recv_streaming"


async def test_two_coroutines_calling_recv_get_concurrency_error(deriv):
    """The bug: each "API call" sends its request and then calls recv() on the shared socket."""
    deriv.plane.add_gate(fake="deriv", method="ping", count=2, order="reverse")
    async with websockets.connect(deriv.endpoint) as ws:

        async def api_call(req_id: int) -> dict:
            await ws.send(json.dumps({"ping": 1, "req_id": req_id}))
            return json.loads(await ws.recv())

        results = await asyncio.gather(api_call(1), api_call(2), return_exceptions=True)

    errors = [r for r in results if isinstance(r, BaseException)]
    replies = [r for r in results if not isinstance(r, BaseException)]
    assert len(errors) == 1 and len(replies) == 1, results
    assert type(errors[0]) is ConcurrencyError
    assert isinstance(errors[0], RuntimeError)
    assert str(errors[0]) == CONCURRENCY_TEXT
    # the surviving reader took the first reply the server sent: the gate released in reverse
    assert replies[0]["msg_type"] == "ping" and replies[0]["req_id"] == 2


async def test_locked_recv_taking_the_next_message_gets_crossed_replies(deriv):
    """The half-fix: recv behind a lock, but each caller takes "the next message" as its own."""
    deriv.plane.add_gate(fake="deriv", count=2, order="reverse")
    lock = asyncio.Lock()
    async with websockets.connect(deriv.endpoint) as ws:

        async def api_call(request: dict) -> dict:
            await ws.send(json.dumps(request))
            async with lock:
                return json.loads(await ws.recv())

        ping_reply, time_reply = await asyncio.gather(
            api_call({"ping": 1, "req_id": 1}), api_call({"time": 1, "req_id": 2}))

    # no ConcurrencyError any more, but each caller got the other one's answer
    assert (ping_reply["req_id"], ping_reply["msg_type"]) == (2, "time")
    assert (time_reply["req_id"], time_reply["msg_type"]) == (1, "ping")
    assert "ping" not in ping_reply and ping_reply["echo_req"] == {"time": 1, "req_id": 2}


class RoutingClient:
    """The fix: one reader task per connection; replies go to their caller by req_id."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.pending: dict[int, asyncio.Future] = {}
        self.ids = itertools.count(1)
        self.unexpected: list[dict] = []
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            message = json.loads(raw)
            future = self.pending.pop(message.get("req_id"), None)
            if future is None:
                self.unexpected.append(message)
            else:
                future.set_result(message)

    async def call(self, request: dict) -> dict:
        req_id = next(self.ids)
        future = asyncio.get_running_loop().create_future()
        self.pending[req_id] = future
        await self.ws.send(json.dumps({**request, "req_id": req_id}))
        return await future

    async def close(self) -> None:
        self.reader.cancel()
        await asyncio.gather(self.reader, return_exceptions=True)


@pytest.mark.parametrize("order", ["reverse", "shuffle", [2, 0, 3, 1]])
async def test_single_reader_routing_by_req_id_gets_every_reply_right(deriv, order):
    account = deriv.create_account(balance=500)
    deriv.plane.add_gate(fake="deriv", count=4, order=order)
    async with websockets.connect(deriv.endpoint) as ws:
        client = RoutingClient(ws)
        requests = [{"ping": 1}, {"time": 1}, {"authorize": account["token"]},
                    {"website_status": 1}]
        replies = await asyncio.gather(*(client.call(r) for r in requests))
        await client.close()

    assert [r["msg_type"] for r in replies] == ["ping", "time", "authorize", "website_status"]
    assert [r["req_id"] for r in replies] == [1, 2, 3, 4]
    assert all("error" not in r for r in replies)
    assert replies[2]["authorize"]["loginid"] == account["loginid"]
    assert client.unexpected == []
    # and the replies really left out of order: the journal has them in the gate's order
    responses = deriv.plane.journal(fake="deriv", kind="response")
    sent_order = [e["data"]["messages"][0]["req_id"] for e in responses]
    assert sent_order != [1, 2, 3, 4]
    assert sorted(sent_order) == [1, 2, 3, 4]
