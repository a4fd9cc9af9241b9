"""The fake Deriv WebSocket API as the runtime sees it: options, lifecycle, control routes.

Reset policy (the same for the Deriv and MTProto fakes): a reset is a new world, so it closes every
open client connection (close frame 1001 "reset", then the TCP connection is cut if the client does
not answer within 2 s) and waits until each one's disconnect is journaled; no stream, session or
pending reply of one test leaks into the next. Pushes waiting out a push-stage delay are dropped.

Control routes: routes.py (under /_control/deriv/).
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from aiohttp import web

from ..control.clock import Clock
from ..control.fake import Fake
from ..control.plane import ControlPlane
from .core import PATH, DerivCore
from .routes import DerivRoutes
from .transport import DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_SIZE, FAKE, DerivTransport


class DerivFake(Fake):
    name = "deriv"
    default_port = 8083

    def __init__(self, plane: ControlPlane, *, seed: int | None = None,
                 start_epoch: int | None = None, tick_interval: float = 1.0,
                 idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
                 max_size: int | None = DEFAULT_MAX_SIZE, compression: bool = True,
                 clock: Clock | None = None, **options: Any) -> None:
        super().__init__(plane, **options)
        self.seed = plane.seed if seed is None else seed
        self.start_epoch = start_epoch
        self.default_tick_interval = tick_interval
        self.tick_interval = tick_interval
        count = plane.count
        self.core = DerivCore(seed=self.seed, start_epoch=start_epoch, clock=clock,
                              count=lambda name: count(f"{FAKE}.{name}"))
        self.default_idle_timeout = idle_timeout
        self.transport = DerivTransport(plane, self.core, idle_timeout=idle_timeout,
                                        max_size=max_size, compression=compression)
        self._ticker: asyncio.Task | None = None
        self.stall_rules: set[str] = set()  # push-stage rules armed by POST /stall

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self, host: str, port: int) -> None:
        self.host = host
        self.port = await self.transport.start(host, port)
        self.set_interval(self.tick_interval)

    async def stop(self) -> None:
        self.set_interval(0)
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
        self.set_interval(0)  # no tick may push into connections being closed
        await self.transport.close_all()
        self.core.reset(seed=seed, start_epoch=start_epoch)
        self.transport.idle_timeout = self.default_idle_timeout
        self.stall_rules.clear()
        self.set_interval(self.default_tick_interval if tick_interval is None else tick_interval)

    def stats(self) -> dict[str, Any]:
        return {**self.counted("requests", "errors", "pushes", "settled"),
                "connections": len(self.transport.links),
                "epoch": self.core.market.epoch, "tick_interval": self.tick_interval}

    # -- the market clock ----------------------------------------------------------------------
    def set_interval(self, seconds: float) -> None:
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

    def control_routes(self) -> list[web.RouteDef]:
        return DerivRoutes(self).routes()

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


