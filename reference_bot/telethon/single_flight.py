"""Single-flight: concurrent callers share one in-progress async operation (seed 000's fix).

Seed 000's service opened a Telegram client per HTTP request; three `/trending-*` requests at once
made three connections with one auth key, and Telegram answered `406 AUTH_KEY_DUPLICATED`. The fix
keeps one client and one connection attempt: the first caller starts connecting, the others await
that same attempt, and later callers get the connected value at once.

Two details the seed's JavaScript version gets from promises and Python has to do on purpose:
- The attempt runs in its own task, and callers await it through `asyncio.shield`: a caller that
  is cancelled (its HTTP client went away) stops waiting without cancelling the connection the
  others are waiting for.
- The slot is cleared in a `finally` of that task, so a failed *or cancelled* attempt never leaves
  a stale "connecting" state behind: the next caller starts a fresh attempt. Waiters of an attempt
  that was cancelled (shutdown) get `ConnectAborted`, not a CancelledError they did not cause.
"""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable, Generic, TypeVar

T = TypeVar("T")


class ConnectAborted(ConnectionError):
    """The shared attempt was cancelled while this caller waited for it."""


class SingleFlight(Generic[T]):
    def __init__(
        self,
        factory: Callable[[], Awaitable[T]],
        is_alive: Callable[[T], bool] = lambda value: True,
    ):
        self._factory = factory
        self._is_alive = is_alive
        self._value: T | None = None
        self._task: asyncio.Task | None = None
        self.attempts = 0  # how many times the factory ran

    @property
    def in_progress(self) -> bool:
        return self._task is not None

    def current(self) -> T | None:
        """The value when it is there and alive, else None (never starts an attempt)."""
        if self._value is not None and self._is_alive(self._value):
            return self._value
        return None

    async def get(self) -> T:
        value = self.current()
        if value is not None:
            return value
        if self._task is None:
            self._value = None
            self._task = asyncio.create_task(self._attempt(), name="single-flight")
        task = self._task
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            me = asyncio.current_task()
            if task.cancelled() and not (me is not None and me.cancelling()):
                raise ConnectAborted("the connection attempt was cancelled") from None
            raise

    async def _attempt(self) -> T:
        self.attempts += 1
        me = asyncio.current_task()
        try:
            value = await self._factory()
            if self._task is me:  # not superseded by cancel() and a newer attempt
                self._value = value
            return value
        finally:
            if self._task is me:
                self._task = None

    def reset(self) -> None:
        """Forget the value (after a disconnect); the next get() connects again."""
        self._value = None

    async def cancel(self) -> None:
        """Cancel an attempt in progress (shutdown) and forget the value."""
        task, self._task = self._task, None
        self._value = None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
