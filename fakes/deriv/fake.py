"""The fake Deriv WebSocket API as the runtime sees it: options, lifecycle, control routes.

Reset policy (the same for the Deriv and MTProto fakes): a reset is a new world, so it closes every
open client connection (close frame 1001 "reset", then the TCP connection is cut if the client does
not answer within 2 s) and waits until each one's disconnect is journaled; no stream, session or
pending reply of one test leaks into the next. Pushes waiting out a push-stage delay are dropped.

Control routes (under /_control/deriv/, JSON in and out, the plane's envelope):
  POST /reset            {seed?, start_epoch?, tick_interval?}  fresh world (accounts, market);
                         closes every open connection; tick_interval 0 = manual clock
  POST /accounts         {token?, loginid?, currency?, balance?, is_virtual?, email?, fullname?,
                         scopes?} -> the account (token, loginid, ...)
  GET  /accounts         every account with its balance
  GET  /market           {epoch, steps, tick_interval, symbols: {symbol: {quote, epoch}}}
  POST /market/step      {ticks: N} -> advance the fake clock N ticks; stream messages and
                         settlements are written before this answers
  POST /market/interval  {seconds: S} -> tick on an interval (0 = only by hand)
  GET  /connections      open connections: conn id, loginid, subscriptions
  POST /connections/{conn}/close  {code?, reason?}
  POST /stall            {conn?, subscription?, type?, symbol?, method?} -> a push-stage "drop"
                         fault rule: matching stream messages are withheld until /unstall
  POST /unstall          {id?}  remove that stall rule, or all of them
  GET  /limits, POST /limits  {enabled?, classes?: {name: {calls?, per_minute?, per_hour?,
                         per_connection?, close_code?}}}
  POST /latency          {method?, delay, jitter?, times?} -> a "delay" fault rule for this fake
  POST /config           {idle_timeout?}  (0 = never; back to the start option on reset)
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from aiohttp import web

from ..control.faults import FaultRule
from ..control.fake import Fake
from ..control.http import json_object, ok, read_json
from ..control.matching import Match
from ..control.plane import ControlPlane
from .core import DerivCore
from .transport import DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_SIZE, FAKE, PATH, DerivTransport


class DerivFake(Fake):
    name = "deriv"
    default_port = 8083

    def __init__(self, plane: ControlPlane, *, seed: int | None = None,
                 start_epoch: int | None = None, tick_interval: float = 1.0,
                 idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
                 max_size: int | None = DEFAULT_MAX_SIZE, compression: bool = True,
                 **options: Any) -> None:
        super().__init__(plane, **options)
        self.seed = plane.seed if seed is None else seed
        self.start_epoch = start_epoch
        self.default_tick_interval = tick_interval
        self.tick_interval = tick_interval
        self.core = DerivCore(seed=self.seed, start_epoch=start_epoch)
        self.default_idle_timeout = idle_timeout
        self.transport = DerivTransport(plane, self.core, idle_timeout=idle_timeout,
                                        max_size=max_size, compression=compression)
        self._ticker: asyncio.Task | None = None
        self._stall_rules: set[str] = set()

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self, host: str, port: int) -> None:
        self.host = host
        self.port = await self.transport.start(host, port)
        self._set_interval(self.tick_interval)

    async def stop(self) -> None:
        self._set_interval(0)
        await self.transport.stop()

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    @property
    def endpoint(self) -> str:
        """The full WebSocket URL a hand-written client connects to (app_id 1089 is Deriv's
        public test app id)."""
        return f"{self.url}{PATH}?app_id=1089&l=EN&brand=deriv"

    def info(self) -> dict[str, Any]:
        return {"url": self.url, "endpoint": self.endpoint, "path": PATH,
                "tick_interval": self.tick_interval}

    async def reset(self, *, seed: int | None = None, start_epoch: int | None = None,
                    tick_interval: float | None = None) -> None:
        self._set_interval(0)  # no tick may push into connections being closed
        await self.transport.close_all()
        self.core.reset(seed=seed, start_epoch=start_epoch)
        self.transport.idle_timeout = self.default_idle_timeout
        self._stall_rules.clear()
        self._set_interval(self.default_tick_interval if tick_interval is None else tick_interval)

    def stats(self) -> dict[str, Any]:
        return {**self.core.stats, "connections": len(self.transport.connections),
                "epoch": self.core.market.epoch, "tick_interval": self.tick_interval}

    # -- the market clock ----------------------------------------------------------------------
    def _set_interval(self, seconds: float) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        self.tick_interval = seconds
        if seconds and seconds > 0:
            self._ticker = asyncio.get_running_loop().create_task(self._tick_forever(seconds))

    async def _tick_forever(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            await self.transport.deliver(self.core.step(1))

    async def step(self, ticks: int = 1) -> int:
        return await self.transport.deliver(self.core.step(ticks))

    # -- control routes ------------------------------------------------------------------------
    def control_routes(self) -> list[web.RouteDef]:
        return [
            web.post("/reset", self._route_reset),
            web.post("/accounts", self._route_create_account),
            web.get("/accounts", self._route_accounts),
            web.get("/market", self._route_market),
            web.post("/market/step", self._route_step),
            web.post("/market/interval", self._route_interval),
            web.get("/connections", self._route_connections),
            web.post("/connections/{conn}/close", self._route_close),
            web.post("/stall", self._route_stall),
            web.post("/unstall", self._route_unstall),
            web.get("/limits", self._route_limits),
            web.post("/limits", self._route_set_limits),
            web.post("/latency", self._route_latency),
            web.post("/config", self._route_config),
        ]

    async def _body(self, request: web.Request) -> dict[str, Any]:
        return json_object(await read_json(request, default={}))

    async def _route_reset(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        await self.reset(seed=_int(body, "seed"), start_epoch=_int(body, "start_epoch"),
                         tick_interval=_num(body, "tick_interval"))
        for rule_id in list(self._stall_rules):
            self.plane.faults.remove(rule_id)
        return ok(self._market())

    async def _route_create_account(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        allowed = {"token", "loginid", "currency", "balance", "is_virtual", "email", "fullname",
                   "scopes"}
        unknown = set(body) - allowed
        if unknown:
            raise ValueError(f"unknown account fields {sorted(unknown)}")
        return ok(self.core.create_account(**body).public())

    async def _route_accounts(self, request: web.Request) -> web.Response:
        return ok([a.public() for a in self.core.accounts.by_token.values()])

    def _market(self) -> dict[str, Any]:
        m = self.core.market
        return {"epoch": m.epoch, "steps": m.steps, "tick_interval": self.tick_interval,
                "symbols": {n: {"quote": s.last.quote, "epoch": s.last.epoch}
                            for n, s in m.symbols.items()}}

    async def _route_market(self, request: web.Request) -> web.Response:
        return ok(self._market())

    async def _route_step(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        ticks = _int(body, "ticks") or 1
        if not 1 <= ticks <= 100_000:
            raise ValueError("ticks must be between 1 and 100000")
        sent = await self.step(ticks)
        return ok({**self._market(), "sent": sent})

    async def _route_interval(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        seconds = _num(body, "seconds")
        if seconds is None or seconds < 0:
            raise ValueError("seconds must be a number >= 0 (0 = step by hand)")
        self._set_interval(seconds)
        return ok(self._market())

    async def _route_connections(self, request: web.Request) -> web.Response:
        out = []
        for conn in self.transport.connections:
            session = self.core.sessions.get(conn)
            if session is None:
                continue
            out.append({"conn": conn,
                        "loginid": session.account.loginid if session.account else None,
                        "subscriptions": [{"id": s.id, "type": s.type, "msg_type": s.msg_type,
                                           "symbol": s.symbol, "pushed": s.pushed}
                                          for s in session.streams.values()]})
        return ok(out)

    async def _route_close(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        conn = request.match_info["conn"]
        if conn not in self.transport.connections:
            raise KeyError(f"no open connection {conn}")
        await self.transport.close_connection(conn, _int(body, "code") or 1000,
                                              str(body.get("reason") or ""))
        return ok()

    async def _route_stall(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        params = {k: body[k] for k in ("subscription", "type", "symbol", "contract_id")
                  if body.get(k) is not None}
        rule = self.plane.faults.add(FaultRule(
            match=Match(fake=FAKE, method=body.get("method") or None, params=params,
                        conn=body.get("conn") or None),
            action="drop", stage="push"))
        self._stall_rules.add(rule.id)
        return ok(rule.to_json())

    async def _route_unstall(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        ids = [body["id"]] if body.get("id") else list(self._stall_rules)
        removed = [i for i in ids if i in self._stall_rules and self.plane.faults.remove(i)]
        self._stall_rules.difference_update(ids)
        return ok({"removed": removed})

    async def _route_limits(self, request: web.Request) -> web.Response:
        return ok(self.core.limiter.as_dict())

    async def _route_set_limits(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        limiter = self.core.limiter
        if "enabled" in body:
            limiter.enabled = bool(body["enabled"])
        for name, changes in (body.get("classes") or {}).items():
            limiter.configure(name, **json_object(changes, f"limit class {name}"))
        return ok(limiter.as_dict())

    async def _route_latency(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        delay = _num(body, "delay") or 0.0
        rule = self.plane.faults.add(FaultRule(
            match=Match(fake=FAKE, method=body.get("method") or None,
                        params=dict(body.get("params") or {}), conn=body.get("conn") or None),
            action="delay", delay=delay, jitter=_num(body, "jitter") or 0.0,
            times=_int(body, "times")))
        return ok(rule.to_json())

    async def _route_config(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        if "idle_timeout" in body:
            seconds = _num(body, "idle_timeout")
            self.transport.idle_timeout = seconds or None
        return ok({"idle_timeout": self.transport.idle_timeout,
                   "max_size": self.transport.max_size})

    # -- CLI -----------------------------------------------------------------------------------
    @classmethod
    def add_cli_arguments(cls, group: argparse._ArgumentGroup) -> None:
        group.add_argument("--deriv-tick-interval", type=float, default=1.0,
                           help="seconds between market ticks; 0 = only when stepped through "
                                "the control API (default 1)")
        group.add_argument("--deriv-start-epoch", type=int, default=None,
                           help="the fake clock's start (default: the real time at start)")
        group.add_argument("--deriv-idle-timeout", type=float, default=DEFAULT_IDLE_TIMEOUT,
                           help="close connections silent this many seconds (default 120; "
                                "0 = never)")
        group.add_argument("--deriv-max-size", type=int, default=DEFAULT_MAX_SIZE,
                           help="largest accepted message in bytes; bigger ones close the "
                                "connection with 1009 (default 262144)")
        group.add_argument("--deriv-seed", type=int, default=None,
                           help="seed of the market and ids (default: the runtime's seed)")

    @classmethod
    def options_from_args(cls, args: argparse.Namespace) -> dict[str, Any]:
        return {
            "tick_interval": args.deriv_tick_interval,
            "start_epoch": args.deriv_start_epoch,
            "idle_timeout": args.deriv_idle_timeout or None,
            "max_size": args.deriv_max_size,
            "seed": args.deriv_seed,
        }


def _int(body: dict, key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{key} must be an integer")
    return value


def _num(body: dict, key: str) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{key} must be a number")
    return float(value)
