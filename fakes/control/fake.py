"""What a fake server is to the runtime, the CLI and the control plane.

A fake is a protocol core behind a transport; this base class is only the outside of it: how the
runtime starts and stops it on its event loop, what it reports, which control routes it adds
under /_control/<name>/, and which `botfakes serve` options it takes. The runtime owns the fakes;
a fake knows the plane (journal, rules, connections), never the other fakes or the control app,
which the runtime hands it as `control_app` when it wants the /_control/ API on its own port.
"""

from __future__ import annotations

import abc
import argparse
from typing import Any, Callable, ClassVar

from aiohttp import web

from .plane import ControlPlane


class Fake(abc.ABC):
    name: ClassVar[str]  # "botapi", "deriv", "mtproto": the journal's `fake` and the route prefix
    default_port: ClassVar[int]  # what `botfakes serve` listens on; tests always use 0

    def __init__(self, plane: ControlPlane, **options: Any) -> None:
        self.plane = plane
        self.options = options
        self.host = "127.0.0.1"
        self.port = 0  # the bound port once started
        # builds the /_control/ API app (set by the runtime; see control_subapp)
        self.control_app: Callable[[], web.Application] | None = None

    @abc.abstractmethod
    async def start(self, host: str, port: int) -> None:
        """Listen on host:port (0 = any free port) and set self.host and self.port."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Stop listening and close every connection."""

    @property
    @abc.abstractmethod
    def url(self) -> str:
        """Where a client points, e.g. "http://127.0.0.1:8081"."""

    def info(self) -> dict[str, Any]:
        """This fake's entry in `botfakes serve`'s output and ready file."""
        return {"url": self.url}

    async def reset(self) -> None:
        """Forget everything since start (state created by CLI options stays)."""

    def stats(self) -> dict[str, Any]:
        return {}

    def counted(self, *names: str) -> dict[str, int]:
        """This fake's plane counters `<fake>.<name>` as {name: count}, for stats()."""
        counters = self.plane.counters
        return {name: counters.get(f"{self.name}.{name}") for name in names}

    def control_routes(self) -> list[web.RouteDef]:
        """Routes mounted under /_control/<name>/ (paths given relative, e.g. "/accounts")."""
        return []

    def control_subapp(self) -> web.Application:
        """The /_control/ API, for a fake that serves HTTP itself and mounts it there too."""
        if self.control_app is None:
            raise RuntimeError(f"{self.name}: no control app (the runtime sets control_app)")
        return self.control_app()

    @classmethod
    def add_cli_arguments(cls, group: argparse._ArgumentGroup) -> None:
        """Options of `botfakes serve` for this fake (prefix them with the fake's name)."""

    @classmethod
    def options_from_args(cls, args: argparse.Namespace) -> dict[str, Any]:
        """The keyword options for __init__ from parsed `botfakes serve` arguments."""
        return {}
