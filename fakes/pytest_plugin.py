"""pytest fixtures for botfakes, installed with the package (a `pytest11` entry point).

- `botfakes_runtime` (session): every fake running on a background thread, ports picked by the OS,
  so pytest-xdist workers never collide.
- `botfakes` (function): the same runtime, reset before the test: no rules, gates, journal or
  world state leak from one test into the next. At teardown it fails the test when a fake
  journaled an internal error (a bug of the fake's own) or a call it does not serve, like
  pytest-httpserver's check_assertions(), unless the test expects it:
  `@pytest.mark.botfakes_expect("unsupported")` (or "internal_error"), or `botfakes.expect(...)`
  during the test; and when a fake's server logged a traceback (control/logwatch.py). The ini
  option `botfakes_check_assertions = false` turns both checks off.
- `botfakes_control`: its ControlClient (`.aio` for async tests).
- Each fake adds its typed fixtures from fakes/<name>/fixtures.py (e.g. `botapi`, `deriv`).
"""

from __future__ import annotations

import importlib
from typing import Any, Iterator

import pytest

from . import registry
from .control import journal, logwatch
from .control.client import ControlClient
from .runtime import FakesRuntime

MARKER = "botfakes_expect"
# the loggers only the fakes' servers write to (clients under test log elsewhere): the Bot API's
# HTTP server, the Deriv WebSocket server, and the fakes' own
FAKE_LOGGERS = ("botfakes", "websockets.server")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("botfakes")
    group.addoption("--botfakes-seed", type=int, default=0,
                    help="seed for everything random in the fakes (default 0)")
    parser.addini("botfakes_check_assertions", type="bool", default=True,
                  help="fail a test whose fakes journaled an internal error or an unsupported "
                       "call it did not expect (default true)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(*flags): the test provokes what the fakes flag "
        f"({', '.join(journal.FLAGS)}); the botfakes fixture does not fail it for that")
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
def botfakes(botfakes_runtime: FakesRuntime, request: pytest.FixtureRequest) -> Iterator[FakesRuntime]:
    runtime = botfakes_runtime
    runtime.control.reset()
    runtime.expected_flags = {flag for marker in request.node.iter_markers(MARKER)
                              for flag in (marker.args or journal.FLAGS)}
    with logwatch.watching(*FAKE_LOGGERS) as tracebacks:
        yield runtime
    if request.config.getini("botfakes_check_assertions"):
        check_assertions(runtime)
        found = tracebacks.take()
        if found:  # a fake that meets bad input the way the real server does logs no traceback
            pytest.fail(f"a fake logged a traceback: {logwatch.describe(found)}", pytrace=False)


def check_assertions(runtime: FakesRuntime) -> None:
    """Fail when the journal holds a flagged outcome the test did not expect."""
    unexpected = [f for f in journal.FLAGS if f not in runtime.expected_flags]
    if not unexpected:
        return
    events = runtime.control.journal(flag=",".join(unexpected), limit=20)
    if events:
        pytest.fail("the fakes journaled what this test did not expect "
                    f"(mark it @pytest.mark.{MARKER}(...) if it means to):\n"
                    + "\n".join(_describe(e) for e in events), pytrace=False)


def _describe(event: dict[str, Any]) -> str:
    outcome = event.get("outcome") or {}
    return (f"  #{event['seq']} {event['fake']} {event['method'] or '(no method)'} on "
            f"{event['conn'] or '-'}: {outcome.get('flag')}: {outcome.get('code')} "
            f"{outcome.get('text', '')}")


@pytest.fixture
def botfakes_control(botfakes: FakesRuntime) -> ControlClient:
    return botfakes.control
