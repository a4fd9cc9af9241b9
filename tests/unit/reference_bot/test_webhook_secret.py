"""Webhook front (seeds 001, 004): constant-time secret check, 401/200/500 answers, no double handling."""

import asyncio
import hmac

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from botfakes.reference_bot.telegram import webhook as webhook_module
from botfakes.reference_bot.telegram.webhook import SECRET_HEADER, WebhookFront, secret_matches

SECRET = "s3cret_-TOKEN"


def test_secret_matches_only_the_exact_secret():
    assert secret_matches(SECRET, SECRET)
    assert not secret_matches(None, SECRET)
    assert not secret_matches("", SECRET)
    assert not secret_matches(SECRET[:-1], SECRET)
    assert not secret_matches(SECRET + "x", SECRET)
    assert not secret_matches(SECRET.lower(), SECRET)
    assert not secret_matches("sécret", SECRET)  # non-ASCII header must not raise
    assert not secret_matches("anything", "")  # no secret configured never matches


def test_secret_is_compared_with_hmac_compare_digest(monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(webhook_module.hmac, "compare_digest", spy)
    assert secret_matches(SECRET, SECRET)
    assert not secret_matches("wrong", SECRET)
    assert calls == [(SECRET.encode(), SECRET.encode()), (b"wrong", SECRET.encode())]


class Recorder:
    def __init__(self, fail_ids=()):
        self.handled = []
        self.fail_ids = set(fail_ids)

    async def __call__(self, update):
        if update["update_id"] in self.fail_ids:
            self.fail_ids.discard(update["update_id"])
            raise RuntimeError("deriv is down")
        self.handled.append(update["update_id"])


@pytest.fixture
async def webhook_client():
    recorder = Recorder(fail_ids={7})
    front = WebhookFront(None, recorder, url="http://x/hook", path="/hook", secret=SECRET)
    app = web.Application()
    app.router.add_routes(front.routes())
    async with TestClient(TestServer(app)) as client:
        yield client, front, recorder


async def post(client, body, secret=SECRET, raw=False):
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    if raw:
        return await client.post("/hook", data=body, headers=headers)
    return await client.post("/hook", json=body, headers=headers)


async def test_forged_requests_are_rejected_without_handling(webhook_client):
    client, front, recorder = webhook_client
    assert (await post(client, {"update_id": 1}, secret=None)).status == 401
    assert (await post(client, {"update_id": 2}, secret="guess")).status == 401
    assert recorder.handled == [] and front.forged == 2


async def test_bad_update_gets_200_and_is_not_handled(webhook_client):
    client, _, recorder = webhook_client
    assert (await post(client, b"{not json", raw=True)).status == 200
    assert (await post(client, [1, 2])).status == 200
    assert (await post(client, {"message": {}})).status == 200
    assert (await post(client, {"update_id": "5"})).status == 200
    assert recorder.handled == []


async def test_own_failure_gets_500_then_the_retry_is_handled_once(webhook_client):
    client, _, recorder = webhook_client
    assert (await post(client, {"update_id": 7})).status == 500  # Telegram will retry
    assert (await post(client, {"update_id": 7})).status == 200
    assert (await post(client, {"update_id": 7})).status == 200  # a redelivery: not handled again
    assert recorder.handled == [7]


class WatchedInFlight(dict):
    """Signals when a request finds the same update already in flight."""

    def __init__(self):
        super().__init__()
        self.joined = asyncio.Event()

    def get(self, key, default=None):
        value = super().get(key, default)
        if value is not None:
            self.joined.set()
        return value


async def test_same_update_delivered_twice_at_once_is_handled_once():
    entered, release = asyncio.Event(), asyncio.Event()
    handled = []

    async def slow(update):
        entered.set()
        await release.wait()
        handled.append(update["update_id"])

    front = WebhookFront(None, slow, url="http://x/hook", path="/hook", secret=SECRET)
    front._in_flight = WatchedInFlight()
    app = web.Application()
    app.router.add_routes(front.routes())
    async with TestClient(TestServer(app)) as client:
        first = asyncio.create_task(post(client, {"update_id": 9}))
        await asyncio.wait_for(entered.wait(), 10)
        second = asyncio.create_task(post(client, {"update_id": 9}))
        await asyncio.wait_for(front._in_flight.joined.wait(), 10)
        release.set()
        assert [(await first).status, (await second).status] == [200, 200]
    assert handled == [9]
