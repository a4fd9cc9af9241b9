"""The hostile-input suite: hypothesis strategies per fake and for the control API.

CI runs a bounded number of examples per test (deterministic: `derandomize`, no example
database), well under a minute in total. The long run, for a release or after touching a decoder:

    BOTFAKES_FUZZ_LONG=1 .venv/bin/python -m pytest tests/fuzz -n 2 -p no:randomly
    .venv/bin/python -m pytest tests/fuzz --fuzz-long            # the same
    BOTFAKES_FUZZ_EXAMPLES=5000 .venv/bin/python -m pytest tests/fuzz   # any count per test

Every test runs under `no_tracebacks`: a traceback logged by any fake (aiohttp's "Error handling
request", websockets' "connection handler failed", asyncio's "Task exception was never
retrieved") fails it, naming the logger and the exception.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterator

import pytest

from botfakes.fakes.runtime import FakesRuntime

from botfakes.fakes.control.logwatch import TracebackWatch, describe, watching

from .support import rss_bytes

LONG_EXAMPLES = 2000


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--fuzz-long", action="store_true", default=False,
                     help=f"hostile-input suite: {LONG_EXAMPLES} examples per fuzz test instead of CI's few")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--fuzz-long", default=False):
        os.environ["BOTFAKES_FUZZ_LONG"] = "1"


def examples(ci: int) -> int:
    """How many examples a fuzz test runs: `ci` in CI, LONG_EXAMPLES in the long run."""
    explicit = os.environ.get("BOTFAKES_FUZZ_EXAMPLES")
    if explicit:
        return int(explicit)
    return LONG_EXAMPLES if os.environ.get("BOTFAKES_FUZZ_LONG") else ci


def long_run() -> bool:
    return bool(os.environ.get("BOTFAKES_FUZZ_LONG") or os.environ.get("BOTFAKES_FUZZ_EXAMPLES"))


@pytest.fixture(autouse=True)
def no_tracebacks() -> Iterator[TracebackWatch]:
    """Fail the test if anything logged a traceback while it ran (see TracebackWatch)."""
    with watching() as watch:
        yield watch
    found = watch.take()
    assert not found, describe(found)


@pytest.fixture(scope="session")
def fuzz_runtime() -> Iterator[FakesRuntime]:
    """A runtime of its own, so the suite's RSS figures and journal are not another test's.

    Deriv ticks only when stepped (no background stream traffic between examples)."""
    runtime = FakesRuntime(options={"deriv": {"tick_interval": 0}})
    runtime.start()
    try:
        yield runtime
    finally:
        runtime.stop()


@pytest.fixture
def fakes(fuzz_runtime: FakesRuntime) -> FakesRuntime:
    fuzz_runtime.control.reset()
    return fuzz_runtime


class FuzzReport:
    """Examples run and RSS before/after, per test; written as JSON lines when
    BOTFAKES_FUZZ_REPORT names a file (the long run's figures), printed with -s."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.count = 0
        self.rss_before = rss_bytes()

    def example(self) -> None:
        self.count += 1

    def finish(self) -> dict:
        record = {"test": self.name, "examples": self.count, "rss_before_mb": round(self.rss_before / 2**20, 1),
                  "rss_after_mb": round(rss_bytes() / 2**20, 1)}
        target = os.environ.get("BOTFAKES_FUZZ_REPORT")
        if target:
            with Path(target).open("a") as out:
                out.write(json.dumps(record) + "\n")
        print(f"\n[fuzz] {record}")
        return record


# A fuzz test may grow the process by at most this much: the journal and every decoder are
# bounded, so thousands of hostile inputs must not add up.
RSS_BUDGET = 200 << 20


@pytest.fixture
def fuzz_report(request: pytest.FixtureRequest) -> Iterator[FuzzReport]:
    report = FuzzReport(request.node.name)
    yield report
    record = report.finish()
    grown = (record["rss_after_mb"] - record["rss_before_mb"]) * 2**20
    assert grown < RSS_BUDGET, f"RSS grew {grown / 2**20:.0f} MiB over {report.count} examples"
