"""Webhook delivery: which update goes out when (a pure schedule), and the HTTP sender around it.

The schedule follows WebhookActor.cpp:
- Updates are queued per chat; only the head of a chat's queue is ever in flight, so a chat's updates
  arrive in order while different chats proceed in parallel, at most `max_connections` at once.
- A failed update is retried: the first retry at once (or after Retry-After), then after 2, 4, 8 ...
  times `base` seconds, the doubling capped at a value drawn from [cap, 2*cap] (60-120 s on Telegram).
  A Retry-After from the bot (clamped to 0..3600) replaces the delay for that attempt.
- Success is any 2xx. Anything else sets last_error_message to
  `Wrong response from the webhook: <code> <reason>`.
- A 2xx body with a "method" (not getX, setWebhook, deleteWebhook, close, logOut) is executed as a Bot API
  call; its result goes nowhere.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from .core import Bot, BotApiCore, Update

MAX_RETRY_AFTER = 3600
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass
class _Pending:
    update: "Update"
    delay: float  # the base of the next doubling (WebhookActor Update::delay_, starts at 1 step)
    fail_count: int = 0
    wakeup_at: float = 0.0


class WebhookSchedule:
    """Sans-I/O: given the time, which updates to send now, and when to look again."""

    def __init__(self, max_connections: int, base: float = 1.0, cap: float = 60.0,
                 rng: random.Random | None = None) -> None:
        self.max_connections = max_connections
        self.base = base
        self.cap = cap
        self.rng = rng or random.Random(0)
        self._pending: dict[int, _Pending] = {}
        self._queues: dict[Any, deque] = {}
        self._in_flight: set[Any] = set()
        self._solo_keys = 0

    def _key(self, update: "Update") -> Any:
        if update.queue_key is not None:
            return update.queue_key
        self._solo_keys += 1
        return ("solo", self._solo_keys)  # no chat: its own queue, like WebhookActor's unique ids

    def add(self, update: "Update", now: float) -> None:
        if update.update_id in self._pending:
            return
        self._pending[update.update_id] = _Pending(update, self.base, wakeup_at=now)
        self._queues.setdefault(self._key(update), deque()).append(update.update_id)

    def __len__(self) -> int:
        return len(self._pending)

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def ready(self, now: float) -> list["Update"]:
        """Updates to send now; each is marked in flight until on_success/on_failure."""
        out = []
        for key, queue in self._queues.items():
            if len(self._in_flight) >= self.max_connections:
                break
            if key in self._in_flight or not queue:
                continue
            pending = self._pending[queue[0]]
            if pending.wakeup_at <= now:
                self._in_flight.add(key)
                out.append(pending.update)
        return out

    def next_wakeup(self) -> float | None:
        times = [self._pending[q[0]].wakeup_at for k, q in self._queues.items() if q and k not in self._in_flight]
        return min(times) if times else None

    def _finish(self, update_id: int) -> tuple[Any, _Pending]:
        for key, queue in self._queues.items():
            if queue and queue[0] == update_id:
                self._in_flight.discard(key)
                return key, self._pending[update_id]
        raise KeyError(update_id)

    def on_success(self, update_id: int) -> None:
        key, _ = self._finish(update_id)
        self._queues[key].popleft()
        del self._pending[update_id]
        if not self._queues[key]:
            del self._queues[key]

    def on_failure(self, update_id: int, now: float, retry_after: int = 0) -> float:
        """Reschedule a failed update; returns the delay chosen (WebhookActor::on_update_error)."""
        _, pending = self._finish(update_id)
        retry_after = min(max(int(retry_after), 0), MAX_RETRY_AFTER)
        effective = float(retry_after)
        if retry_after == 0 and pending.fail_count > 0:
            cap = self.rng.uniform(self.cap, 2 * self.cap)
            pending.delay = min(cap, pending.delay * 2)
            effective = pending.delay
        pending.wakeup_at = now + effective
        pending.fail_count += 1
        return effective


REPLY_METHOD_FORBIDDEN = ("deletewebhook", "setwebhook", "close", "logout")


def reply_method(body: bytes, content_type: str) -> tuple[str, dict[str, str]] | None:
    """The Bot API call carried in a 2xx webhook reply, if any, as (method, params)."""
    from .params import parse_body

    if not body:
        return None
    try:
        params, _ = parse_body(body, content_type or "application/json")
    except Exception:
        return None
    method = params.get("method", "")
    lowered = method.lower()
    if not lowered or lowered in REPLY_METHOD_FORBIDDEN or lowered.startswith("get"):
        return None
    return method, params


class WebhookDeliverer:
    """Sends one bot's updates to its webhook until stopped. Lives on the runtime's loop."""

    def __init__(self, core: "BotApiCore", bot: "Bot", plane: Any, execute: Callable, conn: str,
                 timeout: float = 60.0) -> None:
        import aiohttp

        self.core = core
        self.bot = bot
        self.webhook = bot.webhook
        self.plane = plane
        self.execute = execute  # async (bot, method, params) -> None: runs a method from a reply body
        self.conn = conn
        self.schedule = WebhookSchedule(self.webhook.max_connections, core.config.webhook_backoff_base,
                                        core.config.webhook_backoff_cap, plane.rng if plane else None)
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

    async def _send(self, update: "Update") -> None:
        import aiohttp

        counters = self.plane.counters if self.plane else None
        params = {"bot_id": str(self.bot.id), "update_id": str(update.update_id)}
        fault = self.plane.push("botapi", self.conn, "webhook", params,
                                data={"bot_id": self.bot.id, "url": self.webhook.url,
                                      "update": update.to_dict()}) if self.plane else None
        if counters:
            counters.incr("botapi.webhook.attempts")
        error: str | None = None
        retry_after = 0
        reply_call = None
        try:
            delay = self.plane.faults.delay_for(fault) if fault is not None else 0.0
            if delay:
                await asyncio.sleep(delay)
            if fault is not None and fault.action in ("drop", "close"):
                error = "Webhook connection closed"
            elif fault is not None and fault.action == "error":
                code = int((fault.error or {}).get("error_code", 500))
                error = f"Wrong response from the webhook: {code} {(fault.error or {}).get('description', '')}"
            elif not self.core.config.webhook_allow_remote and urlsplit(self.webhook.url).hostname not in _LOOPBACK:
                error = "Can't connect to the webhook"
            else:
                headers = {"Content-Type": "application/json"}
                if self.webhook.secret_token:
                    headers[SECRET_HEADER] = self.webhook.secret_token
                body = json.dumps(update.to_dict(), ensure_ascii=False, separators=(",", ":")).encode()
                async with self._session.post(self.webhook.url, data=body, headers=headers) as resp:
                    payload = await resp.read()
                    if 200 <= resp.status <= 299:
                        reply_call = reply_method(payload, resp.headers.get("Content-Type", ""))
                    else:
                        error = f"Wrong response from the webhook: {resp.status} {resp.reason or ''}"
                        try:
                            retry_after = int(resp.headers.get("Retry-After", "0"))
                        except ValueError:
                            retry_after = 0
        except asyncio.CancelledError:
            raise
        except aiohttp.ServerDisconnectedError:
            error = "Webhook connection closed"
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError):
            error = "Can't connect to the webhook"
        if self._stopped:
            return
        if error is None:
            self.schedule.on_success(update.update_id)
            self.core.confirm_update(self.bot, update.update_id)
            if reply_call is not None:
                await self.execute(self.bot, *reply_call)
        else:
            if counters:
                counters.incr("botapi.webhook.failures")
            self.core.webhook_error(self.bot, error)
            self.schedule.on_failure(update.update_id, self._loop.time(), retry_after)
        if self.plane:
            self.plane.journal.record("botapi", "note", conn=self.conn, method="webhook",
                                      data={"bot_id": self.bot.id, "update_id": update.update_id,
                                            "delivered": error is None, "error": error or ""})
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
