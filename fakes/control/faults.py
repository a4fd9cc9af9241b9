"""Fault rules: make a fake answer an error, answer late, or drop the connection, on purpose.

The plane only decides *whether* a rule fires; the fake enacts it in its own terms (a Bot API
error envelope, a Deriv error object, an MTProto rpc_error), because only the fake knows its
protocol. `error` is therefore a dict in the fake's own vocabulary, passed through untouched:

    botapi:  {"error_code": 429, "description": "Too Many Requests: retry after 5",
              "parameters": {"retry_after": 5}}
    deriv:   {"code": "RateLimit", "message": "You have reached the rate limit for ping."}
    mtproto: {"error_code": 420, "error_message": "FLOOD_WAIT_5"}
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from typing import Any, Mapping

from .matching import Match

ACTIONS = ("error", "delay", "drop", "close")
# "request": matched against what a client sent; "push": against what the server is about to send
# unasked (a subscription message, a webhook delivery), so a stream can be stalled or cut.
STAGES = ("request", "push")
MAX_DELAY = 3600.0  # an hour: longer is a mistake, and would overflow asyncio's timers


@dataclass
class FaultRule:
    match: Match
    action: str
    error: dict[str, Any] | None = None
    delay: float = 0.0  # seconds; for "delay", and before any other action when set
    jitter: float = 0.0  # up to this many seconds more, drawn from the plane's seeded RNG
    close_code: int | None = None  # for "close" on WebSocket fakes
    close_reason: str = ""
    skip: int = 0  # let this many matches pass first ("close after N messages")
    times: int | None = None  # fire this many times, then retire; None = every match
    probability: float = 1.0  # drawn from the plane's seeded RNG, so runs repeat
    stage: str = "request"
    id: str = ""  # assigned when added (a rule made by the plane itself names its purpose)
    seen: int = 0  # matches so far, skipped ones included
    fired: int = 0

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"action must be one of {', '.join(ACTIONS)}")
        if self.stage not in STAGES:
            raise ValueError(f"stage must be one of {', '.join(STAGES)}")
        if self.action == "error" and not isinstance(self.error, dict):
            raise ValueError("an error rule needs `error`, an object in the fake's own terms")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        if self.times is not None and self.times < 0 or self.skip < 0:
            raise ValueError("times and skip must not be negative")
        if not (0 <= self.delay <= MAX_DELAY and 0 <= self.jitter <= MAX_DELAY):
            raise ValueError(f"delay and jitter must be between 0 and {MAX_DELAY:g} seconds")

    def outcome(self) -> dict[str, Any]:
        """The journal outcome of a request this rule ended: code = the action, for every fake."""
        return {"ok": False, "code": self.action, "text": f"fault rule {self.id}"}

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.fired >= self.times

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            **self.match.to_json(),
            "action": self.action,
            "error": self.error,
            "delay": self.delay,
            "jitter": self.jitter,
            "close_code": self.close_code,
            "close_reason": self.close_reason,
            "skip": self.skip,
            "times": self.times,
            "probability": self.probability,
            "stage": self.stage,
            "seen": self.seen,
            "fired": self.fired,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "FaultRule":
        def number(key: str, default: float) -> float:
            value = data.get(key, default)
            if value is None:
                return default
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{key} must be a number")
            return float(value)

        times = data.get("times")
        if times is not None and (isinstance(times, bool) or not isinstance(times, int)):
            raise ValueError("times must be an integer or null")
        close_code = data.get("close_code")
        if close_code is not None and (isinstance(close_code, bool) or not isinstance(close_code, int)):
            raise ValueError("close_code must be an integer")
        error = data.get("error")
        if error is not None and not isinstance(error, dict):
            raise ValueError("error must be an object")
        return cls(
            match=Match.from_json(data),
            action=str(data.get("action") or ""),
            error=error,
            delay=number("delay", 0.0),
            jitter=number("jitter", 0.0),
            close_code=close_code,
            close_reason=str(data.get("close_reason") or ""),
            skip=int(number("skip", 0)),
            times=times,
            probability=number("probability", 1.0),
            stage=str(data.get("stage") or "request"),
        )


class FaultRules:
    """The armed rules, checked in the order they were added."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)

    def add(self, rule: FaultRule) -> FaultRule:
        rule.id = f"fault-{next(self._ids)}"
        self._rules.append(rule)
        return rule

    def remove(self, rule_id: str) -> bool:
        before = len(self._rules)
        self._rules = [r for r in self._rules if r.id != rule_id]
        return len(self._rules) != before

    def clear(self) -> None:
        self._rules.clear()

    def list(self) -> list[FaultRule]:
        return list(self._rules)

    def fire(
        self,
        fake: str,
        method: str,
        params: Mapping[str, Any],
        conn: str = "",
        stage: str = "request",
    ) -> list[FaultRule]:
        """The rules that fire for this request, consuming their counts.

        Every matching delay rule fires, plus at most one terminal rule (error/drop/close): a
        request can be late and then fail, but it cannot fail twice.
        """
        fired: list[FaultRule] = []
        terminal_taken = False
        for rule in self._rules:
            if rule.stage != stage or rule.exhausted:
                continue
            if not rule.match.matches(fake, method, params, conn):
                continue
            terminal = rule.action != "delay"
            if terminal and terminal_taken:
                continue
            rule.seen += 1
            if rule.seen <= rule.skip:
                continue
            if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                continue
            rule.fired += 1
            fired.append(rule)
            terminal_taken = terminal_taken or terminal
        return fired

    def delay_for(self, rule: FaultRule) -> float:
        return rule.delay + (self._rng.uniform(0.0, rule.jitter) if rule.jitter else 0.0)
