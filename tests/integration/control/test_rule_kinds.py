"""Every fault-rule kind, request and push stage, against all three fakes: they behave the same.

One probe per fake speaks its protocol with a real client (aiohttp for the Bot API, websockets
for Deriv, Telethon for MTProto) and says what the client saw; the assertions are written once
and hold for every fake. Nothing here waits on time: a delay rule's delay is tiny and only its
journaled passage is checked, and "did not reach the client" is shown by order (the next push is
the first the client gets).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
import websockets
from aiohttp import web

pytestmark = pytest.mark.asyncio

BOUND = 15.0  # bounds a broken run; never a way to wait for something
TINY_DELAY = 0.01


class Probe:
    """One client of one fake: `call()` is one request on the probe's connection."""

    fake = ""
    method = ""  # what the probe's call is journaled as
    push_method = ""  # what its pushes are journaled as
    error: dict[str, Any] = {}  # a fault rule's error in the fake's terms
    error_code: Any = None  # what the journal and the client see for it

    def __init__(self, runtime: Any, plane: Any) -> None:
        self.runtime = runtime
        self.plane = plane  # ControlClient.aio
        self.pushed: asyncio.Queue = asyncio.Queue()  # what the client received unasked

    async def call(self) -> tuple[str, Any]:
        """("ok", None), ("error", code) or ("closed", None), as the client saw it."""
        raise NotImplementedError

    async def trigger_push(self, n: int) -> None:
        """Make the fake push message number `n` to this client."""
        raise NotImplementedError

    def push_label(self, message: Any) -> int:
        """Which triggered push (its n) a received message is."""
        raise NotImplementedError

    async def reopen(self) -> None:
        """A fresh connection after the fake closed this one."""

    async def close(self) -> None:
        pass


class BotApiProbe(Probe):
    fake, method, push_method = "botapi", "getMe", "webhook"
    error = {"error_code": 400, "description": "Bad Request: injected by a fault rule"}
    error_code = 400

    async def open(self) -> "BotApiProbe":
        self.token = await self.plane.botapi.new_bot()
        self.base = f"{self.runtime.url('botapi')}/bot{self.token}"
        self.session = aiohttp.ClientSession()
        return self

    async def call(self) -> tuple[str, Any]:
        try:
            async with self.session.get(f"{self.base}/getMe") as resp:
                body = await resp.json()
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
            return "closed", None
        return ("ok", None) if body["ok"] else ("error", body["error_code"])

    async def open_pushes(self) -> None:
        app = web.Application()

        async def hook(request: web.Request) -> web.Response:
            await self.pushed.put(json.loads(await request.read()))
            return web.Response()

        app.router.add_post("/hook", hook)
        self.hook_runner = web.AppRunner(app, access_log=None)
        await self.hook_runner.setup()
        site = web.TCPSite(self.hook_runner, "127.0.0.1", 0)
        await site.start()
        port = self.hook_runner.addresses[0][1]
        async with self.session.get(f"{self.base}/setWebhook",
                                    params={"url": f"http://127.0.0.1:{port}/hook"}) as resp:
            assert (await resp.json())["ok"]

    async def trigger_push(self, n: int) -> None:
        await self.plane.botapi.send_message(self.token, f"push {n}")

    def push_label(self, message: Any) -> int:
        return int(message["message"]["text"].split()[1])

    async def close(self) -> None:
        await self.session.close()
        if hasattr(self, "hook_runner"):
            await self.hook_runner.cleanup()


class DerivProbe(Probe):
    fake, method, push_method = "deriv", "ping", "tick"
    error = {"code": "RateLimit", "message": "Injected by a fault rule."}
    error_code = "RateLimit"
    STREAM_REQ = 999

    async def open(self) -> "DerivProbe":
        self.endpoint = self.runtime.fakes["deriv"].endpoint
        await self.reopen()
        return self

    async def reopen(self) -> None:
        self.ws = await websockets.connect(self.endpoint)
        self.waiting: dict[int, asyncio.Future] = {}  # req_id -> the reply, when it comes
        self.reader = asyncio.ensure_future(self._read(self.ws))
        self.req_id = 0

    async def _read(self, ws: Any) -> None:
        try:
            async for frame in ws:
                message = json.loads(frame)
                waiter = self.waiting.pop(message.get("req_id"), None)
                if waiter is not None:
                    waiter.set_result(message)
                elif message.get("req_id") == self.STREAM_REQ:
                    await self.pushed.put(message)
        except websockets.ConnectionClosed:
            pass
        for waiter in self.waiting.values():
            waiter.set_result(None)

    async def _ask(self, request: dict) -> dict | None:
        future = asyncio.get_running_loop().create_future()
        self.waiting[request["req_id"]] = future
        try:
            await self.ws.send(json.dumps(request))
        except websockets.ConnectionClosed:
            return None
        return await future

    async def call(self) -> tuple[str, Any]:
        self.req_id += 1
        reply = await self._ask({"ping": 1, "req_id": self.req_id})
        if reply is None:
            return "closed", None
        return ("error", reply["error"]["code"]) if "error" in reply else ("ok", None)

    async def open_pushes(self) -> None:
        first = await self._ask({"ticks": "R_50", "subscribe": 1, "req_id": self.STREAM_REQ})
        assert first is not None and "error" not in first  # the subscription's first tick
        self.epochs: dict[int, int] = {}

    async def trigger_push(self, n: int) -> None:
        market = await self.plane.deriv.step(1)
        self.epochs[market["symbols"]["R_50"]["epoch"]] = n

    def push_label(self, message: Any) -> int:
        return self.epochs[message["tick"]["epoch"]]

    async def close(self) -> None:
        await self.ws.close()
        self.reader.cancel()


