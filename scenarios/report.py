"""report.html: the verdict matrix and, for each failure, its swimlanes, verdict and bot output.

Rendered from scenarios/templates/report.html (Jinja2, autoescaped) into one self-contained file:
the dashboard's swimlane renderer (fakes/dashboard/static/swimlanes.js and .css) is inlined, and
each failure's journal rides along as JSON, so the page opens from disk, from a CI artifact, or
mailed, with no server and no network. The terminal matrix and the exit code are in summary.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from ..fakes.dashboard.routes import static_text
from .summary import Cell, cell_status, counts, matrix

TEMPLATES = Path(__file__).resolve().parent / "templates"
MAX_EVENTS = 4000  # per failure drawn; a longer journal keeps its newest events
OUTPUT_LINES = 15

STATUS_WORDS = {
    "passed": "passed", "caught": "caught (the expected bug)", "bug": "finding", "ignored": "ignored",
    "missed": "missed (the expected bug did not show)", "skipped": "skipped", "error": "scenario error",
    "flaky": "flaky (runs disagree)",
}


@dataclass
class Failure:
    anchor: str
    record: dict[str, Any]
    status: str
    verdict: str
    finding_class: str | None
    race: list[str] = field(default_factory=list)
    highlight: list[int] = field(default_factory=list)
    events_json: str = "[]"
    event_count: int = 0
    output_tail: dict[str, list[str]] = field(default_factory=dict)


def _script_json(value: Any) -> str:
    """JSON safe inside <script type="application/json"> (no "</script>" can end it early)."""
    return json.dumps(value, default=str).replace("</", "<\\/").replace("<!--", "<\\!--")


def verdict_in_words(cell: Cell) -> str:
    r = cell.record
    status = cell.status
    if status in ("caught", "bug", "ignored"):
        kind = {"bug": "a bug (a production failure of one of the seed bots)",
                "risk": "a risk (it loses or repeats work when something goes wrong)"}.get(
                    cell.finding_class or "bug", "a finding")
        words = f"The bot has {r['bug']}, {kind}: {r.get('bug_title') or r['bug']}."
        if r.get("error"):
            seen = r["error"].strip()
            words += f" Seen: {seen}" + ("" if seen.endswith((".", "!", "?")) else ".")
        if status == "caught":
            words += " This bundled variant is meant to have it: the scenario caught it."
        if status == "ignored":
            words += " It was ignored on request (--ignore-finding)."
        return words
    if status == "error":
        exit_info = r.get("bot_exit") or {}
        if exit_info:
            return (f"The scenario could not decide: instance {exit_info.get('instance')} exited with "
                    f"code {exit_info.get('code')} after {exit_info.get('after_s')} s. {r.get('error') or ''}").strip()
        return f"The scenario could not decide: {r.get('error') or 'it broke before a verdict'}"
    if status == "missed":
        return f"Expected {r.get('expected_bug')}, but the scenario {r.get('outcome')}."
    return cell.text


def _prepared_events(record: dict[str, Any]) -> list[dict[str, Any]]:
    events = list(record.get("events") or [])[-MAX_EVENTS:]
    out = []
    for i, e in enumerate(events):
        e = dict(e)
        e.setdefault("seq", i + 1)  # records of older versions carried no seq
        e.setdefault("conn", "")
        e.setdefault("method", "")
        e.setdefault("data", {})
        out.append(e)
    return out


def forced_race(events: list[dict[str, Any]]) -> tuple[list[str], list[int]]:
    """The race the gates forced, in words, and the seqs to highlight (held requests, their
    gate events and responses)."""
    held: dict[str, list[dict[str, Any]]] = {}
    released: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        if e["kind"] != "gate":
            continue
        gate = (e.get("data") or {}).get("gate", "?")
        action = (e.get("data") or {}).get("action")
        (held if action == "held" else released if action == "released" else {}).setdefault(gate, []).append(e)
    requests = {e.get("request") for g in held.values() for e in g}
    highlight = [e["seq"] for e in events if e["kind"] == "gate"
                 or (e["kind"] == "request" and e["seq"] in requests)
                 or (e["kind"] == "response" and e.get("request") in requests)]

    def who(e: dict[str, Any]) -> str:
        instance = e.get("instance")
        return f"{e['conn']} (instance {instance})" if instance and instance != "?" else e["conn"]

    lines = []
    for gate, arrivals in held.items():
        method = arrivals[0].get("method") or "requests"
        line = f"{gate} held {len(arrivals)} {method}: " + ", ".join(who(e) for e in arrivals)
        order = sorted((e for e in released.get(gate, []) if (e.get("data") or {}).get("turn", -1) >= 0),
                       key=lambda e: e["data"]["turn"])
        if order:
            line += "; released " + ", then ".join(who(e) for e in order)
        lines.append(line)
    return lines, highlight


def _output_tail(record: dict[str, Any]) -> dict[str, list[str]]:
    tail = record.get("bot_output_tail") or {}
    if tail:
        return {label: list(lines)[-OUTPUT_LINES:] for label, lines in tail.items()}
    return {label: text.splitlines()[-OUTPUT_LINES:] for label, text in (record.get("output") or {}).items()}


def failure_of(anchor: str, runs: list[Cell]) -> Failure:
    cell = next(c for c in runs if c.record["outcome"] in ("failed", "error"))
    events = _prepared_events(cell.record)
    race, highlight = forced_race(events)
    for broken in (cell.record.get("invariants") or {}).values():
        highlight.extend((broken or {}).get("events") or [])  # what breaks an invariant, marked too
    return Failure(
        anchor=anchor, record=cell.record, status=cell.status, verdict=verdict_in_words(cell),
        finding_class=cell.finding_class, race=race, highlight=highlight,
        events_json=_script_json(events), event_count=len(events), output_tail=_output_tail(cell.record),
    )


def render_html(records: list[dict[str, Any]], title: str = "botfakes verdicts") -> str:
    bots, scenarios, cells = matrix(records)
    rows = []
    failures = []
    for scenario in scenarios:
        row = []
        for bot in bots:
            runs = cells.get((scenario, bot))
            if not runs:
                row.append(None)
                continue
            status = cell_status(runs)
            anchor = f"{scenario}--{bot}"
            failed = any(c.record["outcome"] in ("failed", "error") for c in runs)
            if failed:
                failures.append(failure_of(anchor, runs))
            row.append({"status": status, "text": runs[0].text[:160], "runs": len(runs),
                        "explored": runs[0].record.get("explored"),
                        "anchor": anchor if failed else None, "finding_class": runs[0].finding_class})
        rows.append((scenario, row))
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    return env.get_template("report.html").render(
        title=title, bots=bots, rows=rows, failures=failures, counts=counts(records),
        bundled=any(r.get("expected_bug") for r in records),
        status_words=STATUS_WORDS, swimlanes_js=static_text("swimlanes.js"),
        swimlanes_css=static_text("swimlanes.css"),
    )


def write_html(records: list[dict[str, Any]], path: Path, title: str = "botfakes verdicts") -> None:
    path.write_text(render_html(records, title), encoding="utf-8")
