"""The Deriv fake's control routes, under /_control/deriv/ (JSON in and out, the plane's envelope).

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
  (GET /connections and POST /connections/{conn}/close are the kit's generic routes.)
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..control.faults import FaultRule
from ..control.http import json_object, ok, read_json
from ..control.matching import Match
from .transport import FAKE


class DerivRoutes:
    """The routes over a DerivFake (typed loosely: fake.py imports this module)."""

    def __init__(self, fake: Any) -> None:
        self.fake = fake
        self.plane = fake.plane
        self.core = fake.core
        self.transport = fake.transport

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/reset", self._route_reset),
            web.post("/accounts", self._route_create_account),
            web.get("/accounts", self._route_accounts),
            web.get("/market", self._route_market),
            web.post("/market/step", self._route_step),
            web.post("/market/interval", self._route_interval),
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
        await self.fake.reset(seed=_int(body, "seed"), start_epoch=_int(body, "start_epoch"),
                         tick_interval=_num(body, "tick_interval"))
        for rule_id in list(self.fake.stall_rules):
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
        return {"epoch": m.epoch, "steps": m.steps, "tick_interval": self.fake.tick_interval,
                "symbols": {n: {"quote": s.last.quote, "epoch": s.last.epoch}
                            for n, s in m.symbols.items()}}

    async def _route_market(self, request: web.Request) -> web.Response:
        return ok(self._market())

    async def _route_step(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        ticks = _int(body, "ticks") or 1
        if not 1 <= ticks <= 100_000:
            raise ValueError("ticks must be between 1 and 100000")
        sent = await self.fake.step(ticks)
        return ok({**self._market(), "sent": sent})

    async def _route_interval(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        seconds = _num(body, "seconds")
        if seconds is None or seconds < 0:
            raise ValueError("seconds must be a number >= 0 (0 = step by hand)")
        self.fake.set_interval(seconds)
        return ok(self._market())

    async def _route_stall(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        params = {k: body[k] for k in ("subscription", "type", "symbol", "contract_id")
                  if body.get(k) is not None}
        rule = self.plane.faults.add(FaultRule(
            match=Match(fake=FAKE, method=body.get("method") or None, params=params,
                        conn=body.get("conn") or None),
            action="drop", stage="push"))
        self.fake.stall_rules.add(rule.id)
        return ok(rule.to_json())

    async def _route_unstall(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        ids = [body["id"]] if body.get("id") else list(self.fake.stall_rules)
        removed = [i for i in ids if i in self.fake.stall_rules and self.plane.faults.remove(i)]
        self.fake.stall_rules.difference_update(ids)
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
