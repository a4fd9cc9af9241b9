"""The fake MTProto server as the runtime sees it: options, lifecycle, control routes.

Reset policy (the same for the Deriv and MTProto fakes): a reset is a new world, so it closes every
open client connection and waits (at most 2 s) until each one's disconnect is journaled, then starts
a new core; no key, session or pending answer of one test leaks into the next, and a reset journal
holds nothing of the connections before it. Each world's salts, session unique ids and minted keys
come from a generator seeded with (seed, number of the world), so runs repeat while keys minted in
one world never reappear in the next.

Control routes: routes.py (under /_control/mtproto/).
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Any, Callable

from aiohttp import web

from ..control.fake import Fake
from ..control.plane import ControlPlane
from .core import POLICIES, MTProtoCore
from .keyexchange import test_key_fingerprint
from . import tl
from .methods import DC_ID
from .minting import FORMATS
from .routes import MTProtoRoutes
from .transport import DEFAULT_IDLE_TIMEOUT, FAKE, MTProtoTransport
from .world import World


class MTProtoFake(Fake):
    name = "mtproto"
    default_port = 8443

    def __init__(self, plane: ControlPlane, *, policy: str = "both", seed: int | None = None,
                 posts_per_channel: int = 40, clock: Callable[[], float] = time.time,
                 idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT, **options: Any) -> None:
        super().__init__(plane, **options)
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}")
        self.seed = plane.seed if seed is None else seed
        self.default_policy = policy
        self.posts_per_channel = posts_per_channel
        self.clock = clock  # the one clock of the world, the core and the key exchange
        self._worlds = 0
        self.core = self._new_core(policy)
        self.transport = MTProtoTransport(plane, self.core, idle_timeout=idle_timeout)

    def _new_core(self, policy: str) -> MTProtoCore:
        count = self.plane.count
        return MTProtoCore(self._new_world(), policy=policy, port=self.port, clock=self.clock,
                           rng=self._new_rng(), count=lambda name: count(f"{FAKE}.{name}"))

    def _new_rng(self) -> random.Random:
        self._worlds += 1
        return random.Random(f"{self.seed}:mtproto:{self._worlds}")

    def _new_world(self) -> World:
        world = World(seed=self.seed, clock=self.clock)
        world.seed_default(self.posts_per_channel)
        return world

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self, host: str, port: int) -> None:
        self.port = await self.transport.start(host, port)
        self.host = host

    async def stop(self) -> None:
        await self.transport.stop()

    @property
    def url(self) -> str:
        return f"tcp://{self.host}:{self.port}"

    def info(self) -> dict[str, Any]:
        """The ready file's entry: where to connect, what sessions can be minted, which layers."""
        return {"url": self.url, "host": self.host, "port": self.port, "dc_id": DC_ID,
                "rsa_fingerprint": test_key_fingerprint(), "layers": list(tl.LAYERS),
                "session_formats": list(FORMATS)}

    async def reset(self, *, policy: str | None = None, posts_per_channel: int | None = None) -> None:
        if policy is not None and policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}")
        if posts_per_channel is not None:
            self.posts_per_channel = posts_per_channel
        # Close every connection and wait until their tasks have ended (and journaled their
        # disconnects), so a reset journal is clean; the new core starts without them so a reset
        # can never leave a key half-used by a previous test.
        await self.transport.close_all()
        self.core = self._new_core(policy or self.default_policy)
        self.transport.core = self.core

    def stats(self) -> dict[str, Any]:
        prefix = f"{FAKE}.unknown_layer."
        unknown = {name[len(prefix):]: n for name, n in self.plane.counters.snapshot().items()
                   if name.startswith(prefix)}
        return {**self.counted("key_exchanges", "rpcs", "duplicated", "transport_errors",
                               "push_not_expressible"),
                "layers": list(tl.LAYERS), "unknown_layers": unknown,
                "layers_in_use": self._layers_in_use(),
                "connections": len(self.transport.connection_ids()),
                "keys": len(self.core.keys), "policy": self.core.policy}

    def _layers_in_use(self) -> dict[str, int]:
        """Open connections per declared layer ("none": not declared yet)."""
        out: dict[str, int] = {}
        for protocol in self.core.connections.values():
            key = str(protocol.layer) if protocol.layer is not None else "none"
            out[key] = out.get(key, 0) + 1
        return out

    @classmethod
    def add_cli_arguments(cls, group: argparse._ArgumentGroup) -> None:
        group.add_argument("--mtproto-policy", choices=POLICIES, default="both",
                           help="who gets 406 AUTH_KEY_DUPLICATED: both connections "
                                "(Telegram) or the newer one only")
        group.add_argument("--mtproto-posts", type=int, default=40,
                           help="seeded posts per crypto channel (default 40)")
        group.add_argument("--mtproto-idle-timeout", type=float, default=DEFAULT_IDLE_TIMEOUT,
                           help="close connections silent this many seconds (default 120; 0 = never)")

    @classmethod
    def options_from_args(cls, args: argparse.Namespace) -> dict[str, Any]:
        return {"policy": args.mtproto_policy, "posts_per_channel": args.mtproto_posts,
                "idle_timeout": getattr(args, "mtproto_idle_timeout", DEFAULT_IDLE_TIMEOUT) or None}

    def control_routes(self) -> list[web.RouteDef]:
        return MTProtoRoutes(self).routes()