class MTProtoProbe(Probe):
    fake, method, push_method = "mtproto", "help.getNearestDc", "updates"
    error = {"error_code": 400, "error_message": "INJECTED_BY_A_RULE"}
    error_code = 400

    def __init__(self, runtime: Any, plane: Any, handle: Any) -> None:
        super().__init__(runtime, plane)
        self.handle = handle

    async def open(self) -> "MTProtoProbe":
        from telethon import events

        self.client = self.handle.client(await self.handle.aio.string_session())
        self.client.add_event_handler(self.pushed.put, events.NewMessage())
        await self.client.connect()
        await self.client.get_me()  # a call with updates: this connection now gets pushes
        return self

    async def call(self) -> tuple[str, Any]:
        from telethon.errors import RPCError
        from telethon.tl import functions as F

        try:
            await self.client(F.help.GetNearestDcRequest())
        except RPCError as exc:
            return "error", exc.code
        except ConnectionError:
            return "closed", None
        return "ok", None

    async def open_pushes(self) -> None:
        pass

    async def trigger_push(self, n: int) -> None:
        await self.handle.aio.post("crypto_signals", f"push {n}")

    def push_label(self, event: Any) -> int:
        return int(event.raw_text.split()[1])

    async def close(self) -> None:
        await self.client.disconnect()


FAKES = ("botapi", "deriv", "mtproto")


@pytest.fixture
async def probe(request, botfakes, deriv, mtproto):
    plane = botfakes.control.aio
    if request.param == "botapi":
        made = BotApiProbe(botfakes, plane)
    elif request.param == "deriv":
        made = DerivProbe(botfakes, plane)
    else:
        made = MTProtoProbe(botfakes, plane, mtproto)
    await made.open()
    try:
        yield made
    finally:
        await made.close()


def rule(p: Probe, action: str, stage: str = "request", **more: Any) -> dict[str, Any]:
    method = p.method if stage == "request" else p.push_method
    spec = {"fake": p.fake, "method": method, "action": action, "stage": stage, "times": 1, **more}
    if action == "error":
        spec["error"] = p.error
    return spec


async def response_to(p: Probe, fault_id: str) -> dict[str, Any]:
    """The response event of the request the rule ended (its data names the rule)."""
    events = await p.plane.wait(fake=p.fake, kind="response", method=p.method, ok=False,
                                timeout=BOUND)
    [event] = [e for e in events if e["data"].get("fault") == fault_id] or events
    return event


async def request_conn(p: Probe, seq: int) -> str:
    [request] = [e for e in await p.plane.journal(fake=p.fake, kind="request", since=seq - 1,
                                                   limit=None) if e["seq"] == seq]
    return request["conn"]


@pytest.mark.parametrize("probe", FAKES, indirect=True)
async def test_request_error_answers_the_rules_error_and_keeps_the_connection(probe):
    fault = await probe.plane.add_fault(**rule(probe, "error"))
    assert await probe.call() == ("error", probe.error_code)
    response = await response_to(probe, fault["id"])
    assert response["outcome"]["code"] == probe.error_code
    assert response["data"]["fault"] == fault["id"]
    assert await probe.call() == ("ok", None)  # the rule fired once; the connection serves on
    conns = {e["conn"] for e in await probe.plane.journal(fake=probe.fake, kind="request",
                                                         method=probe.method)}
    assert len(conns) == 1


