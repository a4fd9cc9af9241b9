"""pytest plugin of the scenario suites: which bot, the harness fixture, and the verdict records.

    pytest -p botfakes.scenarios.plugin --bot-cmd "python -m mybot" --bot-parts polling,deriv \
        path/to/botfakes/scenarios

or, simpler, `botfakes run --bot-cmd ...`, which also prints the verdict matrix and writes the
reports. Every scenario test takes the `harness` fixture; it is parametrized over the bots given
(the bundled reference bot and naive variants by default), so one run builds the whole matrix.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterator

import pytest

from .harness import BugFound, Harness
from .spec import BOT_OPTIONS, BUNDLED, BotSpec

RESULTS_KEY = pytest.StashKey[dict]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("botfakes scenarios")
    for flag, options in BOT_OPTIONS:
        group.addoption(flag, **options)
    group.addoption("--results-dir", type=Path,
                    help="write one JSON verdict record per scenario run here")


def selected_specs(config: pytest.Config) -> list[BotSpec]:
    if config.getoption("--bot-spec"):
        return [BotSpec.from_toml(config.getoption("--bot-spec"))]
    if config.getoption("--bot-cmd"):
        return [BotSpec.from_command(
            config.getoption("--bot-cmd"), config.getoption("--bot-parts"),
            name=config.getoption("--bot-name"), probe=config.getoption("--bot-probe"),
        )]
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


@pytest.fixture
def harness(botfakes, bot_spec: BotSpec, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Harness]:
    request.node.stash[RESULTS_KEY] = {}  # a skip is a verdict too: record it
    marker = request.node.get_closest_marker("botfakes_requires")
    missing = [p for p in (marker.args if marker else ()) if not bot_spec.has(p)]
    if missing:
        pytest.skip(f"{bot_spec.name} has no {', '.join(missing)} part")
    h = Harness(botfakes, bot_spec, tmp_path)
    request.node.stash[RESULTS_KEY]["harness"] = h
    try:
        yield h
    finally:
        h.close()


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
    record = {
        "bot": spec.name,
        "scenario": scenario,
        "title": (item.function.__doc__ or "").strip().splitlines()[0] if item.function.__doc__ else scenario,  # type: ignore[attr-defined]
        "outcome": report.outcome,
        "expected_bug": spec.expected_bug(scenario),
        "bug": None,
        "error": None,
        "evidence": [],
        "duration": report.duration,
    }
    if report.skipped:
        record["reason"] = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    elif report.failed:
        exc = call.excinfo.value if call.excinfo else None
        if isinstance(exc, BugFound):
            record["bug"] = exc.finding.bug.id
            record["bug_title"] = exc.finding.bug.title
            record["seeds"] = list(exc.finding.bug.seeds)
            record["error"] = exc.finding.error
            record["evidence"] = exc.finding.evidence
        else:
            record["outcome"] = "error"  # the scenario itself broke, not a verdict on the bot
            record["error"] = str(exc) if exc else report.longreprtext[-2000:]
    if harness is not None:
        record["timeline"] = harness.timeline()
        record["events"] = harness.timeline_events()
        record["output"] = {b.label: b.output()[-4000:] for b in harness.instances}
    return record
