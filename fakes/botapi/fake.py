"""The fake Telegram Bot API server as the runtime sees it: start/stop, reset, routes, CLI options.

Which server it follows: the local telegram-bot-api server (tdlib/telegram-bot-api), whose
sources are public, where api.telegram.org is not. One known deviation from api.telegram.org: a
malformed token (no ":" or a non-numeric bot id) gets 401 "Unauthorized: invalid token specified"
as ClientManager.cpp answers it, where api.telegram.org answers 404 "Not Found".

Reset: a new world (bots, chats, updates, webhooks, rate limits). HTTP keep-alive connections stay
open across it (a client does not see a reset), but nothing from before it reaches the new journal:
a reply still pending at the reset (a parked long poll, a delayed 409) is sent but not journaled, a
kept-alive connection gets a fresh "connect" event when it carries its first request of the new
world, old webhook deliverers are stopped and awaited, and requests held by a "drop" rule are let
go (their connection is cut, still unanswered).

Fault rules: "error" answers the rule's Bot API error; "drop" receives the request and never
answers it, holding the connection open until the client gives up (or a reset or stop); "close"
aborts the TCP connection without an answer.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
from typing import Any

from aiohttp import web

from ..control.enact import FaultAnswer, enact_request
from ..control.fake import Fake
from ..control.links import NullLink
from ..control.plane import ControlPlane
from .core import Bot, BotApiConfig, BotApiCore, Update, canonical_method
from .delivery import WebhookDeliverer
from .ratelimit import RateLimits
from .routes import control_routes
from .transport import FAKE, HTTP_LOGGER, PARSER_LIMITS, BotApiHttp, answer_parser_errors_bare, outcome_of

# The example token of Telegram's own documentation: a ready bot when none is given.
DEFAULT_TOKEN = "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
_TOKEN_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"


def config_from(options: dict[str, Any]) -> BotApiConfig:
    config = BotApiConfig()
    apply_config(config, options)
    return config


def apply_config(config: BotApiConfig, options: dict[str, Any]) -> None:
    names = {f.name for f in dataclasses.fields(BotApiConfig)}
    for key, value in options.items():
        if key == "rate_limits":
            limits = value if isinstance(value, RateLimits) else RateLimits.from_dict(
                {**config.rate_limits.to_dict(), **dict(value)})
            config.rate_limits.__dict__.update(limits.__dict__)
        elif key in names:
            setattr(config, key, type(getattr(config, key))(value))
        else:
            raise ValueError(f"unknown Bot API option {key!r}")


class BotApiFake(Fake):
    name = "botapi"
    default_port = 8081

    def __init__(self, plane: ControlPlane, bots: list[str] | None = None, **options: Any) -> None:
        super().__init__(plane, bots=bots, **options)
        self.initial_bots = list(bots or [DEFAULT_TOKEN])
        self.config_options = dict(options)
        self.core = BotApiCore(config_from(self.config_options))
        self.http = BotApiHttp(self.core, plane)
        self._deliverers: dict[str, WebhookDeliverer] = {}
        # deliverers being stopped after a webhook change; reset/stop await them so no POST of an
        # old world lands later
        self._stopping: set[asyncio.Task] = set()
        self._runner: web.AppRunner | None = None
        self._wire_core()
        self._register_initial()

    def _wire_core(self) -> None:
        self.core.count = self.plane.count
        self.core.on_webhook_changed = self._webhook_changed
        self.core.on_update_queued = self._update_queued

    def _register_initial(self) -> None:
        for token in self.initial_bots:
            self.core.register_bot(token)

    # ---- lifecycle -------------------------------------------------------------------------------
    async def start(self, host: str, port: int) -> None:
        app = web.Application(client_max_size=1 << 30, middlewares=[self._unrouted])
        if self.control_app is not None:  # a fake started without a runtime has no control API
            app.add_subapp("/_control/", self.control_subapp())
        app.router.add_route("*", "/{tail:.*}", self.http.handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0, logger=HTTP_LOGGER,
                                     **PARSER_LIMITS)
        await self._runner.setup()
        assert self._runner.server is not None
        answer_parser_errors_bare(self._runner.server)
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        assert self._runner.server is not None
        self.http.observe(self._runner.server)
        self.host = host
        self.port = self._runner.addresses[0][1]

    @web.middleware
    async def _unrouted(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """A target no route matches ("*", "x" without a slash) gets the Bot API front's answer
        (404 Not Found as JSON, or the reader's refusal), not aiohttp's plain-text 404."""
        try:
            return await handler(request)
        except web.HTTPNotFound:
            return await self.http.handle(request)

    async def stop(self) -> None:
        self.http.cut_all()
        await self._stop_deliverers()
        self.core.reset()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def info(self) -> dict[str, Any]:
        return {"url": self.url, "token": self.initial_bots[0] if self.initial_bots else None,
                "tokens": list(self.initial_bots), "base_url": f"{self.url}/bot"}

    async def reset(self) -> None:
        # The plane's new epoch keeps what is still pending from before out of the journal, and
        # lets go of requests a "drop" rule holds (their connection is cut, still unanswered).
        await self._stop_deliverers()
        self.core.reset()
        self.core.config = config_from(self.config_options)
        self.core.flood.limits = self.core.config.rate_limits
        self._register_initial()

    def stats(self) -> dict[str, Any]:
        bots = self.core.bots.values()
        return {"bots": len(self.core.bots), "parked_polls": sum(1 for b in bots if b.long_poll is not None),
                "webhooks": sum(1 for b in bots if b.webhook is not None),
                "pending_updates": sum(len(b.queue) for b in bots)}

    def control_routes(self) -> list[web.RouteDef]:
        return control_routes(self)

    # ---- bots --------------------------------------------------------------------------------------
    def new_token(self) -> str:
        """A fresh, well-formed token; ids come from the plane's seeded RNG, so runs repeat."""
        while True:
            bot_id = self.plane.rng.randint(1_000_000_000, 8_999_999_999)
            secret = "".join(self.plane.rng.choice(_TOKEN_CHARS) for _ in range(35))
            token = f"{bot_id}:AA{secret[:33]}"
            if token not in self.core.bots:
                return token

    def register_bot(self, token: str | None = None, username: str | None = None,
                     first_name: str | None = None) -> Bot:
        return self.core.register_bot(token or self.new_token(), username, first_name)

    def configure(self, options: dict[str, Any]) -> dict[str, Any]:
        apply_config(self.core.config, options)
        self.core.flood.limits = self.core.config.rate_limits
        return dataclasses.asdict(self.core.config)

    # ---- webhooks ----------------------------------------------------------------------------------
    def _webhook_changed(self, bot: Bot) -> None:
        old = self._deliverers.pop(bot.token, None)
        if old is not None:
            task = asyncio.get_running_loop().create_task(old.stop())
            self._stopping.add(task)
            task.add_done_callback(self._stopping.discard)
        if bot.webhook is not None:
            self._deliverers[bot.token] = WebhookDeliverer(
                self.core, bot, self.plane, self._execute_reply_method, self.plane.new_conn_id(FAKE))

    def _update_queued(self, bot: Bot, update: Update) -> None:
        deliverer = self._deliverers.get(bot.token)
        if deliverer is not None:
            deliverer.add(update)

    async def _execute_reply_method(self, bot: Bot, method: str, params: dict[str, str]) -> None:
        """A method in a webhook reply body: run it like a request; its answer goes nowhere."""
        deliverer = self._deliverers.get(bot.token)
        conn = deliverer.conn if deliverer else self.plane.new_conn_id(FAKE)
        match_params = {**params, "bot_id": str(bot.id)}
        async with self.plane.request(FAKE, conn, canonical_method(method), match_params,
                                      data={"bot_id": bot.id, "params": params, "webhook_reply": True}) as req:
            if await enact_request(req, NullLink(FAKE, conn), self._fault_answer):
                return
            reply = self.core.handle(bot.token, method, params)
            if not hasattr(reply, "status"):
                self.core.expire_poll(reply)
                reply = reply.reply
            req.reply(outcome_of(reply))

    def _fault_answer(self, error: dict[str, Any]) -> FaultAnswer:
        return FaultAnswer(None, outcome_of(self.core.fault_reply(error)))

    async def _stop_deliverers(self) -> None:
        deliverers = list(self._deliverers.values())
        self._deliverers.clear()
        for deliverer in deliverers:
            await deliverer.stop()
        if self._stopping:
            await asyncio.gather(*list(self._stopping), return_exceptions=True)

    # ---- CLI ---------------------------------------------------------------------------------------
    @classmethod
    def add_cli_arguments(cls, group: argparse._ArgumentGroup) -> None:
        group.add_argument("--bot", dest="botapi_bots", action="append", metavar="TOKEN",
                           help="register a bot token on the fake Bot API (repeatable; default: one ready token)")
        group.add_argument("--botapi-no-rate-limits", dest="botapi_no_rate_limits", action="store_true",
                           help="switch off the 429 flood control of the fake Bot API")
        group.add_argument("--botapi-conflict-delay", dest="botapi_conflict_delay", type=float, default=None,
                           metavar="SECONDS", help="delay of a 409 repeated within that time (real server: 3)")

    @classmethod
    def options_from_args(cls, args: argparse.Namespace) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if getattr(args, "botapi_bots", None):
            options["bots"] = list(args.botapi_bots)
        if getattr(args, "botapi_no_rate_limits", False):
            options["rate_limits"] = {"enabled": False}
        if getattr(args, "botapi_conflict_delay", None) is not None:
            options["conflict_repeat_delay"] = args.botapi_conflict_delay
        return options
