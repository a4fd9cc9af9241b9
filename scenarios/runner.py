"""`botfakes run`: every scenario against a bot (or the bundled bots), a matrix, reports, an exit code.

The scenarios run in a pytest subprocess (with pytest-xdist), isolated from whatever pytest
configuration the caller's folder has; each scenario run writes a JSON verdict record, and this
module turns the records into the terminal matrix and the HTML report.

Exit codes: 0 when the matrix is as expected (bundled bots: the reference passes everything and
every naive variant is caught with its own bug; a user's bot: no bug found), 1 otherwise, 2 when
the scenarios could not run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .spec import BOT_OPTIONS
from .report import GOOD, cell_status, format_terminal, load_records, matrix, write_html

SCENARIOS_DIR = Path(__file__).resolve().parent


def add_arguments(parser: argparse.ArgumentParser) -> None:
    for flag, options in BOT_OPTIONS:
        parser.add_argument(flag, **options)
    parser.add_argument("-n", "--workers", default="2",
                        help="pytest-xdist workers ('auto', a number, or 0 for none; default 2)")
    parser.add_argument("-k", dest="keyword", help="only scenarios matching this pytest -k expression")
    parser.add_argument("--count", type=int, default=1,
                        help="run each scenario this many times (verdicts must agree)")
    parser.add_argument("--report-dir", type=Path, default=Path("botfakes-report"),
                        help="where junit.xml, report.html and the verdict records go")


def pytest_command(args: argparse.Namespace, results_dir: Path, junit: Path) -> list[str]:
    cmd = [
        sys.executable, "-m", "pytest", str(SCENARIOS_DIR),
        "-c", str(SCENARIOS_DIR / "pytest.ini"), "--rootdir", str(SCENARIOS_DIR),
        "-p", "botfakes.scenarios.plugin",
        "--results-dir", str(results_dir), f"--junitxml={junit}",
        "-q", "-rN", "--tb=no", "--no-header",
    ]
    if args.workers not in ("0", 0):
        cmd += ["-n", str(args.workers)]
    if args.bot_spec:
        cmd += ["--bot-spec", str(args.bot_spec.resolve())]
    elif args.bot_cmd:
        cmd += ["--bot-cmd", args.bot_cmd, "--bot-parts", args.bot_parts,
                "--bot-name", args.bot_name, "--bot-probe", args.bot_probe]
    else:
        cmd += ["--bundled", args.bundled]
    if args.keyword:
        cmd += ["-k", args.keyword]
    if args.count > 1:
        cmd += ["--count", str(args.count)]
    return cmd


def run(args: argparse.Namespace) -> int:
    report_dir: Path = args.report_dir
    results_dir = report_dir / "records"
    if results_dir.exists():
        shutil.rmtree(results_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    junit = report_dir / "junit.xml"
    cmd = pytest_command(args, results_dir, junit)
    print("botfakes: running the scenarios:", " ".join(cmd[3:4]), "...", flush=True)
    proc = subprocess.run(cmd, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    records = load_records(results_dir) if results_dir.exists() else []
    if not records:
        print(f"botfakes: no scenario ran (pytest exit {proc.returncode})", file=sys.stderr)
        return 2
    print()
    print(format_terminal(records))
    html_path = report_dir / "report.html"
    write_html(records, html_path)
    bots, scenarios, cells = matrix(records)
    statuses = {key: cell_status(runs) for key, runs in cells.items()}
    bad = {key: s for key, s in statuses.items() if s not in GOOD}
    user_mode = bool(args.bot_cmd or args.bot_spec)
    if user_mode:
        found = [key for key, s in statuses.items() if s in ("bug", "caught")]
        print(f"\n{len(found)} bug(s) found in {len(scenarios)} scenario(s)"
              f"; report: {html_path}; JUnit: {junit}")
        return 1 if bad or found else 0
    uncaught = [b for b in bots if b != "reference"
                and not any(statuses.get((s, b)) == "caught" for s in scenarios)]
    print(f"\n{len(bots)} bot(s) x {len(scenarios)} scenario(s): "
          f"{'as expected' if not bad and not uncaught else 'NOT as expected'}"
          f"; report: {html_path}; JUnit: {junit}")
    for (scenario, bot), status in sorted(bad.items()):
        print(f"  unexpected: {bot} / {scenario}: {status}")
    for bot in uncaught:
        print(f"  {bot}: caught by no scenario")
    return 1 if bad or uncaught else 0
