"""The webhook sender: POSTs one bot's updates to its webhook on the schedule of webhook.py.

I/O only: the schedule decides which update goes when, webhook.py's rules classify each attempt,
the plane decides each delivery as a push (journaled kind "push", method "webhook"), and the core
records successes and errors. Lives on the runtime's loop.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any, Callable

import aiohttp

from .webhook import (
    CANT_CONNECT, CONNECTION_CLOSED, SECRET_HEADER, AttemptResult, WebhookSchedule, fault_result,
    may_deliver, response_result,
)

if TYPE_CHECKING:
    from .core import Bot, BotApiCore, Update

class WebhookDeliverer:
    """Sends one bot's updates to its webhook until stopped. Lives on the runtime's loop."""

    def __init__(self, core: "BotApiCore", bot: "Bot", plane: Any, execute: Callable, conn: str,
                 timeout: float = 60.0) -> None:
        self.core = core
        self.bot = bot
        self.webhook = bot.webhook
        self.plane = plane
        self.execute = execute  # async (bot, method, params) -> None: runs a method from a reply body
        self.conn = conn
        self.schedule = WebhookSchedule(self.webhook.max_connections, core.config.webhook_backoff_base,
                                        core.config.webhook_backoff_cap, plane.rng)
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self.webhook.max_connections),
            timeout=aiohttp.ClientTimeout(total=timeout),
        )
        self._tasks: set[asyncio.Task] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._stopped = False
        loop = asyncio.get_running_loop()
        self._loop = loop
        now = loop.time()
        for update in list(bot.queue):
            self.schedule.add(update, now)
        self.pump()

    def add(self, update: "Update") -> None:
        self.schedule.add(update, self._loop.time())
        self.pump()

    def pump(self) -> None:
        if self._stopped:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        now = self._loop.time()
        for update in self.schedule.ready(now):
            task = self._loop.create_task(self._send(update))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        wake = self.schedule.next_wakeup()
        if wake is not None and wake > now:
            self._timer = self._loop.call_at(wake, self.pump)

    async def _attempt(self, update: "Update") -> AttemptResult:
        decision = self.plane.push("botapi", self.conn, "webhook",
                                   {"bot_id": str(self.bot.id), "update_id": str(update.update_id)},
                                   data={"bot_id": self.bot.id, "url": self.webhook.url,
                                         "update": update.to_dict()})
        self.plane.count("botapi.webhook.attempts")
        if decision.delay:
            await asyncio.sleep(decision.delay)
        faulted = fault_result(decision)
        if faulted is not None:
            return faulted
        if not may_deliver(self.webhook.url, self.core.config.webhook_allow_remote):
            return AttemptResult(CANT_CONNECT)
        headers = {"Content-Type": "application/json"}
        if self.webhook.secret_token:
            headers[SECRET_HEADER] = self.webhook.secret_token
        body = json.dumps(update.to_dict(), ensure_ascii=False, separators=(",", ":")).encode()
        try:
            async with self._session.post(self.webhook.url, data=body, headers=headers) as resp:
                payload = await resp.read()
                return response_result(resp.status, resp.reason or "", resp.headers, payload)
        except aiohttp.ServerDisconnectedError:
            return AttemptResult(CONNECTION_CLOSED)
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError):
            return AttemptResult(CANT_CONNECT)

    async def _send(self, update: "Update") -> None:
        result = await self._attempt(update)
        if self._stopped:
            return
        if result.error is None:
            self.schedule.on_success(update.update_id)
            self.core.confirm_update(self.bot, update.update_id)
            if result.reply_call is not None:
                await self.execute(self.bot, *result.reply_call)
        else:
            self.plane.count("botapi.webhook.failures")
            self.core.webhook_error(self.bot, result.error)
            self.schedule.on_failure(update.update_id, self._loop.time(), result.retry_after)
        self.plane.journal.record("botapi", "note", conn=self.conn, method="webhook",
                                  data={"bot_id": self.bot.id, "update_id": update.update_id,
                                        "delivered": result.error is None, "error": result.error or ""})
        self.pump()

    async def stop(self) -> None:
        self._stopped = True
        if self._timer is not None:
            self._timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._session.close()
