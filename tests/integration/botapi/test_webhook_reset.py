"""Webhook deliverers of an old world are stopped and awaited by a reset, never left running."""

from __future__ import annotations

import asyncio

from aiohttp import web

from botfakes.fakes.botapi.fake import BotApiFake
from botfakes.fakes.control.plane import ControlPlane


async def test_reset_awaits_deliverers_stopped_by_a_webhook_change():
    hit = asyncio.Event()

    async def hook(request: web.Request) -> web.Response:
        hit.set()
        await asyncio.Event().wait()  # never answers: the delivery stays in flight
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    fake = BotApiFake(ControlPlane(seed=1))
    await fake.start("127.0.0.1", 0)
    try:
        token = fake.register_bot().token
        fake.core.handle(token, "setWebhook", {"url": f"http://127.0.0.1:{port}/hook"})
        old = fake._deliverers[token]
        fake.core.inject_message(token, "hi", user={"id": 7})
        await asyncio.wait_for(hit.wait(), 10)  # a POST of the old deliverer is in flight
        fake.core.handle(token, "setWebhook", {"url": f"http://127.0.0.1:{port}/other"})
        await fake.reset()
        # the old deliverer's stop has finished: its POST is cancelled, its session closed
        assert old._session.closed and not old._tasks
        assert not fake._stopping
    finally:
        await fake.stop()
        await runner.cleanup()