@pytest.mark.parametrize("probe", FAKES, indirect=True)
async def test_request_delay_answers_late_but_normally(probe):
    fault = await probe.plane.add_fault(**rule(probe, "delay", delay=TINY_DELAY))
    assert await probe.call() == ("ok", None)
    [fired] = await probe.plane.journal(fake=probe.fake, kind="fault")
    assert fired["data"] == {"rule": fault["id"], "action": "delay"}
    [response] = await probe.plane.journal(fake=probe.fake, kind="response", method=probe.method)
    assert response["request"] == fired["request"] and response["outcome"] == {"ok": True}


@pytest.mark.parametrize("probe", FAKES, indirect=True)
async def test_request_drop_never_answers_and_the_fake_serves_on(probe):
    fault = await probe.plane.add_fault(**rule(probe, "drop"))
    hung = asyncio.ensure_future(probe.call())
    response = await response_to(probe, fault["id"])
    assert response["outcome"] == {"ok": False, "code": "drop", "text": f"fault rule {fault['id']}"}
    dropped_conn = await request_conn(probe, response["request"])
    assert not hung.done()
    if probe.fake == "botapi":  # HTTP/1.1 holds the connection: the next call takes another
        other = BotApiProbe(probe.runtime, probe.plane)
        other.session, other.base = aiohttp.ClientSession(), probe.base
        try:
            assert await other.call() == ("ok", None)
        finally:
            await other.session.close()
    else:
        assert await probe.call() == ("ok", None)
    assert not hung.done()  # still unanswered, and its connection was not closed by the fake
    assert await probe.plane.journal(fake=probe.fake, kind="disconnect", conn=dropped_conn) == []
    hung.cancel()


@pytest.mark.parametrize("probe", FAKES, indirect=True)
async def test_request_close_closes_the_connection_unanswered(probe):
    fault = await probe.plane.add_fault(**rule(probe, "close"))
    seen = asyncio.ensure_future(probe.call())
    response = await response_to(probe, fault["id"])
    assert response["outcome"] == {"ok": False, "code": "close", "text": f"fault rule {fault['id']}"}
    conn = await request_conn(probe, response["request"])
    await probe.plane.wait(fake=probe.fake, kind="disconnect", conn=conn, timeout=BOUND)
    # the client saw its connection close, or (aiohttp, Telethon) resent the call on a new one
    result, _ = await asyncio.wait_for(seen, BOUND)
    if result == "ok":
        requests = await probe.plane.journal(fake=probe.fake, kind="request", method=probe.method)
        assert len({e["conn"] for e in requests}) == 2
    else:
        assert result == "closed"
    await probe.reopen()
    assert await probe.call() == ("ok", None)


async def first_push_received(p: Probe) -> int:
    return p.push_label(await asyncio.wait_for(p.pushed.get(), BOUND))


async def pushes(p: Probe) -> list[dict[str, Any]]:
    return await p.plane.journal(fake=p.fake, kind="push", method=p.push_method)


@pytest.mark.parametrize("action", ["drop", "error", "close"])
@pytest.mark.parametrize("probe", FAKES, indirect=True)
async def test_push_drop_error_close_withhold_the_message(probe, action):
    await probe.open_pushes()
    fault = await probe.plane.add_fault(**rule(probe, action, stage="push"))
    await probe.trigger_push(1)
    [faulted] = await probe.plane.wait(fake=probe.fake, kind="push", method=probe.push_method,
                                       timeout=BOUND)
    assert faulted["outcome"] == {"ok": False, "code": action, "text": f"fault rule {fault['id']}"}
    assert faulted["data"]["fault"] == [fault["id"]]
    if action == "close" and probe.fake != "botapi":  # a stream's connection is closed for it
        await probe.plane.wait(fake=probe.fake, kind="disconnect", conn=faulted["conn"],
                               timeout=BOUND)
        return
    if probe.fake != "botapi":
        await probe.trigger_push(2)
    # the faulted push never reached the client; the next push (for the Bot API: the webhook's
    # retry of the same update, the first retry being at once) is the first it gets
    label = await first_push_received(probe)
    assert label == (1 if probe.fake == "botapi" else 2)
    after = await pushes(probe)
    assert after[1]["outcome"] == {"ok": True} and "fault" not in after[1]["data"]


@pytest.mark.parametrize("probe", FAKES, indirect=True)
async def test_push_delay_sends_the_message_late(probe):
    await probe.open_pushes()
    fault = await probe.plane.add_fault(**rule(probe, "delay", stage="push", delay=TINY_DELAY))
    await probe.trigger_push(1)
    assert await first_push_received(probe) == 1
    [delayed] = await pushes(probe)
    assert delayed["outcome"] == {"ok": True} and delayed["data"]["fault"] == [fault["id"]]
