"""Rate limits per call class, counted as the real server counts them.

The real server maps each call to a limiting service and counts calls per consumer in sliding
windows (per minute and per hour): the consumer is the authorized loginid when there is one,
else the connection. Over the limit the call gets `RateLimit` / "You have reached the rate limit
for <call>." (before input validation). For the per-connection class (ping, time) the server
also closes the connection with 1008 (policy violation).

Published limits (website_status): general 180/min and 14400/h, pricing 80/min (3600/h),
outcome 25/min (1500/h). The per-connection class's numbers are not published; it uses the
general figures unless configured. All of it is configurable (control API: set_limits).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class LimitClass:
    name: str
    calls: frozenset[str]  # empty: every call not in another class
    per_minute: int | None
    per_hour: int | None
    per_connection: bool = False  # counted per connection even when authorized
    close_code: int | None = None  # close the connection on breach (1008 for per-connection)

    def as_dict(self) -> dict:
        return {"calls": sorted(self.calls), "per_minute": self.per_minute,
                "per_hour": self.per_hour, "per_connection": self.per_connection,
                "close_code": self.close_code}


def default_classes() -> dict[str, LimitClass]:
    return {
        "connection": LimitClass("connection", frozenset({"ping", "time"}), 180, 14400,
                                 per_connection=True, close_code=1008),
        "pricing": LimitClass("pricing", frozenset({"proposal", "proposal_open_contract"}),
                              80, 3600),
        "outcome": LimitClass("outcome", frozenset({"portfolio", "statement", "profit_table"}),
                              25, 1500),
        "general": LimitClass("general", frozenset(), 180, 14400),
    }


@dataclass(slots=True)
class Breach:
    call: str
    limit_class: str
    close_code: int | None

    @property
    def message(self) -> str:
        return f"You have reached the rate limit for {self.call}."


@dataclass
class RateLimiter:
    classes: dict[str, LimitClass] = field(default_factory=default_classes)
    clock: Callable[[], float] = time.monotonic
    enabled: bool = True
    _windows: dict[tuple[str, str], deque] = field(default_factory=dict)

    def class_of(self, call: str) -> LimitClass:
        fallback = None
        for c in self.classes.values():
            if call in c.calls:
                return c
            if not c.calls:
                fallback = c
        return fallback

    def check(self, call: str, conn: str, loginid: str | None) -> Breach | None:
        """Count one call; a Breach when it is over a limit (the call is then not counted)."""
        if not self.enabled:
            return None
        limit = self.class_of(call)
        if limit is None:
            return None
        consumer = conn if (limit.per_connection or not loginid) else loginid
        key = (limit.name, consumer)
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = deque()
        now = self.clock()
        while window and window[0] <= now - 3600:
            window.popleft()
        if limit.per_hour is not None and len(window) >= limit.per_hour:
            return Breach(call, limit.name, limit.close_code)
        if limit.per_minute is not None:
            recent = 0
            for t in reversed(window):
                if t <= now - 60:
                    break
                recent += 1
            if recent >= limit.per_minute:
                return Breach(call, limit.name, limit.close_code)
        window.append(now)
        return None

    def forget_connection(self, conn: str) -> None:
        for key in [k for k in self._windows if k[1] == conn]:
            del self._windows[key]

    def configure(self, name: str, **changes) -> LimitClass:
        limit = self.classes.get(name)
        if limit is None:
            limit = self.classes[name] = LimitClass(name, frozenset(), None, None)
        for key, value in changes.items():
            if key == "calls":
                value = frozenset(value)
            if not hasattr(limit, key):
                raise ValueError(f"unknown limit setting {key!r}")
            setattr(limit, key, value)
        return limit

    def reset(self) -> None:
        self.classes = default_classes()
        self._windows.clear()
        self.enabled = True

    def as_dict(self) -> dict:
        return {"enabled": self.enabled,
                "classes": {n: c.as_dict() for n, c in self.classes.items()}}
