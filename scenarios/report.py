"""The verdict matrix, in the terminal and as a self-contained HTML report with timelines."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Cell:
    record: dict[str, Any]

    @property
    def status(self) -> str:
        """passed | caught (expected bug) | bug (unexpected) | missed (expected, not seen) |
        skipped | error"""
        r = self.record
        expected = r.get("expected_bug")
        if r["outcome"] == "error":
            return "error"
        if r["outcome"] == "skipped":
            return "missed" if expected else "skipped"
        if r["outcome"] == "failed":
            return "caught" if expected and r.get("bug") == expected else "bug"
        return "missed" if expected else "passed"

    @property
    def text(self) -> str:
        r = self.record
        status = self.status
        if status in ("caught", "bug"):
            return f"{r['bug']}: {r.get('error') or ''}"
        if status == "missed":
            return f"expected {r['expected_bug']}, got {r['outcome']}"
        if status == "skipped":
            return f"skipped: {r.get('reason', '').removeprefix('Skipped: ')}"
        if status == "error":
            return f"scenario error: {(r.get('error') or '').splitlines()[0] if r.get('error') else ''}"
        return "passed"


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


GOOD = {"passed", "caught", "skipped"}


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
            mark = {"passed": "ok ", "caught": "BUG", "bug": "BUG", "skipped": "-- ",
                    "missed": "!! ", "error": "ERR", "flaky": "?? "}[status]
            text = runs[0].text if status != "flaky" else ", ".join(sorted({c.status for c in runs}))
            reps = f" x{len(runs)}" if len(runs) > 1 else ""
            lines.append(f"  {mark} {scenario:<34} {text[:width * 2]}{reps}")
    return "\n".join(lines)


_CSS = """
body{font:14px system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top}
th{background:#f4f4f4}.passed{background:#e6f4e6}.caught{background:#fde9c8}.bug{background:#f8c8c8}
.missed{background:#f8c8c8}.error{background:#e4d4f4}.flaky{background:#f8c8c8}.skipped{color:#888}
pre{background:#f8f8f8;padding:8px;overflow:auto;font-size:12px}
.tl td{font:12px monospace;border:none;padding:1px 6px}.tl tr:nth-child(even){background:#fafafa}
.bad{color:#b00}
"""


def write_html(records: list[dict[str, Any]], path: Path, title: str = "botfakes verdicts") -> None:
    bots, scenarios, cells = matrix(records)
    out = [f"<!doctype html><meta charset=utf-8><title>{html.escape(title)}</title>",
           f"<style>{_CSS}</style><h1>{html.escape(title)}</h1>",
           "<p>Each cell: the scenario's verdict on that bot. <b>caught</b> = the bug the naive "
           "bot is expected to have was reproduced; <b>bug</b> = a bug was found; failures link "
           "to their timeline.</p>",
           "<table><tr><th>scenario</th>" + "".join(f"<th>{html.escape(b)}</th>" for b in bots) + "</tr>"]
    details = []
    for scenario in scenarios:
        row = [f"<tr><th>{html.escape(scenario)}</th>"]
        for bot in bots:
            runs = cells.get((scenario, bot))
            if not runs:
                row.append("<td></td>")
                continue
            status = cell_status(runs)
            anchor = f"{scenario}--{bot}"
            text = html.escape(runs[0].text[:160])
            if any(c.record["outcome"] in ("failed", "error") for c in runs):
                text = f'<a href="#{html.escape(anchor)}">{text}</a>'
                details.append(_details(anchor, runs))
            reps = f" <small>×{len(runs)}</small>" if len(runs) > 1 else ""
            row.append(f'<td class="{status}">{text}{reps}</td>')
        out.append("".join(row) + "</tr>")
    out.append("</table>")
    out.extend(details)
    path.write_text("\n".join(out))


def _details(anchor: str, runs: list[Cell]) -> str:
    r = next(c.record for c in runs if c.record["outcome"] in ("failed", "error"))
    parts = [f'<h2 id="{html.escape(anchor)}">{html.escape(r["scenario"])} on {html.escape(r["bot"])}</h2>']
    if r.get("bug"):
        parts.append(f"<p><b>{html.escape(r['bug'])}</b>: {html.escape(r.get('bug_title', ''))} "
                     f"(seed {html.escape(', '.join(r.get('seeds', [])) or '-')})</p>")
    parts.append(f"<pre>{html.escape(r.get('error') or '')}</pre>")
    if r.get("evidence"):
        parts.append("<ul>" + "".join(f"<li>{html.escape(e)}</li>" for e in r["evidence"]) + "</ul>")
    events = r.get("events") or []
    if events:
        t0 = events[0]["time"]
        parts.append("<h3>Timeline of requests and connections</h3><table class=tl>"
                     "<tr><th>t</th><th>instance</th><th>fake</th><th>conn</th><th>event</th>"
                     "<th>method</th><th>outcome</th></tr>")
        for e in events[-400:]:
            outcome = e.get("outcome") or {}
            bad = outcome and not outcome.get("ok")
            text = "ok" if outcome.get("ok") else f"{outcome.get('code', '')} {outcome.get('text', '')}"
            parts.append(
                f"<tr><td>+{e['time'] - t0:.3f}s</td><td>{html.escape(str(e.get('instance', '')))}</td>"
                f"<td>{html.escape(e['fake'])}</td><td>{html.escape(e['conn'])}</td>"
                f"<td>{html.escape(e['kind'])}</td><td>{html.escape(e['method'])}</td>"
                f"<td class={'bad' if bad else ''}>{html.escape(text if outcome else '')}</td></tr>")
        parts.append("</table>")
    for label, output in (r.get("output") or {}).items():
        parts.append(f"<h3>Output of instance {html.escape(label)} (last lines)</h3>"
                     f"<pre>{html.escape(output)}</pre>")
    return "\n".join(parts)
