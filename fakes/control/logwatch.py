"""Tracebacks logged by a fake: a test fails on them instead of scrolling past them.

A fake that handles bad input the way the real server does never logs a traceback; one that
does has a bug (aiohttp's "Error handling request", websockets' "connection handler failed",
asyncio's "Task exception was never retrieved", a fake's own logger). `TracebackWatch` is a
logging handler that collects every record carrying a traceback; `watching()` installs one on
the root logger for a block. The pytest plugin's assertions and the hostile-input suite
(tests/fuzz) fail a test that logged any.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Iterator


@dataclass(frozen=True)
class LoggedTraceback:
    logger: str
    level: str
    message: str
    exception: str

    def __str__(self) -> str:
        return f"{self.logger} {self.level}: {self.message} [{self.exception}]"


class TracebackWatch(logging.Handler):
    """Collects log records with a traceback (exc_info, or a formatted one in the message)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.found: list[LoggedTraceback] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a broken log call is itself worth reporting
            message = str(record.msg)
        has_traceback = bool(record.exc_info and record.exc_info[0] is not None) or (
            "Traceback (most recent call last)" in message)
        if not has_traceback or record.levelno < logging.INFO:
            return  # debug-level tracebacks are aiohttp's own noise filter (e.g. non-HTTP bytes)
        exc = ""
        if record.exc_info and record.exc_info[1] is not None:
            exc = f"{type(record.exc_info[1]).__name__}: {str(record.exc_info[1])[:300]}"
        self.found.append(LoggedTraceback(record.name, record.levelname, message[:300], exc))

    def take(self) -> list[LoggedTraceback]:
        """What was collected since the last take()."""
        found, self.found = self.found, []
        return found


@contextlib.contextmanager
def watching(*names: str) -> Iterator[TracebackWatch]:
    """Watch the named loggers (and their children) for a block; no name = the root logger."""
    watch = TracebackWatch()
    targets = [logging.getLogger(name) for name in names] or [logging.getLogger()]
    for target in targets:
        target.addHandler(watch)
    try:
        yield watch
    finally:
        for target in targets:
            target.removeHandler(watch)


def describe(found: list[LoggedTraceback], limit: int = 10) -> str:
    return "tracebacks logged:\n" + "\n".join(f"  {t}" for t in found[:limit])
