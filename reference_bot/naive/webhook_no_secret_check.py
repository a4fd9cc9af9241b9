"""Seed 001's webhook, before the fix: the route never looks at X-Telegram-Bot-Api-Secret-Token.

setWebhook is still called with a secret (so Telegram's own requests carry it), but the handler
does not compare it: anyone who finds the URL can POST an update and the bot acts on it, as a
grammY `webhookCallback(bot)` without `secretToken` does. What the scenario observes: a forged
update (no header, or a wrong one) is answered 200 and the bot calls the Bot API for its chat;
that call fails with `400 Bad Request: chat not found`, since the chat does not exist, but the bot
acted on it all the same.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from aiohttp import web

log = logging.getLogger(__name__)


def accept_any(front):
    async def on_update(request: web.Request) -> web.Response:
        # The bug: no secret_matches(request.headers.get(SECRET_HEADER), secret) check here.
        try:
            update = await request.json()
        except ValueError:
            return web.Response(status=200)
        if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
            return web.Response(status=200)
        try:
            await front.handle(update)
        except Exception:
            log.exception("webhook: handling update %s failed", update.get("update_id"))
            return web.Response(status=500)
        return web.Response(status=200)

    return on_update


def variant(reference):
    async def make_fronts(ctx):
        fronts = await reference.make_fronts(ctx)
        if ctx.webhook is not None:
            ctx.webhook.on_update = accept_any(ctx.webhook)
        return fronts

    return replace(reference, make_fronts=make_fronts)
