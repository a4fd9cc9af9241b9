"""pytest plugin of the scenario suites: which bot, the harness fixture, and the verdict records.

    pytest -p botfakes.scenarios.plugin --bot-spec bot.toml path/to/botfakes/scenarios

or, simpler, `botfakes run --bot-spec bot.toml`, which also prints the verdict matrix and writes
the reports. Every scenario test takes the `harness` fixture; it is parametrized over the bots
given (the bundled reference bot and naive variants by default), so one run builds the whole
matrix. With --botfakes-progress each finished scenario prints one line (bot, scenario, verdict,
seconds, how many are done) instead of pytest's dot.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Iterator

import pytest

from . import explore
from .bugs import BUGS, finding_class
from .harness import BotDied, BugFound, Harness
from .spec import BOT_OPTIONS, BUNDLED, BotSpec, SpecError, spec_from_options
from .summary import Cell

RESULTS_KEY = pytest.StashKey[dict]()
STARTED_KEY = pytest.StashKey[float]()
PROGRESS_KEY = pytest.StashKey[dict]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("botfakes scenarios")
    for flag, options in BOT_OPTIONS:
        group.addoption(flag, **options)
    group.addoption("--results-dir", type=Path,
                    help="write one JSON verdict record per scenario run here")
    group.addoption("--ignore-finding", action="append", default=[], metavar="ID",
                    help="a known finding (bug id, scenario, or scenario:bug) that does not count")
    group.addoption("--botfakes-progress", action="store_true",
                    help="one line per finished scenario instead of pytest's progress dots")


def selected_specs(config: pytest.Config) -> list[BotSpec]:
    try:
        spec = spec_from_options(config.getoption)
    except (SpecError, ValueError) as exc:
        raise pytest.UsageError(str(exc)) from None
    if spec is not None:
        return [spec if spec.cwd else spec.with_options(cwd=Path(config.invocation_params.dir))]
    wanted = config.getoption("--bundled")
    names = list(BUNDLED) if wanted == "all" else [n.strip() for n in wanted.split(",") if n.strip()]
    unknown = [n for n in names if n not in BUNDLED]
    if unknown:
        raise pytest.UsageError(f"unknown bundled bot(s) {unknown}; known: {', '.join(BUNDLED)}")
    return [BUNDLED[n] for n in names]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "bot_spec" in metafunc.fixturenames:
        specs = selected_specs(metafunc.config)
        metafunc.parametrize("bot_spec", specs, ids=[s.name for s in specs], scope="function")


def requires(*parts: str):
    """Mark a scenario as needing these bot parts; it is skipped, with the reason, otherwise."""
    return pytest.mark.botfakes_requires(*parts)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "botfakes_requires(*parts): bot parts a scenario needs")
    config.stash[PROGRESS_KEY] = {"done": 0, "total": 0, "counts": {}}


def is_ignored(ignore: list[str], scenario: str, bug: str | None) -> bool:
    if not bug:
        return False
    wanted = {i.strip() for item in ignore for i in item.split(",") if i.strip()}
    return bug in wanted or scenario in wanted or f"{scenario}:{bug}" in wanted


@pytest.fixture
def harness(botfakes, bot_spec: BotSpec, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Harness]:
    request.node.stash[RESULTS_KEY] = {}  # a skip is a verdict too: record it
    marker = request.node.get_closest_marker("botfakes_requires")
    missing = [p for p in (marker.args if marker else ()) if not bot_spec.has(p)]
    if missing:
        pytest.skip(f"{bot_spec.name} has no {', '.join(missing)} part")
    h = Harness(botfakes, bot_spec, tmp_path, cwd=Path(request.config.invocation_params.dir))
    request.node.stash[RESULTS_KEY]["harness"] = h
    try:
        yield h
    finally:
        h.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item):
    item.stash[STARTED_KEY] = time.monotonic()
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    stash = item.stash.get(RESULTS_KEY, None)
    if stash is None:
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        record = _verdict_record(item, report, call, stash.get("harness"))
        stash["record"] = record
        for key in ("bug", "error"):
            if record.get(key):
                report.user_properties.append((key, record[key]))
        cell = Cell(record)
        report.user_properties.append(("botfakes_progress", json.dumps({
            "bot": record["bot"], "scenario": record["scenario"], "status": cell.status,
            "text": cell.text, "seconds": record["seconds"], "class": record["finding_class"],
            "exit_tail": (record.get("bot_exit") or {}).get("tail", [])[-5:],
        })))
        if record.get("timeline"):
            report.sections.append(("botfakes timeline", "\n".join(record["timeline"])))
        results_dir = item.config.getoption("--results-dir")
        if results_dir:
            results_dir.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid)
            (results_dir / f"{name}.json").write_text(json.dumps(record, indent=1))


def _verdict_record(item: pytest.Item, report: pytest.TestReport, call: pytest.CallInfo,
                    harness: Harness | None) -> dict:
    spec: BotSpec = item.callspec.params["bot_spec"]  # type: ignore[attr-defined]
    scenario = item.originalname.removeprefix("test_")  # type: ignore[attr-defined]
    started = item.stash.get(STARTED_KEY, None)
    record = {
        "bot": spec.name,
        "scenario": scenario,
        "title": (item.function.__doc__ or "").strip().splitlines()[0] if item.function.__doc__ else scenario,  # type: ignore[attr-defined]
        "outcome": report.outcome,
        # under exploration (a schedule plan), the bug it must show when schedules vary
        "expected_bug": (spec.explore_expected_bug(scenario) if item.config.getoption(
            explore.PLAN_OPTION, None) else None) or spec.expected_bug(scenario),
        "bug": None,
        "finding_class": None,
        "ignored": False,
        "error": None,
        "evidence": [],
        "duration": report.duration,
        "seconds": round(time.monotonic() - started, 2) if started else round(report.duration, 2),
        "bot_exit": None,
        "bot_output_tail": {},
        # Filled in by exploration (--explore/--replay) when it runs a schedule.
        "replay_token": None,
        "schedule": None,
    }
    if report.skipped:
        record["reason"] = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    elif report.failed:
        exc = call.excinfo.value if call.excinfo else None
        if isinstance(exc, BugFound):
            bug = exc.finding.bug
            record.update(bug=bug.id, bug_title=bug.title, seeds=list(bug.seeds), finding_class=bug.cls,
                          error=exc.finding.error, evidence=exc.finding.evidence)
            record["ignored"] = is_ignored(item.config.getoption("--ignore-finding"), scenario, bug.id)
        elif isinstance(exc, BotDied):
            record["outcome"] = "error"
            record["error"] = exc.summary
            record["bot_exit"] = exc.record()
            dead = next((b for b in (harness.instances if harness else []) if b.label == exc.label), None)
            if dead is not None and dead.exited_at is not None:
                # How long after the exit the scenario ended (fail-fast: no timeout waited out).
                record["bot_exit"]["reported_s"] = round(time.monotonic() - dead.exited_at, 2)
            record["evidence"] = [f"| {line}" for line in exc.tail]
        else:
            record["outcome"] = "error"  # the scenario itself broke, not a verdict on the bot
            record["error"] = str(exc) if exc else report.longreprtext[-2000:]
            if harness is not None:
                dead = next((b for b in harness.instances if not b.alive and not b.exit_requested), None)
                if dead is not None and record["error"] and "exited" not in record["error"]:
                    record["error"] += f" ({dead.describe_exit()})"
    if harness is not None:
        try:
            harness.owners.settle()
        except Exception:  # noqa: BLE001  (a verdict without attribution beats no verdict)
            pass
        record["timeline"] = harness.timeline()
        record["events"] = harness.timeline_events()
        record["output"] = {b.label: b.output()[-4000:] for b in harness.instances}
        record["bot_output_tail"] = {b.label: b.tail(15) for b in harness.instances}
        # the schedule the gates released, read back from the journal, and its replay token
        record.update(explore.record_fields(scenario, spec.name, record["events"]))
    return record


# -- live progress (on the controller: the xdist one, or the only process) --------------------

_MARKS = {"passed": "ok", "caught": "CAUGHT", "bug": "BUG", "risk": "RISK", "ignored": "ignored",
          "skipped": "skip", "missed": "MISSED", "error": "ERROR"}


def _progress_on(config: pytest.Config) -> bool:
    return bool(config.getoption("--botfakes-progress")) and not hasattr(config, "workerinput")


def pytest_collection_finish(session: pytest.Session) -> None:
    if _progress_on(session.config):
        session.config.stash[PROGRESS_KEY]["total"] = len(session.items)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids) -> None:  # hook of pytest-xdist
    state = node.config.stash[PROGRESS_KEY]
    state["total"] = max(state["total"], len(ids))


@pytest.hookimpl(tryfirst=True)
def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config):
    # The progress line replaces pytest's letter for each scenario.
    if _progress_on(config) and any(k == "botfakes_progress" for k, _ in report.user_properties):
        return report.outcome, "", ""
    return None


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    if not _progress_on(config):
        return
    reporter = config.pluginmanager.get_plugin("terminalreporter")

    class Progress:
        @pytest.hookimpl
        def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
            line = next((v for k, v in report.user_properties if k == "botfakes_progress"), None)
            if line is None or reporter is None:
                return
            info = json.loads(line)
            state = config.stash[PROGRESS_KEY]
            state["done"] += 1
            status = info["status"]
            if status == "bug" and info.get("class") == "risk":
                status = "risk"
            state["counts"][status] = state["counts"].get(status, 0) + 1
            total = state["total"] or "?"
            text = info["text"] if status not in ("passed",) else ""
            reporter.write_line(
                f"[{state['done']:>3}/{total}] {info['bot']:<30} {info['scenario']:<36} "
                f"{_MARKS.get(status, status):<7} {info['seconds']:6.1f}s  {text[:140]}".rstrip())
            for tail in info.get("exit_tail") or []:
                reporter.write_line(f"{'':>10}| {tail[:160]}")

    config.pluginmanager.register(Progress(), "botfakes-progress")


__all__ = ["BUGS", "finding_class", "requires"]
