"""`botfakes run`: every scenario against a bot (or the bundled bots), a matrix, reports, an exit code.

The scenarios run in a pytest subprocess (with pytest-xdist), isolated from whatever pytest
configuration the caller's folder has, started in the caller's folder (the bot's default cwd);
each scenario run writes a JSON verdict record and prints one progress line as it ends, and this
module turns the records into the terminal matrix, the summary and the HTML report.

Exit codes: 0 clean (bundled bots: the reference passes everything and every naive variant is
caught with its own bug), 1 bugs or risks found (bundled: not as expected), 2 scenario errors or
bad usage (an unknown part, a bad spec, an unknown finding id: printed before anything starts).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from . import explore_run
from .bugs import BUGS
from ..fakes.control.trace import write_trace
from .report import write_html
from .spec import BOT_OPTIONS, BotSpec, SpecError, spec_from_options
from .summary import EXIT_ERRORS, cell_status, counts, exit_code, format_terminal, load_records, matrix, uncaught_bots

SCENARIOS_DIR = Path(__file__).resolve().parent
# Flags whose value goes to the scenarios' pytest plugin unchanged (one per BOT_OPTIONS entry).
_FORWARDED = [flag for flag, _ in BOT_OPTIONS]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    for flag, options in BOT_OPTIONS:
        parser.add_argument(flag, **options)
    parser.add_argument("-n", "--workers", default="2",
                        help="pytest-xdist workers ('auto', a number, or 0 for none; default 2)")
    parser.add_argument("-k", dest="keyword", help="only scenarios matching this pytest -k expression")
    parser.add_argument("--count", type=int, default=1,
                        help="run each scenario this many times (verdicts must agree)")
    parser.add_argument("--ignore", action="append", default=[], metavar="ID",
                        help="accept a known finding: a finding id (e.g. retry-after-ignored), a "
                        "scenario, or scenario:id; repeatable or comma-separated")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="pytest's progress dots instead of one line per finished scenario")
    parser.add_argument("--report-dir", type=Path, default=Path("botfakes-report"),
                        help="where junit.xml, report.html and the verdict records go")
    parser.add_argument("--trace", type=Path, metavar="FILE",
                        help="also write every scenario run's journal here as a Chrome/Perfetto "
                        "trace (open it in ui.perfetto.dev or chrome://tracing)")
    explore_run.add_arguments(parser)


def _dest(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


def check_usage(args: argparse.Namespace) -> BotSpec | None:
    """The user's bot spec, checked (None: the bundled bots); raises SpecError on bad usage."""
    spec = spec_from_options(lambda flag: getattr(args, _dest(flag)))
    ignored = [i.strip() for item in args.ignore for i in item.split(",") if i.strip()]
    for item in ignored:
        scenario, _, bug = item.rpartition(":")
        if not scenario and bug not in BUGS and bug not in _scenario_ids():
            raise SpecError(f"--ignore {item}: not a finding id ({', '.join(sorted(BUGS))}) nor a "
                            "scenario")
        if scenario and (scenario not in _scenario_ids() or bug not in BUGS):
            raise SpecError(f"--ignore {item}: scenario:id needs a scenario and a finding id")
    if args.count < 1:
        raise SpecError("--count must be at least 1")
    if spec is not None:
        cwd = spec.cwd or Path.cwd()
        exe = spec.command[0]
        found = (cwd / exe).exists() if "/" in exe else shutil.which(exe) is not None
        if not found:
            raise SpecError(f"the bot's command {exe!r} is not found (looked in {cwd} and on PATH)")
    return spec


def _scenario_ids() -> set[str]:
    """Scenario ids: the test functions' names in scenarios/test_*.py, without test_."""
    ids = set()
    for path in SCENARIOS_DIR.glob("test_*.py"):
        for line in path.read_text().splitlines():
            if line.startswith("def test_"):
                ids.add(line[len("def test_"):].split("(", 1)[0])
    return ids


def pytest_command(args: argparse.Namespace, results_dir: Path, junit: Path) -> list[str]:
    cmd = [
        sys.executable, "-m", "pytest", str(SCENARIOS_DIR),
        "-c", str(SCENARIOS_DIR / "pytest.ini"), "--rootdir", str(SCENARIOS_DIR),
        "-p", "botfakes.scenarios.plugin",
        "--results-dir", str(results_dir), f"--junitxml={junit}",
        "-qq" if not args.quiet else "-q", "-rN", "--tb=no", "--no-header",
    ]
    if not args.quiet:
        cmd.append("--botfakes-progress")
    if args.workers not in ("0", 0):
        cmd += ["-n", str(args.workers)]
    for flag in _FORWARDED:
        value = getattr(args, _dest(flag))
        if value is None or (flag == "--bundled" and (args.bot_cmd or args.bot_spec)):
            continue
        if isinstance(value, Path):
            value = str(value.resolve())
        for item in value if isinstance(value, list) else [value]:
            cmd += [f"{flag}={item}"]
    for item in args.ignore:
        cmd += [f"--ignore-finding={item}"]
    if args.keyword:
        cmd += ["-k", args.keyword]
    if args.count > 1:
        cmd += ["--count", str(args.count)]
    return cmd


def run(args: argparse.Namespace) -> int:
    try:
        spec = check_usage(args)
    except (SpecError, ValueError) as exc:
        print(f"botfakes run: error: {exc}", file=sys.stderr)
        return EXIT_ERRORS
    if args.explore is not None or args.replay:
        return explore_run.run(args, spec, pytest_command)
    report_dir: Path = args.report_dir
    results_dir = report_dir / "records"
    if results_dir.exists():
        shutil.rmtree(results_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    junit = report_dir / "junit.xml"
    cmd = pytest_command(args, results_dir, junit)
    who = f"bot {spec.name!r} ({' '.join(spec.command)}) in {spec.cwd or Path.cwd()}" if spec else \
        "the bundled bots"
    print(f"botfakes: running the scenarios against {who}", flush=True)
    proc = subprocess.run(cmd, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    records = load_records(results_dir) if results_dir.exists() else []
    if not records:
        print(f"botfakes: no scenario ran (pytest exit {proc.returncode}); see the lines above and "
              f"{junit}", file=sys.stderr)
        return EXIT_ERRORS
    print()
    print(format_terminal(records))
    if explore_run.replay_lines(records):
        print(explore_run.replay_lines(records))
    html_path = report_dir / "report.html"
    write_html(records, html_path)
    if args.trace:
        runs = write_trace(records, args.trace)
        print(f"botfakes: the journals of {runs} scenario run(s) as a trace: {args.trace}")
    bots, scenarios, cells = matrix(records)
    tally = counts(records)
    code = exit_code(records, bundled=spec is None)
    if spec is not None:
        print(f"\n{spec.name}: {tally.line()} in {len(scenarios)} scenario(s)"
              f"; report: {html_path}; JUnit: {junit}")
        return code
    statuses = {key: cell_status(runs) for key, runs in cells.items()}
    bad = {key: s for key, s in statuses.items() if s not in ("passed", "caught", "skipped", "ignored")}
    uncaught = uncaught_bots(records)
    print(f"\n{len(bots)} bot(s) x {len(scenarios)} scenario(s): "
          f"{'as expected' if code == 0 else 'NOT as expected'} ({tally.line(bundled=True)})"
          f"; report: {html_path}; JUnit: {junit}")
    for (scenario, bot), status in sorted(bad.items()):
        print(f"  unexpected: {bot} / {scenario}: {status}")
    for bot in uncaught:
        print(f"  {bot}: caught by no scenario")
    return code
