"""The reference bot's one backoff, built on tenacity.

Every retry of the bot waits the same way: exponential steps doubling from `first` up to `cap`,
each drawn uniformly from the upper half of its step ("equal jitter"). The jitter spreads
instances that failed together (a Bot API or Deriv outage ends for all of them at once); the
lower bound keeps a retry from ever firing at once in a tight loop, which full jitter may draw.

Two shapes share it:
- `retrying(...)`: a call retried a bounded number of times (getMe at start-up, a Deriv call
  answered `RateLimit`): tenacity's `AsyncRetrying`, used as `async for attempt in ...`.
- `Backoff`: the delays of a loop that never gives up and starts again from `first` after a
  success (the getUpdates loop, the Deriv reconnect loop); those loops decide per error what to
  do (a 429's own `retry_after`, a fatal 401), which is not a retry policy.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Callable

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random_exponential,
)
from tenacity.wait import wait_base

FIRST = 0.5  # seconds before the first retry
CAP = 30.0  # the longest wait between two attempts


def jittered_exponential(first: float = FIRST, cap: float = CAP) -> wait_base:
    """uniform(d/2, d) for the n-th retry, d = min(cap, first * 2**(n-1))."""
    half = {"multiplier": first / 2, "max": cap / 2}
    # The fixed lower half plus a uniform draw over the upper half of the same step.
    return wait_exponential(**half) + wait_random_exponential(**half)


class Backoff:
    """`next()` is the wait after one more consecutive failure; `reset()` after a success."""

    def __init__(self, first: float = FIRST, cap: float = CAP):
        self._wait = jittered_exponential(first, cap)
        self._state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
        self.failures = 0

    def next(self) -> float:
        self.failures += 1
        self._state.attempt_number = self.failures
        return self._wait(self._state)

    def reset(self) -> None:
        self.failures = 0


def retrying(
    what: str,
    retry_if: Callable[[BaseException], bool],
    *,
    attempts: int,
    log: logging.Logger,
    first: float = FIRST,
    cap: float = CAP,
    stop_event: asyncio.Event | None = None,
) -> AsyncRetrying:
    """Up to `attempts` tries of `what` while the error passes `retry_if`; then the last error
    is raised as is. With `stop_event`, a wait ends early when it is set (shutdown), and the
    caller checks the event at the top of its attempt."""

    def before_sleep(state: RetryCallState) -> None:
        log.warning("%s failed: %s; retrying in %.1f s", what, state.outcome.exception(), state.upcoming_sleep)

    return AsyncRetrying(
        retry=retry_if_exception(retry_if),
        stop=stop_after_attempt(attempts),
        wait=jittered_exponential(first, cap),
        sleep=asyncio.sleep if stop_event is None else functools.partial(sleep_unless, stop_event),
        before_sleep=before_sleep,
        reraise=True,
    )


async def sleep_unless(stop_event: asyncio.Event, seconds: float) -> None:
    """Sleep `seconds`, or less when `stop_event` is set first."""
    try:
        await asyncio.wait_for(stop_event.wait(), seconds)
    except asyncio.TimeoutError:
        pass
