"""Verdict statuses, the terminal matrix, the summary counts and the exit code of `botfakes run`
(report.py renders the same records as HTML).

A finding is a *bug* (a seed's production failure: the 409s, the 406, `database is locked`,
concurrent recv, crossed replies, a forged webhook handled) or a *risk* (updates lost after
kill -9, retry_after ignored, no re-subscribe after a disconnect...): the record's
"finding_class". Exit codes: 0 clean (bundled bots: the matrix as expected), 1 bugs or risks
(bundled: not as expected), 2 scenario errors (or no scenario ran; bad usage is 2 before any ran).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERRORS = 0, 1, 2


@dataclass(frozen=True)
class Cell:
    record: dict[str, Any]

    @property
    def status(self) -> str:
        """passed | caught (expected bug) | bug (unexpected finding, bug or risk) | ignored (a
        finding given to --ignore) | missed (expected, not seen) | skipped | error"""
        r = self.record
        expected = r.get("expected_bug")
        if r["outcome"] == "error":
            return "error"
        if r["outcome"] == "skipped":
            return "missed" if expected else "skipped"
        if r["outcome"] == "failed":
            if expected and r.get("bug") == expected:
                return "caught"
            return "ignored" if r.get("ignored") else "bug"
        return "missed" if expected else "passed"

    @property
    def finding_class(self) -> str | None:
        return self.record.get("finding_class") or (
            _class_of(self.record.get("bug")) if self.record.get("bug") else None)

    @property
    def text(self) -> str:
        r = self.record
        status = self.status
        if status in ("caught", "bug", "ignored"):
            prefix = "ignored " if status == "ignored" else ""
            return f"{prefix}{r['bug']} ({self.finding_class or 'bug'}): {r.get('error') or ''}"
        if status == "missed":
            return f"expected {r['expected_bug']}, got {r['outcome']}"
        if status == "skipped":
            return f"skipped: {r.get('reason', '').removeprefix('Skipped: ')}"
        if status == "error":
            return f"scenario error: {(r.get('error') or '').splitlines()[0] if r.get('error') else ''}"
        return "passed"


def _class_of(bug_id: str | None) -> str | None:
    from .bugs import finding_class

    return finding_class(bug_id)


def load_records(results_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(results_dir.glob("*.json"))]


def matrix(records: list[dict[str, Any]]) -> tuple[list[str], list[str], dict[tuple[str, str], list[Cell]]]:
    bots: list[str] = []
    scenarios: list[str] = []
    cells: dict[tuple[str, str], list[Cell]] = {}
    for r in records:
        if r["bot"] not in bots:
            bots.append(r["bot"])
        if r["scenario"] not in scenarios:
            scenarios.append(r["scenario"])
        cells.setdefault((r["scenario"], r["bot"]), []).append(Cell(r))
    return bots, scenarios, cells


def cell_status(runs: list[Cell]) -> str:
    """One status for repeated runs of a cell; a cell whose runs disagree is "flaky"."""
    statuses = {c.status for c in runs}
    return statuses.pop() if len(statuses) == 1 else "flaky"


GOOD = {"passed", "caught", "skipped", "ignored"}
_MARKS = {"passed": "ok  ", "caught": "BUG ", "skipped": "--  ", "ignored": "ign ", "missed": "!!  ",
          "error": "ERR ", "flaky": "??  "}


def _mark(status: str, cls: str | None) -> str:
    if status == "bug":
        return "RISK" if cls == "risk" else "BUG "
    return _MARKS[status]


def format_terminal(records: list[dict[str, Any]], width: int = 60) -> str:
    bots, scenarios, cells = matrix(records)
    lines = []
    for bot in bots:
        lines.append(f"== {bot}")
        for scenario in scenarios:
            runs = cells.get((scenario, bot))
            if not runs:
                continue
            status = cell_status(runs)
            text = runs[0].text if status != "flaky" else ", ".join(sorted({c.status for c in runs}))
            reps = f" x{len(runs)}" if len(runs) > 1 else ""
            lines.append(f"  {_mark(status, runs[0].finding_class)} {scenario:<34} {text[:width * 2]}{reps}")
            exit_info = runs[0].record.get("bot_exit") if status == "error" else None
            for tail in (exit_info or {}).get("tail", [])[-8:]:
                lines.append(f"       | {tail[:150]}")
    return "\n".join(lines)


@dataclass(frozen=True)
class Counts:
    bugs: int = 0
    risks: int = 0
    errors: int = 0
    skipped: int = 0
    ignored: int = 0
    caught: int = 0
    passed: int = 0
    missed: int = 0
    flaky: int = 0

    def line(self, bundled: bool = False) -> str:
        parts = [f"{self.bugs} bug(s)", f"{self.risks} risk(s)", f"{self.errors} scenario error(s)",
                 f"{self.skipped} skipped"]
        if self.ignored:
            parts.append(f"{self.ignored} ignored")
        if bundled:
            parts.insert(0, f"{self.caught} expected bug(s) caught")
        if self.missed:
            parts.append(f"{self.missed} missed")
        if self.flaky:
            parts.append(f"{self.flaky} flaky")
        return ", ".join(parts)


def counts(records: list[dict[str, Any]]) -> Counts:
    """Per cell (scenario x bot, repeated runs folded): what the summary line counts."""
    _, _, cells = matrix(records)
    tally: dict[str, int] = {}
    for runs in cells.values():
        status = cell_status(runs)
        if status == "bug":
            status = "risks" if runs[0].finding_class == "risk" else "bugs"
        key = {"error": "errors"}.get(status, status)
        tally[key] = tally.get(key, 0) + 1
    return Counts(**{k: v for k, v in tally.items() if k in Counts.__dataclass_fields__})


def exit_code(records: list[dict[str, Any]], bundled: bool) -> int:
    """0 clean / as expected, 1 findings (bundled: not as expected), 2 scenario errors."""
    if not records:
        return EXIT_ERRORS
    c = counts(records)
    if c.errors:
        return EXIT_ERRORS
    if bundled:
        return EXIT_CLEAN if not uncaught_bots(records) and not (c.bugs or c.risks or c.missed or c.flaky) \
            else EXIT_FINDINGS
    return EXIT_FINDINGS if c.bugs or c.risks or c.missed or c.flaky else EXIT_CLEAN


def uncaught_bots(records: list[dict[str, Any]]) -> list[str]:
    """Bundled naive variants that no scenario caught with a bug (each must have one)."""
    bots, scenarios, cells = matrix(records)
    return [b for b in bots if b != "reference" and any(r["expected_bug"] for r in records if r["bot"] == b)
            and not any(cells.get((s, b)) and cell_status(cells[(s, b)]) == "caught" for s in scenarios)]
