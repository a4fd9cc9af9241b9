"""Assembles the bot from its parts and runs it until SIGTERM/SIGINT.

A variant (reference_bot/naive/) is the reference assembly with exactly one part swapped for its
naive "before": `Parts` names the four swappable parts.

Start-up order: instance guard (exit 3 with the holder's details if another instance runs), the
HTTP server (`/health`, `/trending-*`, and the webhook route in webhook mode), getMe (for
`/cmd@botname` in groups), then the front: webhook (setWebhook with secret; on failure, polling)
or polling (deleteWebhook, then getUpdates). A line `BOT READY {...json...}` on stdout says the bot
serves (tests and scripts wait for it instead of sleeping).

Shutdown on SIGTERM/SIGINT: stop taking updates, let handlers in flight finish (bounded), stop
watches, close Deriv and Telethon, stop the HTTP server, release the lock, exit 0.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
import time
from dataclasses import dataclass
from typing import Awaitable, Callable, Protocol

from aiohttp import web

from .backoff import retrying
from .commands import Bot
from .config import Config
from .deriv.connection import DerivConnection
from .deriv.market import DerivMarket, Market
from .telegram.client import BotApiClient, NetworkError, TelegramError, Unauthorized
from .telegram.guard import EXIT_ANOTHER_INSTANCE, AnotherInstanceRunning, InstanceGuard
from .telegram.polling import FatalPollingError, PollingFront
from .telegram.webhook import WebhookFront
from .telethon.sessionfile import SessionInUse
from .telethon.trending import HistorySource, TrendingService

log = logging.getLogger("reference_bot")

EXIT_OK = 0
EXIT_CONFIG = 2
EXIT_FATAL = 4
SHUTDOWN_GRACE = 10.0


class Front(Protocol):
    mode: str

    async def run(self) -> None: ...

    def stop(self) -> None: ...


class Guard(Protocol):
    def acquire(self) -> None: ...

    def release(self) -> None: ...


@dataclass
class Context:
    config: Config
    api: BotApiClient
    bot: Bot
    # The webhook route exists from the start (aiohttp routes are fixed once the server runs, and
    # the server must run before setWebhook, since Telegram may POST right after); it serves
    # only once a webhook front is installed here.
    webhook: WebhookFront | None = None

    async def dispatch_webhook(self, request: web.Request) -> web.StreamResponse:
        if self.webhook is None:
            raise web.HTTPNotFound()
        return await self.webhook.on_update(request)


@dataclass
class Parts:
    """The swappable parts; the reference values apply every fix."""

    make_guard: Callable[[Config], Guard]
    make_market: Callable[[Config], Market]
    make_history_source: Callable[[Config], HistorySource]
    make_fronts: Callable[[Context], Awaitable[list[Front]]]


def reference_guard(config: Config) -> Guard:
    return InstanceGuard(config.data_dir)


def reference_market(config: Config) -> Market:
    return DerivMarket(DerivConnection(config.deriv_ws_url, config.deriv_app_id, config.deriv_api_token))


def reference_history_source(config: Config) -> HistorySource:
    # Imported here: Telethon takes half a second to import, and many runs do not use it.
    from .telethon.gateway import TelethonGateway

    return TelethonGateway(config.telethon_session, config.telegram_api_id, config.telegram_api_hash)


def polling_front(ctx: Context) -> PollingFront:
    return PollingFront(ctx.api, ctx.bot.handle_update, ctx.config.data_dir)


def webhook_front(ctx: Context) -> WebhookFront:
    c = ctx.config
    return WebhookFront(ctx.api, ctx.bot.handle_update, url=c.webhook_full_url, path=c.webhook_path, secret=c.webhook_secret)


async def reference_fronts(ctx: Context) -> list[Front]:
    if not ctx.config.use_webhook:
        return [polling_front(ctx)]
    front = webhook_front(ctx)
    try:
        await front.register()
    except (TelegramError, NetworkError) as exc:
        if isinstance(exc, Unauthorized):
            raise
        # Seed 001: a bot that cannot set its webhook still serves, by polling.
        log.error("setWebhook failed (%s); falling back to long polling", exc)
        return [polling_front(ctx)]
    ctx.webhook = front
    return [front]


REFERENCE = Parts(reference_guard, reference_market, reference_history_source, reference_fronts)


def parts_for(variant: str) -> Parts:
    if variant == "reference":
        return REFERENCE
    from .naive import VARIANTS

    return VARIANTS[variant](REFERENCE)


def health_routes(started: float, modes: Callable[[], list[str]], variant: str) -> list[web.RouteDef]:
    async def health(request: web.Request) -> web.Response:
        # Deliberately no PID, host, token or secret: /health is often public.
        return web.json_response({
            "status": "ok",
            "mode": "+".join(modes()) or "starting",
            "uptime": round(time.monotonic() - started, 3),
            "variant": variant,
        })

    return [web.get("/health", health)]


def trending_routes(trending: TrendingService | None) -> list[web.RouteDef]:
    def route(kind: str):
        async def handler(request: web.Request) -> web.Response:
            if trending is None:
                return web.json_response({"error": "not_configured", "detail": "Telethon is not configured"}, status=503)
            try:
                return web.json_response(await trending.get(kind))
            except Exception as exc:
                log.warning("/trending-%s failed: %s: %s", kind, type(exc).__name__, exc)
                return web.json_response({"error": type(exc).__name__, "detail": str(exc)[:300]}, status=503)

        return handler

    return [web.get(f"/trending-{k}", route(k)) for k in ("channels", "coins", "topics")]


async def get_username(api: BotApiClient, stop: asyncio.Event) -> str | None:
    """The bot's @username (to recognise /cmd@name in groups); None after 5 failures or a stop."""

    async def username() -> str | None:
        if stop.is_set():  # shutting down while waiting to retry
            return None
        return (await api.get_me()).get("username")

    def transient(exc: BaseException) -> bool:
        return isinstance(exc, (TelegramError, NetworkError)) and not isinstance(exc, Unauthorized)

    try:
        return await retrying("getMe", transient, attempts=5, cap=8.0, log=log, stop_event=stop)(username)
    except Unauthorized:
        raise
    except (TelegramError, NetworkError) as exc:
        log.warning("getMe kept failing (%s); accepting /cmd@anybot in groups", exc)
        return None


