"""Webhook delivery rules, sans-I/O: which update goes out when, and what an attempt's result means.

The HTTP sender around them is delivery.py.

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
- A push-stage fault rule on "webhook": "drop"/"close" fail the attempt as a closed connection, "error"
  as the wrong response {error_code} {description}; a delay only makes it late.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from ..control.decisions import Decision
    from .core import Update

MAX_RETRY_AFTER = 3600
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# last_error_message texts (WebhookActor.cpp)
CONNECTION_CLOSED = "Webhook connection closed"
CANT_CONNECT = "Can't connect to the webhook"


def wrong_response(code: int, reason: str) -> str:
    return f"Wrong response from the webhook: {code} {reason}"


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


@dataclass
class AttemptResult:
    """One delivery attempt's result: error None = delivered."""

    error: str | None = None
    retry_after: int = 0
    reply_call: tuple[str, dict[str, str]] | None = None  # a method in the 2xx reply body


def fault_result(decision: "Decision") -> AttemptResult | None:
    """What a push-stage rule makes of the attempt, or None when the POST is to be made."""
    if decision.action in ("drop", "close"):
        return AttemptResult(CONNECTION_CLOSED)
    if decision.action == "error":
        error = decision.error
        return AttemptResult(wrong_response(int(error.get("error_code", 500)),
                                            str(error.get("description", ""))))
    return None


def may_deliver(url: str, allow_remote: bool) -> bool:
    """Only loopback webhooks are called unless remote ones are allowed (tests stay local)."""
    return allow_remote or urlsplit(url).hostname in _LOOPBACK


def response_result(status: int, reason: str, headers: Mapping[str, str], body: bytes) -> AttemptResult:
    """Classify the bot's HTTP answer: any 2xx delivers (and may carry a method); otherwise the
    error text, and the Retry-After the bot asked for (not a number = none)."""
    if 200 <= status <= 299:
        return AttemptResult(reply_call=reply_method(body, headers.get("Content-Type", "")))
    try:
        retry_after = int(headers.get("Retry-After", "0"))
    except ValueError:
        retry_after = 0
    return AttemptResult(wrong_response(status, reason or ""), retry_after)
