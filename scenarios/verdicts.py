"""What a scenario ends with besides a pass: a finding (BugFound) or a dead bot (BotDied)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botfakes.testing.process import BotProcess

from .bugs import Bug

TAIL_LINES = 15


@dataclass
class Finding:
    """What a scenario found: the bug, the quoted error, and the evidence."""

    bug: Bug
    error: str
    evidence: list[str] = field(default_factory=list)


class BugFound(AssertionError):
    """Raised by a scenario when the bot shows a bug; the verdict is built from it."""

    def __init__(self, finding: Finding) -> None:
        self.finding = finding
        lines = [f"{finding.bug.cls.upper()} {finding.bug.id}: {finding.bug.title} "
                 f"(seed {', '.join(finding.bug.seeds) or '-'})", f"  error: {finding.error}"]
        lines += [f"  {line}" for line in finding.evidence]
        lines.append(f"  fix: {finding.bug.advice}")
        super().__init__("\n".join(lines))


class BotDied(AssertionError):
    """An instance exited (or never started) while the scenario needed it: a scenario error with
    the cause, not a verdict on a concurrency bug."""

    def __init__(self, message: str, label: str, code: int | None = None, after_s: float | None = None,
                 tail: list[str] | None = None) -> None:
        self.label, self.code, self.after_s, self.tail = label, code, after_s, list(tail or [])
        text = message + ("; its last output:\n" + "\n".join(f"  | {t}" for t in self.tail)
                          if self.tail else "")
        super().__init__(text)
        self.summary = message

    @classmethod
    def of(cls, bot: BotProcess) -> "BotDied":
        return cls(bot.describe_exit(), bot.label, bot.returncode, round(bot.runtime_s, 2),
                   bot.tail(TAIL_LINES))

    def record(self) -> dict[str, Any]:
        return {"instance": self.label, "code": self.code, "after_s": self.after_s, "tail": self.tail}