async def run(config: Config) -> int:
    parts = parts_for(config.variant)
    guard = parts.make_guard(config)
    try:
        guard.acquire()
    except AnotherInstanceRunning as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return EXIT_ANOTHER_INSTANCE

    started = time.monotonic()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    try:
        source = parts.make_history_source(config) if config.telethon_enabled else None
    except SessionInUse as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        guard.release()
        return EXIT_ANOTHER_INSTANCE
    api = BotApiClient(config.bot_token, config.api_base_url)
    market = parts.make_market(config)
    trending = TrendingService(source, config.trending_channels, config.trending_cache_seconds) if source else None
    fronts: list[Front] = []
    bot = Bot(api, market, trending)
    ctx = Context(config, api, bot)
    app = web.Application()
    app.router.add_routes(health_routes(started, lambda: [f.mode for f in fronts], config.variant))
    app.router.add_routes(trending_routes(trending))
    if config.use_webhook:
        app.router.add_post(config.webhook_path, ctx.dispatch_webhook)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_GRACE)
    exit_code = EXIT_OK
    try:
        await runner.setup()
        site = web.TCPSite(runner, config.host, config.port)
        await site.start()
        port = runner.addresses[0][1] if runner.addresses else config.port
        bot.bot_username = await get_username(api, stop)
        username = bot.bot_username
        fronts.extend(await parts.make_fronts(ctx))
        print("BOT READY " + json.dumps({"mode": "+".join(f.mode for f in fronts), "port": port,
                                         "variant": config.variant}), flush=True)
        log.info("serving on %s:%s as @%s, mode %s", config.host, port, username, "+".join(f.mode for f in fronts))
        tasks = [asyncio.create_task(f.run(), name=f"front-{f.mode}") for f in fronts]
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({*tasks, stopper}, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not stopper and task.exception() is not None:
                raise task.exception()
        log.info("stopping")
        for f in fronts:
            f.stop()
        stopper.cancel()
        await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE)
    except (FatalPollingError, Unauthorized) as exc:
        print(f"error: the Bot API refused this token: {exc}", file=sys.stderr, flush=True)
        exit_code = EXIT_FATAL
    finally:
        # Stop taking requests first and let webhook handlers in flight finish (bounded), so an
        # update being handled is answered rather than failed by a closed Deriv connection.
        await runner.cleanup()
        for closer in (bot.close, market.close, source.close if source else None):
            if closer is None:
                continue
            try:
                await asyncio.wait_for(closer(), SHUTDOWN_GRACE)
            except Exception as exc:
                log.warning("shutdown: %s: %s", type(exc).__name__, exc)
        await api.close()
        guard.release()
    return exit_code
