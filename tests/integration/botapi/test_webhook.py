"""Webhook delivery to real webhook servers: aiogram's own aiohttp handler, and a bare aiohttp app."""

from __future__ import annotations

import asyncio
import json
import logging
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import urlopen

import pytest
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import CommandStart
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

pytestmark = [pytest.mark.slow]
logging.getLogger("aiogram").setLevel(logging.CRITICAL)


def call_api(botapi, token: str, method: str, **params) -> dict:
    """A plain HTTP call to the fake (blocking: run it in a thread from async tests)."""
    try:
        with urlopen(botapi.api_url(token, method) + "?" + urlencode(params)) as resp:
            return json.loads(resp.read())
    except HTTPError as exc:  # the error envelope is the body
        return json.loads(exc.read())


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def test_aiogram_webhook_secret_500_retry_and_reply_method(botapi):
    token = botapi.new_bot()
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(botapi.url)))
    dp = Dispatcher()
    seen: list[str] = []

    @dp.message(CommandStart())
    async def start(message):
        seen.append(message.text)
        if len(seen) == 1:
            raise RuntimeError("the first delivery fails: aiohttp answers 500")
        # Returned, not awaited: aiogram puts the call in the webhook reply body (multipart).
        return message.answer("Hello from the webhook reply!")

    app = web.Application()
    SimpleRequestHandler(dp, bot, handle_in_background=False, secret_token="s3cr3t-T0ken").register(app, "/hook")
    runner, url = await serve(app)
    try:
        assert await bot.set_webhook(f"{url}/hook", secret_token="s3cr3t-T0ken")
        await asyncio.to_thread(botapi.send_message, token, "/start", {"id": 9})
        await asyncio.to_thread(botapi.wait_sent, token)
        info = await bot.get_webhook_info()
    finally:
        await bot.delete_webhook()
        await bot.session.close()
        await runner.cleanup()
    assert seen == ["/start", "/start"]  # delivered, failed with 500, retried at once
    assert info.url == f"{url}/hook"
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
    assert info.pending_update_count == 0
    assert botapi.sent(token)[9][0]["text"] == "Hello from the webhook reply!"
    counters = botapi.control.counters()
    assert counters["botapi.webhook.attempts"] == 2 and counters["botapi.webhook.failures"] == 1


async def test_webhook_secret_header_failure_and_retry_after_honoured(botapi):
    """A bot answering 429 with Retry-After: recorded as the last error, and the retry waits that long."""
    token = botapi.new_bot()
    bodies: list[dict] = []
    secrets: list[str] = []
    failed = asyncio.Event()

    async def hook(request: web.Request) -> web.Response:
        secrets.append(request.headers.get("X-Telegram-Bot-Api-Secret-Token", ""))
        bodies.append(await request.json())
        if len(bodies) == 1:
            failed.set()
            return web.Response(status=429, headers={"Retry-After": "3600"})
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner, url = await serve(app)
    try:
        def api(method: str, **params) -> dict:
            return call_api(botapi, token, method, **params)

        assert (await asyncio.to_thread(api, "setWebhook", url=f"{url}/hook", secret_token="abc"))["ok"]
        await asyncio.to_thread(botapi.send_message, token, "one")
        await failed.wait()
        info = (await asyncio.to_thread(api, "getWebhookInfo"))["result"]
        assert info["last_error_message"] == "Wrong response from the webhook: 429 Too Many Requests"
        assert info["pending_update_count"] == 1
        assert len(bodies) == 1  # Retry-After: 3600 holds the retry
        assert secrets == ["abc"]
        assert bodies[0]["message"]["text"] == "one"
        await asyncio.to_thread(api, "deleteWebhook")
    finally:
        await runner.cleanup()


async def test_webhook_per_chat_order_with_parallel_chats(botapi):
    """Two chats: each chat's updates arrive in order, one at a time; chats proceed in parallel."""
    token = botapi.new_bot()
    arrivals: list[tuple[int, str]] = []
    in_flight: dict[int, int] = {}
    overlap = asyncio.Event()
    both_started = asyncio.Event()
    release = asyncio.Event()
    total = 6

    async def hook(request: web.Request) -> web.Response:
        update = await request.json()
        chat = update["message"]["chat"]["id"]
        in_flight[chat] = in_flight.get(chat, 0) + 1
        if in_flight[chat] > 1:
            overlap.set()
        arrivals.append((chat, update["message"]["text"]))
        if len({c for c, n in in_flight.items() if n}) == 2:
            both_started.set()
        await release.wait()
        in_flight[chat] -= 1
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner, url = await serve(app)
    try:
        await asyncio.to_thread(call_api, botapi, token, "setWebhook", url=f"{url}/hook")
        for i in range(total // 2):
            await asyncio.to_thread(botapi.send_message, token, f"a{i}", {"id": 1001})
            await asyncio.to_thread(botapi.send_message, token, f"b{i}", {"id": 1002})
        await both_started.wait()  # one head per chat in flight at the same time
        release.set()
        await asyncio.to_thread(botapi.wait, total, 10.0, kind="note", method="webhook")
        await asyncio.to_thread(call_api, botapi, token, "deleteWebhook")
    finally:
        release.set()
        await runner.cleanup()
    assert not overlap.is_set()
    assert [t for c, t in arrivals if c == 1001] == ["a0", "a1", "a2"]
    assert [t for c, t in arrivals if c == 1002] == ["b0", "b1", "b2"]
