"""Webhook front: Telegram POSTs updates to WEBHOOK_PATH on the bot's own aiohttp server.

The rules it keeps (seeds 001 and 004):
- It never calls getUpdates. Seed 004's bot served a webhook and also called `bot.start()`, whose
  long polling collides with the webhook (409) and with itself across instances.
- Every POST must carry `X-Telegram-Bot-Api-Secret-Token` equal to the secret given to setWebhook,
  compared in constant time (`hmac.compare_digest`): a plain `==` stops at the first differing
  byte, and the time it takes tells an attacker how much of a guess was right. A forged request is
  answered 401 and never reaches a handler.
- A body that is not an update (not JSON, no integer update_id) is answered 200: Telegram retries
  every non-2xx answer with backoff and keeps later updates of that chat waiting behind it, so
  answering an unusable update with an error only blocks the chat.
- The bot's own failure while handling (Deriv down, sendMessage failed) is answered 500, so
  Telegram delivers the update again later instead of it being lost.
- Telegram may deliver an update again (a retry after a lost response): update_ids already
  handled are answered 200 without handling them twice.
- The webhook is not deleted on shutdown: while the bot is down Telegram keeps the updates and
  delivers them when it is back, and a replacement instance that already called setWebhook (a
  rolling deploy) would otherwise lose its webhook to the old one's exit.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections import OrderedDict
from typing import Awaitable, Callable

from aiohttp import web

from .client import BotApiClient

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

UpdateHandler = Callable[[dict], Awaitable[None]]


def secret_matches(provided: str | None, expected: str) -> bool:
    """Constant-time comparison of the secret header; a missing header never matches."""
    if provided is None or not expected:
        return False
    # compare_digest refuses non-ASCII str, and a header may hold anything: compare bytes.
    return hmac.compare_digest(
        provided.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape")
    )


class RecentIds:
    """The last `size` handled update_ids, to answer Telegram's redeliveries without handling."""

    def __init__(self, size: int = 10000):
        self._ids: OrderedDict[int, None] = OrderedDict()
        self._size = size

    def __contains__(self, update_id: int) -> bool:
        return update_id in self._ids

    def add(self, update_id: int) -> None:
        self._ids[update_id] = None
        self._ids.move_to_end(update_id)
        while len(self._ids) > self._size:
            self._ids.popitem(last=False)


class WebhookFront:
    mode = "webhook"

    def __init__(self, client: BotApiClient, handle: UpdateHandler, *, url: str, path: str, secret: str):
        self.client = client
        self.handle = handle
        self.url = url
        self.path = path
        self._secret = secret
        self._handled = RecentIds()
        self._in_flight: dict[int, asyncio.Future] = {}
        self.forged = 0  # rejected requests, for /health-free diagnostics in logs and tests
        self._stop = asyncio.Event()

    def routes(self) -> list[web.RouteDef]:
        return [web.post(self.path, self.on_update)]

    async def register(self) -> None:
        """setWebhook with the secret; raises the Bot API's error when Telegram refuses."""
        await self.client.set_webhook(self.url, self._secret, drop_pending_updates=False)
        log.info("webhook set to %s", self.url)

    async def run(self) -> None:
        # Updates arrive through the HTTP server; this only keeps the front alive until stop().
        await self._stop.wait()

    def stop(self) -> None:
        self._stop.set()

    async def on_update(self, request: web.Request) -> web.Response:
        if not secret_matches(request.headers.get(SECRET_HEADER), self._secret):
            self.forged += 1
            log.warning("webhook: rejected a request without the right secret from %s", request.remote)
            return web.Response(status=401, text="unauthorized")
        try:
            update = await request.json()
        except ValueError:
            log.warning("webhook: body is not JSON; answered 200 so Telegram does not retry it")
            return web.Response(status=200)
        uid = update.get("update_id") if isinstance(update, dict) else None
        if not isinstance(uid, int) or isinstance(uid, bool):
            log.warning("webhook: not an update (no integer update_id); answered 200")
            return web.Response(status=200)
        if uid in self._handled:
            return web.Response(status=200)
        running = self._in_flight.get(uid)
        if running is not None:  # the same update delivered twice at once: share the outcome
            ok = await asyncio.shield(running)
            return web.Response(status=200 if ok else 500)
        fut = asyncio.get_running_loop().create_future()
        self._in_flight[uid] = fut
        ok = False
        try:
            await self.handle(update)
            ok = True
            self._handled.add(uid)
        except Exception:
            log.exception("webhook: handling update %s failed; answering 500 so Telegram retries", uid)
        finally:
            del self._in_flight[uid]
            fut.set_result(ok)
        return web.Response(status=200 if ok else 500)
