"""pytest fixtures for botfakes, installed with the package (a `pytest11` entry point).

- `botfakes_runtime` (session): every fake running on a background thread, ports picked by the OS,
  so pytest-xdist workers never collide.
- `botfakes` (function): the same runtime, reset before the test: no rules, gates, journal or
  world state leak from one test into the next.
- `botfakes_control`: its ControlClient (`.aio` for async tests).
- Each fake adds its typed fixtures from fakes/<name>/fixtures.py (e.g. `botapi`, `deriv`).
"""

from __future__ import annotations

import importlib
from typing import Iterator

import pytest

from . import registry
from .control.client import ControlClient
from .runtime import FakesRuntime


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("botfakes")
    group.addoption("--botfakes-seed", type=int, default=0,
                    help="seed for everything random in the fakes (default 0)")


def pytest_configure(config: pytest.Config) -> None:
    for name in registry.names():
        module = importlib.import_module(f"botfakes.fakes.{name}.fixtures")
        if not config.pluginmanager.is_registered(module):
            config.pluginmanager.register(module, f"botfakes-{name}")


@pytest.fixture(scope="session")
def botfakes_runtime(request: pytest.FixtureRequest) -> Iterator[FakesRuntime]:
    runtime = FakesRuntime(seed=request.config.getoption("--botfakes-seed"))
    runtime.start()
    try:
        yield runtime
    finally:
        runtime.stop()


@pytest.fixture
def botfakes(botfakes_runtime: FakesRuntime) -> FakesRuntime:
    botfakes_runtime.control.reset()
    return botfakes_runtime


@pytest.fixture
def botfakes_control(botfakes: FakesRuntime) -> ControlClient:
    return botfakes.control
