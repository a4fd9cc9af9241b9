"""Runs a set of fakes on a background thread with its own event loop.

Like pytest-httpserver and moto's threaded server: the fakes never share a loop with the code under
test, so they serve sync tests, any pytest-asyncio loop scope, Locust and subprocess bots alike, and
a client that blocks its own loop (Telethon's sqlite calls do) cannot stall the server.

    with FakesRuntime(["botapi", "deriv"]) as fakes:
        fakes.url("botapi")            # http://127.0.0.1:<port>
        fakes.control.reset()
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Any, Awaitable, Callable, Iterable, Mapping, TypeVar

from aiohttp import web

from . import registry
from .control.client import ControlClient
from .control.fake import Fake
from .control.http import build_control_app
from .control.journal import FLAGS
from .control.plane import ControlPlane
from .dashboard.routes import add_root_redirect

T = TypeVar("T")


class FakesRuntime:
    def __init__(
        self,
        fakes: Iterable[str] | None = None,
        *,
        host: str = "127.0.0.1",
        ports: Mapping[str, int] | None = None,
        control_port: int = 0,
        options: Mapping[str, Mapping[str, Any]] | None = None,
        seed: int = 0,
    ) -> None:
        self.names = list(registry.names() if fakes is None else fakes)
        unknown = [n for n in self.names if n not in registry.FAKES]
        if unknown:
            raise ValueError(f"unknown fake(s) {unknown}; known: {registry.names()}")
        self.host = host
        self.ports = dict(ports or {})
        self.control_port = control_port
        self.options = {k: dict(v) for k, v in (options or {}).items()}
        self.seed = seed
        self.plane: ControlPlane | None = None  # lives on the runtime's loop: do not touch from here
        self.fakes: dict[str, Fake] = {}
        self.control_url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._control_runner: web.AppRunner | None = None
        self._control: ControlClient | None = None
        # journal flags (journal.FLAGS) the current test provokes on purpose; see pytest_plugin
        self.expected_flags: set[str] = set()

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> "FakesRuntime":
        if self._thread is not None:
            raise RuntimeError("already started")
        started: concurrent.futures.Future = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=self._run, args=(started,), name="botfakes-runtime", daemon=True
        )
        self._thread.start()
        try:
            started.result(timeout)
        except BaseException:
            self._thread.join(timeout)
            self._thread = None
            raise
        return self

    def stop(self, timeout: float = 30.0) -> None:
        if self._thread is None or self._loop is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> "FakesRuntime":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self, started: concurrent.futures.Future) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._startup())
        except BaseException as exc:  # report to start() and end the thread
            try:
                loop.run_until_complete(self._shutdown())
            finally:
                loop.close()
            started.set_exception(exc)
            return
        started.set_result(None)
        try:
            loop.run_forever()
        finally:
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _startup(self) -> None:
        self.plane = ControlPlane(seed=self.seed)
        for name in self.names:
            fake = registry.fake_class(name)(self.plane, **self.options.get(name, {}))
            self.fakes[name] = fake
            # The runtime owns the fakes; the plane only knows how to reset them.
            self.plane.on_reset(fake.reset)
            fake.control_app = self.control_app
        # The control server starts after every fake is registered (their routes join it) and
        # before any fake listens, so that nothing can reach a fake that cannot yet be controlled.
        app = web.Application()
        app.add_subapp("/_control/", self.control_app())
        add_root_redirect(app)  # the control URL's root opens the dashboard
        self._control_runner = web.AppRunner(app, access_log=None)
        await self._control_runner.setup()
        site = web.TCPSite(self._control_runner, self.host, self.control_port)
        await site.start()
        port = self._control_runner.addresses[0][1]
        self.control_url = f"http://{self.host}:{port}"
        for name, fake in self.fakes.items():
            await fake.start(self.host, self.ports.get(name, 0))

    def control_app(self) -> web.Application:
        """The /_control/ API over this runtime's plane and fakes (a fake may mount it too)."""
        assert self.plane is not None
        return build_control_app(self.plane, self.fakes)

    async def _shutdown(self) -> None:
        if self.plane is not None:
            # End every /_control/journal/wait in progress now, or the control server's cleanup
            # would wait for each to time out.
            self.plane.journal.clear()
        for fake in reversed(list(self.fakes.values())):
            try:
                await fake.stop()
            except Exception:  # stop the others all the same
                pass
        if self._control_runner is not None:
            await self._control_runner.cleanup()
            self._control_runner = None

    # -- use -----------------------------------------------------------------------------------

    @property
    def control(self) -> ControlClient:
        if self._control is None:
            if not self.control_url:
                raise RuntimeError("the runtime is not started")
            self._control = ControlClient(self.control_url)
        return self._control

    def expect(self, *flags: str) -> None:
        """The running test provokes these journal flags on purpose ("unsupported",
        "internal_error"; none = both): the pytest plugin's teardown check lets them pass."""
        unknown = [f for f in flags if f not in FLAGS]
        if unknown:
            raise ValueError(f"unknown flag(s) {unknown}; known: {list(FLAGS)}")
        self.expected_flags.update(flags or FLAGS)

    def url(self, name: str) -> str:
        return self.fakes[name].url

    def info(self) -> dict[str, Any]:
        """What `botfakes serve` prints and writes to its ready file."""
        return {
            "control_url": self.control_url,
            "fakes": self.call_sync(lambda: {n: f.info() for n, f in self.fakes.items()}),
        }

    def call(self, fn: Callable[[], Awaitable[T]], timeout: float = 30.0) -> T:
        """Run a coroutine function on the runtime's loop and return its result (any thread)."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(_as_coro(fn), self._loop).result(timeout)

    def call_sync(self, fn: Callable[[], T], timeout: float = 30.0) -> T:
        """Run a plain function on the runtime's loop, for reading loop-owned state safely."""

        async def run() -> T:
            return fn()

        return self.call(run, timeout)


async def _as_coro(fn: Callable[[], Awaitable[T]]) -> T:
    return await fn()
