"""Flood control for messages a bot sends, with Telegram's published limits.

Limits (https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this): about one
message per second in a chat, 20 messages per minute in a group, about 30 messages per second overall.
Each limit is a sliding window (count, seconds); going over answers 429 `Too Many Requests: retry after N`
with N the whole seconds until the oldest message leaves the window. The clock is injected, so tests
decide what time it is and the outcome is deterministic.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class RateLimits:
    enabled: bool = True
    per_chat: tuple[int, float] | None = (1, 1.0)
    per_group: tuple[int, float] | None = (20, 60.0)
    per_bot: tuple[int, float] | None = (30, 1.0)

    def to_dict(self) -> dict:
        return {"enabled": self.enabled, "per_chat": self.per_chat, "per_group": self.per_group,
                "per_bot": self.per_bot}

    @classmethod
    def from_dict(cls, data: dict) -> "RateLimits":
        limits = cls()
        for key in ("per_chat", "per_group", "per_bot"):
            if key in data:
                value = data[key]
                setattr(limits, key, None if value is None else (int(value[0]), float(value[1])))
        if "enabled" in data:
            limits.enabled = bool(data["enabled"])
        return limits


@dataclass
class _Window:
    count: int
    seconds: float
    stamps: deque = field(default_factory=deque)

    def wait(self, now: float) -> float:
        while self.stamps and self.stamps[0] <= now - self.seconds:
            self.stamps.popleft()
        if len(self.stamps) < self.count:
            return 0.0
        return self.stamps[0] + self.seconds - now


class FloodControl:
    """Checks and records one message of a bot to a chat; `check` returns retry_after (0 = allowed)."""

    def __init__(self, limits: RateLimits | None = None, clock: Callable[[], float] | None = None) -> None:
        import time

        self.limits = limits or RateLimits()
        self.clock = clock or time.monotonic
        self._windows: dict[tuple, _Window] = {}

    def reset(self) -> None:
        self._windows.clear()

    def _window(self, key: tuple, limit: tuple[int, float]) -> _Window:
        window = self._windows.get(key)
        if window is None or (window.count, window.seconds) != limit:
            window = self._windows[key] = _Window(limit[0], limit[1])
        return window

    def check(self, bot_id: int, chat_id: int, is_group: bool) -> int:
        if not self.limits.enabled:
            return 0
        now = self.clock()
        windows = []
        if self.limits.per_bot:
            windows.append(self._window(("bot", bot_id), self.limits.per_bot))
        if self.limits.per_chat:
            windows.append(self._window(("chat", bot_id, chat_id), self.limits.per_chat))
        if is_group and self.limits.per_group:
            windows.append(self._window(("group", bot_id, chat_id), self.limits.per_group))
        wait = max((w.wait(now) for w in windows), default=0.0)
        if wait > 0:
            return max(1, math.ceil(wait))
        for window in windows:
            window.stamps.append(now)
        return 0
