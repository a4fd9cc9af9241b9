"""Seed 004, before the fix: webhook mode that also starts long polling in the same process.

The seed's bot served updates over a webhook and still called `bot.start()`, which long-polls.
Here the webhook front is the reference one (setWebhook with secret, updates POSTed to
WEBHOOK_PATH) and next to it runs the polling start the seed removed: a getUpdates loop that, like
aiogram's, does not delete the webhook first. While the webhook is set every getUpdates is answered
`409 Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the
webhook first`, logged and retried forever; with a second instance it is the other 409s as well.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from ..telegram.client import NetworkError, TelegramError

log = logging.getLogger(__name__)


class StartPolling:
    """`bot.start()`: getUpdates in a loop, confirming on fetch, no deleteWebhook."""

    mode = "polling"

    def __init__(self, api, handle):
        self.api = api
        self.handle = handle
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        offset = None
        while not self._stop.is_set():
            poll = asyncio.ensure_future(self.api.get_updates(offset, timeout=25))
            stopper = asyncio.ensure_future(self._stop.wait())
            await asyncio.wait({poll, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            if not poll.done():
                poll.cancel()
                await asyncio.gather(poll, return_exceptions=True)
                return
            try:
                updates = poll.result()
            except (TelegramError, NetworkError) as exc:
                log.error("getUpdates failed: %s", exc)  # the 409 the seed saw
                try:
                    await asyncio.wait_for(self._stop.wait(), 1.0)
                except asyncio.TimeoutError:
                    pass
                continue
            for update in updates:
                offset = update["update_id"] + 1
                try:
                    await self.handle(update)
                except Exception:
                    log.exception("update %s failed", update.get("update_id"))


def variant(reference):
    async def make_fronts(ctx):
        fronts = await reference.make_fronts(ctx)
        if not ctx.config.use_webhook:
            return fronts  # in polling mode there is no webhook to conflict with: the reference
        return fronts + [StartPolling(ctx.api, ctx.bot.handle_update)]  # the bug: polling too

    return replace(reference, make_fronts=make_fronts)
