"""One connection's server pushes, in order, each enacted as the plane decided.

A push under a delay rule is sent later by a task of its own, and the later pushes of the same
connection queue behind it, so one slow connection keeps its order and stalls no other. "drop"
withholds the message, "close" closes the connection instead of sending it; "error" has no
meaning for a message the client did not ask for and withholds it as well.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from .decisions import Decision


class PushTarget(Protocol):
    """What a push queue needs of its connection (a links.Link)."""

    async def push(self, message: Any) -> None: ...

    async def close(self, code: int | None = None, reason: str = "") -> None: ...


class PushQueue:
    def __init__(self, link: PushTarget) -> None:
        self.link = link
        self._waiting: list[asyncio.Task] = []  # pushes still waiting, oldest first

    async def put(self, decision: Decision, message: Any) -> bool:
        """Send (or schedule) one push; whether it will reach the client."""
        if decision.delay or self.waiting:
            before = self._waiting[-1] if self._waiting else None
            task = asyncio.get_running_loop().create_task(self._later(before, decision, message))
            self._waiting.append(task)
            task.add_done_callback(self._done)
            return not decision.terminal
        return await self._enact(decision, message)

    async def _later(self, before: asyncio.Task | None, decision: Decision, message: Any) -> None:
        if before is not None:
            await asyncio.wait((before,))
        if decision.delay:
            await asyncio.sleep(decision.delay)
        await self._enact(decision, message)

    async def _enact(self, decision: Decision, message: Any) -> bool:
        if decision.action == "close":
            await self.link.close(decision.close_code, decision.close_reason)
            return False
        if decision.terminal:  # drop, error
            return False
        await self.link.push(message)
        return True

    def _done(self, task: asyncio.Task) -> None:
        if task in self._waiting:
            self._waiting.remove(task)

    @property
    def waiting(self) -> bool:
        return bool(self._waiting)

    def cancel(self) -> None:
        """Forget pushes still waiting (the connection ended, or a reset)."""
        for task in self._waiting:
            task.cancel()
        self._waiting = []
