"""`botfakes run --explore [N|all]` and `botfakes run --replay TOKEN`: the rounds, the matrix, the exit code.

The rounds are explained in explore.py; each is one pytest run of the scenarios built by
runner.pytest_command, plus `-p botfakes.scenarios.explore --explore-plan FILE` from round 1 on.
Per cell (scenario x bot) the matrix says how many schedules ran and failed, the minimal failing
schedule and its replay token; the report shows one record per cell, that minimal one first, and
explored.json keeps every run. The exit code is summary.exit_code's over those records, with each
bundled bot's expectation under exploration (BotSpec.explore_expected_bug, else expected_bug).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Mapping

from botfakes.fakes.control import schedules as sch
from botfakes.fakes.control.schedules import Schedule

from .explore import (PLAN_OPTION, ExploredCell, canonical, cell_key, group, plan_schedules,
                      shrink_candidates, write_plan)


# -- `botfakes run --explore / --replay` ----------------------------------------------------------


def add_arguments(parser: Any) -> None:
    parser.add_argument(
        "--explore", nargs="?", const="all", default=None, metavar="N|all",
        help="run each scenario over distinct schedules: all of them, or at most N (PCT beyond)")
    parser.add_argument("--explore-seed", type=int, default=0, metavar="S",
                        help="with --explore N: the PCT schedules use seeds S+1, S+2, ... (default 0)")
    parser.add_argument("--replay", metavar="TOKEN",
                        help="run the one scenario, bot and schedule of a replay token")


def budget_of(value: str | None) -> int | None:
    if value in (None, "all"):
        return None
    try:
        budget = int(value)  # type: ignore[arg-type]
    except ValueError:
        raise SystemExit(f"botfakes run: --explore takes a number or 'all', not {value!r}") from None
    if budget < 1:
        raise SystemExit("botfakes run: --explore N needs N >= 1")
    return budget


def explore_rounds(run_round: Callable[[list[str], str], list[dict[str, Any]]], budget: int | None,
                   plan_dir: Path, seed: int = 0) -> dict[str, ExploredCell]:
    """Round 0 (the default run), round 1 (the other schedules), round 2 (shrinking)."""
    cells = group(run_round([], "round0"))
    plan: dict[str, list[Schedule]] = {}
    for key, cell in cells.items():
        first = cell.records[0]
        if first.get("outcome") not in ("passed", "failed"):
            continue  # skipped or broken: no schedule to vary
        planned, cell.exhaustive = plan_schedules(sch.schedule_from_json(first.get("schedule") or []),
                                                  budget, seed)
        if planned:
            plan[key] = planned
    for number, label in ((1, "round1"), (2, "round2")):
        if number == 2:
            plan = {}
            for key, cell in cells.items():
                best = cell.minimal()
                if best is None or cell.exhaustive or not best.get("deviations"):
                    continue
                known = cell.verdicts()
                wanted = [c for c in shrink_candidates(sch.schedule_from_json(best["schedule"]))
                          if canonical(c) not in known]
                if wanted:
                    plan[key] = wanted
        if not plan:
            continue
        path = plan_dir / f"plan-{label}.json"
        write_plan(path, plan)
        for record in run_round(["-p", "botfakes.scenarios.explore", PLAN_OPTION, str(path)], label):
            key = cell_key(record["scenario"], record["bot"])
            cells.setdefault(key, ExploredCell(record["scenario"], record["bot"])).records.append(record)
    return cells


def cell_status(cell: ExploredCell, expected: str | None) -> str:
    """passed | caught | bug | missed | skipped | error, over every schedule the cell ran."""
    outcomes = {r.get("outcome") for r in cell.records}
    if "error" in outcomes:
        return "error"
    if outcomes == {"skipped"}:
        return "missed" if expected else "skipped"
    bugs = {r.get("bug") for r in cell.failing}
    if expected:
        return "caught" if expected in bugs else "missed"
    return "bug" if bugs else "passed"


def format_explored(cells: Mapping[str, ExploredCell], expected: Callable[[str, str], str | None]) -> str:
    lines: list[str] = []
    bots = list(dict.fromkeys(c.bot for c in cells.values()))
    for bot in bots:
        lines.append(f"== {bot}")
        for cell in (c for c in cells.values() if c.bot == bot):
            status = cell_status(cell, expected(cell.scenario, bot))
            mark = {"passed": "ok ", "caught": "BUG", "bug": "BUG", "skipped": "-- ",
                    "missed": "!! ", "error": "ERR"}[status]
            if status == "skipped":
                text = "skipped"
            else:
                text = cell.summary() + (" (every distinct schedule)" if cell.exhaustive else "")
            lines.append(f"  {mark} {cell.scenario:<34} {text}")
            best = cell.minimal()
            if best is not None and best.get("replay_token"):
                lines.append(f"      replay: botfakes run --replay {best['replay_token']}")
    return "\n".join(lines)


def replay_lines(records: list[dict[str, Any]]) -> str:
    """For each failing run: the command that replays its scenario, bot and schedule."""
    lines = [f"  {r['bot']} / {r['scenario']}: botfakes run --replay {r['replay_token']}"
             for r in records if r.get("outcome") == "failed" and r.get("replay_token")]
    return "\n".join(["replay a failure:"] + lines) if lines else ""


def replay_plan(token: str, bot_name: str | None) -> tuple[sch.ReplayToken, dict[str, list[Schedule]]]:
    decoded = sch.decode_token(token)
    return decoded, {cell_key(decoded.scenario, bot_name or decoded.bot): [decoded.schedule]}


def representative(cell: ExploredCell, expected: str | None) -> dict[str, Any]:
    """One record standing for the cell in the matrix, summary and report: a scenario error if
    any, else the minimal failing run with the expected bug, else the minimal failing run, else
    the first; with the cell's expectation and an "explored" summary."""
    records = cell.records
    errors = [r for r in records if r.get("outcome") == "error"]
    with_expected = [r for r in cell.failing if expected and r.get("bug") == expected]
    pool = errors or with_expected or cell.failing or records
    chosen = dict(min(pool, key=lambda r: r.get("deviations", 0)) if not errors else pool[0])
    chosen["expected_bug"] = expected
    ran = sum(1 for r in records if r.get("outcome") != "skipped")  # a skip ran no schedule
    chosen["explored"] = {"ran": ran, "failed": len(cell.failing),
                          "exhaustive": cell.exhaustive, "summary": cell.summary()}
    return chosen


