"""What the plane decided for one request or one push, for a transport to enact.

    deliver  no rule fired: the core answers (a request) / the message goes out (a push)
    delay    only delay rules fired: the same, `delay` seconds late
    drop     received and never answered / the message is withheld; the connection stays open
    close    the connection is closed without an answer (close code/reason from the rule)
    error    the rule's `error`, in the fake's own terms, answers instead of the core

A request's delay is already waited out when the transport sees its decision (inside the plane,
so that a gate's release order holds); a push's delay is for the connection's push queue to wait.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from .faults import FaultRule

ACTIONS = ("deliver", "delay", "drop", "close", "error")


@dataclass(frozen=True, slots=True)
class Decision:
    action: str = "deliver"
    rule: FaultRule | None = None  # the terminal rule (drop, close, error), if one fired
    delay: float = 0.0  # seconds, every fired rule's delay and jitter summed

    @property
    def terminal(self) -> bool:
        """The rule, not the core, ends this request or push."""
        return self.rule is not None

    @property
    def error(self) -> dict[str, Any]:
        return dict(self.rule.error or {}) if self.rule is not None else {}

    @property
    def close_code(self) -> int | None:
        return self.rule.close_code if self.rule is not None else None

    @property
    def close_reason(self) -> str:
        return self.rule.close_reason if self.rule is not None else ""

    def outcome(self) -> dict[str, Any]:
        assert self.rule is not None
        return self.rule.outcome()


DELIVER = Decision()


def decide(fired: Sequence[FaultRule], delay: float) -> Decision:
    """The decision for the rules that fired (at most one terminal) and their drawn delay."""
    if not fired:
        return DELIVER
    terminal = next((r for r in fired if r.action != "delay"), None)
    if terminal is not None:
        return Decision(terminal.action, terminal, delay)
    return Decision("delay", None, delay)
