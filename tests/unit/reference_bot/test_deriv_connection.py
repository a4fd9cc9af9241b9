"""The Deriv connection manager (seed 003) against a small scripted in-process websocket server.

The integration tests run it against the real Deriv fake; these pin the manager's own rules:
one reader, replies by req_id even out of order, a timeout per request, reconnect that
re-authorizes and resubscribes, RateLimit retried.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.server import serve

from botfakes.reference_bot.deriv.connection import DerivConnection, deriv_url
from botfakes.reference_bot.deriv.router import DerivError, RequestTimeout


class ScriptedServer:
    """Collects requests; `on_request(ws, request)` decides what to answer (default: nothing)."""

    def __init__(self):
        self.requests: asyncio.Queue = asyncio.Queue()
        self.connections = []
        self.on_request = None

    async def handler(self, ws):
        self.connections.append(ws)
        async for raw in ws:
            request = json.loads(raw)
            await self.requests.put((ws, request))
            if self.on_request is not None:
                await self.on_request(ws, request)

    async def next_requests(self, n):
        return [await asyncio.wait_for(self.requests.get(), 10) for _ in range(n)]


def answer(request, **body):
    name = next(k for k in request if k not in ("req_id", "subscribe", "passthrough"))
    return json.dumps({"echo_req": request, "msg_type": name, "req_id": request["req_id"], **body})


@pytest.fixture
async def server():
    scripted = ScriptedServer()
    async with serve(scripted.handler, "127.0.0.1", 0) as srv:
        port = srv.sockets[0].getsockname()[1]
        scripted.url = f"ws://127.0.0.1:{port}/websockets/v3"
        yield scripted


def test_url_gets_app_id_and_language():
    assert deriv_url("wss://ws.derivws.com/websockets/v3", "1089") == "wss://ws.derivws.com/websockets/v3?app_id=1089&l=EN"
    assert deriv_url("ws://h/ws?app_id=5", "1089") == "ws://h/ws?app_id=5&l=EN"


async def test_concurrent_requests_answered_in_reverse_get_their_own_replies(server):
    conn = DerivConnection(server.url, "1089", request_timeout=5)
    calls = [asyncio.create_task(conn.request({"ticks_history": f"R_{n}", "end": "latest"})) for n in (10, 25, 50)]
    held = await server.next_requests(3)
    for ws, request in reversed(held):  # the server answers out of order
        await ws.send(answer(request, history={"prices": [request["ticks_history"]]}))
    replies = await asyncio.gather(*calls)
    assert [r["history"]["prices"] for r in replies] == [["R_10"], ["R_25"], ["R_50"]]
    assert len(server.connections) == 1 and conn.connects == 1
    await conn.close()


async def test_missing_reply_times_out_and_its_late_reply_reaches_nobody(server):
    conn = DerivConnection(server.url, "1089", request_timeout=0.2)
    with pytest.raises(RequestTimeout):
        await conn.request({"ping": 1})
    ((ws, lost),) = await server.next_requests(1)
    conn.request_timeout = 5
    second = asyncio.create_task(conn.request({"ping": 1}))
    ((_, mine),) = await server.next_requests(1)
    await ws.send(answer(lost, ping="late"))  # after its caller gave up
    await ws.send(answer(mine, ping="pong"))
    assert (await second)["ping"] == "pong"
    assert conn.router.unmatched == 1
    await conn.close()


async def test_rate_limit_is_retried_with_backoff(server):
    conn = DerivConnection(server.url, "1089", request_timeout=5, rate_limit_backoff_first=0.01, backoff_cap=0.02)
    attempts = []

    async def on_request(ws, request):
        attempts.append(request)
        if len(attempts) == 1:
            await ws.send(json.dumps({"echo_req": request, "msg_type": "ticks_history", "req_id": request["req_id"],
                                      "error": {"code": "RateLimit", "message": "You have reached the rate limit for ticks_history."}}))
        else:
            await ws.send(answer(request, history={"prices": [1]}))

    server.on_request = on_request
    reply = await conn.request({"ticks_history": "R_50", "end": "latest"})
    assert reply["history"]["prices"] == [1] and len(attempts) == 2
    assert attempts[0]["req_id"] != attempts[1]["req_id"]
    await conn.close()


async def test_other_errors_raise_with_the_servers_code_and_message(server):
    conn = DerivConnection(server.url, "1089", request_timeout=5)

    async def on_request(ws, request):
        await ws.send(json.dumps({"echo_req": request, "msg_type": "ticks_history", "req_id": request["req_id"],
                                  "error": {"code": "InvalidSymbol", "message": "Symbol NOPE invalid."}}))

    server.on_request = on_request
    with pytest.raises(DerivError) as info:
        await conn.request({"ticks_history": "NOPE", "end": "latest"})
    assert (info.value.code, info.value.message) == ("InvalidSymbol", "Symbol NOPE invalid.")
    await conn.close()


async def test_reconnect_reauthorizes_and_resubscribes(server):
    streams = iter(["sub-1", "sub-2"])

    async def on_request(ws, request):
        if "authorize" in request:
            await ws.send(answer(request, authorize={"loginid": "VRTC1", "balance": 10}))
        elif "ticks" in request:
            sid = next(streams)
            await ws.send(json.dumps({"echo_req": request, "msg_type": "tick", "req_id": request["req_id"],
                                      "tick": {"quote": sid, "symbol": "R_50", "id": sid}, "subscription": {"id": sid}}))

    server.on_request = on_request
    conn = DerivConnection(server.url, "1089", "tok", request_timeout=5, backoff_first=0.01, backoff_cap=0.02)
    sub = await conn.subscribe({"ticks": "R_50"})
    ticks = aiter(sub)
    assert (await anext(ticks))["tick"]["quote"] == "sub-1"
    first_ws = server.connections[0]
    await first_ws.close()  # the server drops the connection
    # The manager reconnects, authorizes again, then subscribes again before anything else.
    reqs = await server.next_requests(4)  # authorize, ticks, authorize, ticks
    assert [next(iter(k for k in r if k != "req_id")) for _, r in reqs] == ["authorize", "ticks", "authorize", "ticks"]
    assert reqs[2][1]["authorize"] == "tok"
    second_ws = server.connections[1]
    await second_ws.send(json.dumps({"echo_req": reqs[3][1], "msg_type": "tick", "req_id": reqs[3][1]["req_id"],
                                     "tick": {"quote": 42, "symbol": "R_50", "id": "sub-2"},
                                     "subscription": {"id": "sub-2"}}))
    assert (await asyncio.wait_for(anext(ticks), 5))["tick"]["quote"] == 42
    assert conn.connects == 2 and sub.id == "sub-2"
    await conn.close()