def run(args: Any, spec: Any, pytest_command: Callable[[Any, Path, Path], list[str]]) -> int:
    """`botfakes run --explore [N|all]` or `--replay TOKEN`; returns the exit code."""
    from .report import write_html
    from .spec import BUNDLED
    from .summary import counts, exit_code, format_terminal, uncaught_bots

    report_dir: Path = args.report_dir
    if (report_dir / "records").exists():
        shutil.rmtree(report_dir / "records")
    report_dir.mkdir(parents=True, exist_ok=True)

    def run_round(extra: list[str], label: str) -> list[dict[str, Any]]:
        results = report_dir / "records" / label
        # round 0 (or the replay) is the run CI templates read as junit.xml
        junit = report_dir / ("junit.xml" if label in ("round0", "replay") else f"junit-{label}.xml")
        cmd = pytest_command(args, results, junit) + extra
        subprocess.run(cmd, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        return [json.loads(p.read_text()) for p in sorted(results.glob("*.json"))] if results.exists() else []

    def expected(scenario: str, bot: str) -> str | None:
        bundled = BUNDLED.get(bot) if spec is None else None
        if bundled is None:
            return None
        return bundled.explore_expected_bug(scenario) or bundled.expected_bug(scenario)

    if args.replay:
        try:
            decoded, plan = replay_plan(args.replay, spec.name if spec is not None else None)
        except ValueError as exc:
            print(f"botfakes run: error: {exc}", file=sys.stderr)
            return 2
        if spec is None and decoded.bot not in BUNDLED:
            print(f"botfakes run: error: the token's bot {decoded.bot!r} is not a bundled one: give "
                  "--bot-cmd or --bot-spec as for the run that printed it", file=sys.stderr)
            return 2
        if spec is None:
            args.bundled = decoded.bot
        print(f"botfakes: replaying {decoded.scenario} on {spec.name if spec else decoded.bot}: "
              f"{sch.describe(decoded.schedule)}", flush=True)
        write_plan(report_dir / "plan-replay.json", plan)
        records = run_round(["-p", "botfakes.scenarios.explore", PLAN_OPTION,
                             str(report_dir / "plan-replay.json")], "replay")
        if not records:
            print("botfakes: the token's scenario did not run (is it for this bot?)", file=sys.stderr)
            return 2
        for r in records:
            r["expected_bug"] = expected(r["scenario"], r["bot"])
        tally: dict[str, int] = {}
        for r in records:
            verdict = r.get("bug") or r["outcome"]
            tally[verdict] = tally.get(verdict, 0) + 1
        print(f"\nreplay: {len(records)} run(s), "
              f"{'the same verdict' if len(tally) == 1 else 'verdicts differ'}: "
              + ", ".join(f"{verdict} x{n}" for verdict, n in sorted(tally.items())))
        print(format_terminal(records))
        write_html(records, report_dir / "report.html")
        return exit_code(records, bundled=spec is None)

    budget = budget_of(args.explore)
    print(f"botfakes: exploring schedules ({'all distinct' if budget is None else f'at most {budget}'}"
          " per scenario) against " + (f"bot {spec.name!r}" if spec else "the bundled bots"), flush=True)
    cells = explore_rounds(run_round, budget, report_dir, getattr(args, "explore_seed", 0))
    if not cells:
        print("botfakes: no scenario ran; see the lines above", file=sys.stderr)
        return 2
    print()
    print(format_explored(cells, expected))
    shown = [representative(c, expected(c.scenario, c.bot)) for c in cells.values()]
    everything = [r for c in cells.values() for r in c.ordered()]
    (report_dir / "explored.json").write_text(json.dumps(everything))
    write_html(shown, report_dir / "report.html")
    code = exit_code(shown, bundled=spec is None)
    ran = sum(len(c.records) for c in cells.values())
    print(f"\n{len(cells)} cell(s), {ran} schedule run(s): {counts(shown).line(bundled=spec is None)}"
          + ("" if spec is not None else f"; {'as expected' if code == 0 else 'NOT as expected'}")
          + f"; report: {report_dir / 'report.html'}")
    for bot in uncaught_bots(shown) if spec is None else []:
        print(f"  {bot}: caught by no scenario")
    return code
