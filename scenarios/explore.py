"""Schedule exploration of the scenario suites: `botfakes run --explore [N|all]` and `--replay TOKEN`.

A scenario forces its race with gates; which order a gate lets its requests go in is a schedule
(fakes/control/schedules.py). Exploring runs each scenario over many schedules, in rounds, each
one pytest run of the scenarios as `botfakes run` makes them:

0. the default run: every scenario's own orders. Each verdict record carries the schedule that
   was released (read back from the journal's gate "released" events) and its replay token.
1. per cell (scenario x bot), the other schedules over the batches round 0 released: every
   distinct order (partial-order reduced) when there are at most N of them, else N-1 PCT
   schedules (seeds S+1, S+2, ..., S from --explore-seed); each is run as a Replay.
2. shrinking: for a cell that failed, the schedules with fewer deviations from arrival order that
   were not run yet; the failing one with the fewest deviations is what the report shows first.

`--replay TOKEN` runs the one scenario, bot and schedule a token names (`--count 20` to repeat).
explore_run.py drives the rounds for `botfakes run`; this module plans them. In pytest,
`-p botfakes.scenarios.explore --explore-plan plan.json` runs each cell over the schedules the
plan lists (that is how the rounds run); `explore_schedule` is the fixture that installs one.

For your own tests: `explore(control, attempt)` runs a test body over the schedules the same way
and `.check()` fails with the minimal failing schedule and its replay token; `replay(control,
attempt, token)` runs it once more under that schedule; with `-p botfakes.scenarios.explore`,
the `botfakes_explore` fixture does the same with `--botfakes-explore N|all`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import pytest

from botfakes import checks
from botfakes.fakes.control import schedules as sch
from botfakes.fakes.control.schedules import Batch, Schedule

PLAN_OPTION = "--explore-plan"
SHRINK_MAX = 32  # candidates run per failing cell when exploration was not exhaustive


def cell_key(scenario: str, bot: str) -> str:
    return f"{scenario}|{bot}"


# -- what a verdict record carries ---------------------------------------------------------------


def record_fields(scenario: str, bot: str, events: Iterable[Any]) -> dict[str, Any]:
    """The verdict record's exploration fields (the schedule released, its replay token) and its
    "invariants": each journal-only checker of botfakes.checks, null when it holds, else its
    message and the sequence numbers of the events that break it."""
    events = list(events)
    schedule = sch.schedule_from_events(events)
    invariants = {name: None if error is None else {"message": str(error).splitlines()[0],
                                                     "events": [e["seq"] for e in error.events]}
                  for name, error in checks.evaluate(events).items()}
    return {
        "invariants": invariants,
        "schedule": sch.schedule_to_json(schedule),
        "schedule_text": sch.describe(schedule),
        "deviations": sch.schedule_deviations(schedule),
        "replay_token": sch.encode_token(scenario, bot, schedule),
    }


# -- planning ----------------------------------------------------------------------------------


def canonical(schedule: Schedule) -> Schedule:
    """The representative of the schedule's partial-order class (what exploration would run)."""
    out = []
    for batch in schedule:
        if len(batch.arrival) > sch.EXPLORE_MAX:
            out.append(batch)
            continue
        want = sch._signature(batch.arrival, batch.order)
        rep = next(o for o in sch.distinct_orders(batch.arrival)
                   if sch._signature(batch.arrival, o) == want)
        out.append(Batch(batch.arrival, rep))
    return tuple(out)


def plan_schedules(ran: Schedule, budget: int | None, seed: int = 0) -> tuple[list[Schedule], bool]:
    """The schedules to run after `ran` over the same batches; (them, whether that is all).

    budget None = every distinct schedule; N = all of them if there are at most N, else N-1 PCT
    ones (depth 2, seeds seed+1, seed+2, ...), distinct and not `ran`'s class.
    """
    shape = [b.arrival for b in ran]
    done = {canonical(ran)}
    exhaustive = all(len(b) <= sch.EXPLORE_MAX for b in shape)
    if exhaustive:
        total = 1
        for b in shape:
            total *= sch.count_orders(b)
        if budget is None or total <= budget:
            return [s for s in sch.explore_schedules(shape) if s not in done], True
    if budget is None:
        budget = 100
    out: list[Schedule] = []
    for seed in range(seed + 1, seed + 1 + budget * 20):
        if len(out) >= budget - 1:
            break
        policy = sch.PCT(seed, depth=2, steps=sum(len(b) for b in shape))
        candidate = tuple(Batch(tuple(b), tuple(policy.order(b))) for b in shape)
        key = canonical(candidate)
        if key not in done:
            done.add(key)
            out.append(candidate)
    return out, False


def shrink_candidates(failing: Schedule, limit: int = SHRINK_MAX) -> list[Schedule]:
    """Schedules undoing some of `failing`'s deviations, fewest deviations first."""
    found: list[Schedule] = []

    def fails(candidate: Schedule) -> bool:
        found.append(candidate)
        return False  # collect them all; the verdicts come from running them

    sch.shrink(failing, fails, max_tests=limit)
    return found


def write_plan(path: Path, cells: Mapping[str, list[Schedule]]) -> None:
    path.write_text(json.dumps({k: [sch.schedule_to_json(s) for s in v] for k, v in cells.items()}))


def read_plan(path: Path) -> dict[str, list[Schedule]]:
    data = json.loads(Path(path).read_text())
    return {k: [sch.schedule_from_json(s) for s in v] for k, v in data.items()}


# -- results -----------------------------------------------------------------------------------


@dataclass
class ExploredCell:
    """Every run of one scenario x bot over the schedules tried."""

    scenario: str
    bot: str
    records: list[dict[str, Any]] = field(default_factory=list)
    exhaustive: bool = False

    @staticmethod
    def failed(record: Mapping[str, Any]) -> bool:
        return record.get("outcome") == "failed"

    @property
    def failing(self) -> list[dict[str, Any]]:
        return [r for r in self.records if self.failed(r)]

    def minimal(self) -> dict[str, Any] | None:
        """The failing record with the fewest deviations (first run among equals)."""
        failing = self.failing
        return min(failing, key=lambda r: r.get("deviations", 0)) if failing else None

    def ordered(self) -> list[dict[str, Any]]:
        """The records, the minimal failing one first."""
        first = self.minimal()
        return ([first] if first else []) + [r for r in self.records if r is not first]

    def verdicts(self) -> dict[Schedule, bool]:
        return {canonical(sch.schedule_from_json(r.get("schedule") or [])): self.failed(r)
                for r in self.records if r.get("outcome") in ("passed", "failed")}

    def summary(self) -> str:
        ran, failed = len(self.records), len(self.failing)
        distinct = len({json.dumps(r.get("schedule")) for r in self.records})
        if distinct == ran:
            text = f"{ran} schedule{'s' if ran != 1 else ''} ran, {failed} failed"
        else:  # --count: each schedule more than once
            text = f"{distinct} schedules in {ran} runs, {failed} runs failed"
        best = self.minimal()
        if best is not None:
            text += f"; {best.get('bug') or 'error'} in {best.get('schedule_text')}"
        return text


def group(records: Iterable[Mapping[str, Any]]) -> dict[str, ExploredCell]:
    cells: dict[str, ExploredCell] = {}
    for r in records:
        key = cell_key(r["scenario"], r["bot"])
        cells.setdefault(key, ExploredCell(r["scenario"], r["bot"])).records.append(dict(r))
    return cells


# -- the pytest side ---------------------------------------------------------------------------

PLAN_KEY = pytest.StashKey[dict]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("botfakes scenarios").addoption(
        PLAN_OPTION, type=Path, help="run each scenario x bot over the schedules this JSON file lists")
    parser.getgroup("botfakes").addoption(
        "--botfakes-explore", default=None, metavar="N|all",
        help="botfakes_explore runs each test body over all distinct schedules (all) or N")


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption(PLAN_OPTION, None)
    config.stash[PLAN_KEY] = read_plan(path) if path else {}


def _scenario_of(node: Any) -> str:
    return getattr(node, "originalname", node.name).removeprefix("test_")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    plan = metafunc.config.stash.get(PLAN_KEY, {})
    if plan and "explore_schedule" in metafunc.fixturenames:
        scenario = metafunc.function.__name__.removeprefix("test_")
        most = max((len(v) for k, v in plan.items() if k.split("|", 1)[0] == scenario), default=0)
        metafunc.parametrize("explore_schedule", list(range(most)), indirect=True,
                             ids=[f"schedule{i}" for i in range(most)])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    plan = config.stash.get(PLAN_KEY, {})
    if not plan:
        return
    keep, drop = [], []
    for item in items:
        params = getattr(item, "callspec", None)
        params = params.params if params else {}
        spec, index = params.get("bot_spec"), params.get("explore_schedule")
        listed = plan.get(cell_key(_scenario_of(item), spec.name)) if spec is not None else None
        (keep if listed is not None and index is not None and index < len(listed) else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(autouse=True)
def explore_schedule(request: pytest.FixtureRequest) -> Schedule | None:
    """The schedule this run replays (None outside exploration); installed on the fakes' gates."""
    index = getattr(request, "param", None)
    if index is None:
        yield None
        return
    spec = request.node.callspec.params["bot_spec"]
    schedule = request.config.stash[PLAN_KEY][cell_key(_scenario_of(request.node), spec.name)][index]
    runtime = request.getfixturevalue("botfakes")  # resets the fakes first, then the policy goes in
    runtime.call_sync(lambda: runtime.plane.gates.set_policy(sch.Replay(schedule)))
    try:
        yield schedule
    finally:
        runtime.call_sync(lambda: runtime.plane.gates.set_policy(None))


# -- the Python API for your own tests ---------------------------------------------------------


@dataclass
class Exploration:
    """What `explore` found: every schedule run, with the error it failed with (None: passed)."""

    name: str
    runs: list[tuple[Schedule, AssertionError | None]] = field(default_factory=list)
    exhaustive: bool = False
    shrink_runs: int = 0

    @property
    def failures(self) -> list[tuple[Schedule, AssertionError]]:
        return [(s, e) for s, e in self.runs if e is not None]

    @property
    def minimal(self) -> tuple[Schedule, AssertionError] | None:
        """The failing schedule with the fewest deviations from arrival order, and its error."""
        failures = self.failures
        return min(failures, key=lambda f: sch.schedule_deviations(f[0])) if failures else None

    def token(self, bot: str = "") -> str | None:
        found = self.minimal
        return sch.encode_token(self.name, bot, found[0]) if found else None

    def check(self) -> None:
        """Raise an AssertionError naming the minimal failing schedule and its replay token."""
        found = self.minimal
        if found is None:
            return
        schedule, error = found
        raise AssertionError(
            f"{len(self.failures)} of {len(self.runs)} schedules failed "
            f"({'every distinct one run' if self.exhaustive else 'PCT'}); the minimal one "
            f"({sch.schedule_deviations(schedule)} deviation(s) from arrival order): "
            f"{sch.describe(schedule)}\n  replay token: {self.token()}\n{error}") from error


def explore(control: Any, attempt: Callable[[], Any], *, runs: int | None = None,
            name: str = "test", shrink: bool = True) -> Exploration:
    """Run `attempt` (your test's body: start the bot, add gates, drive it, assert) once per
    schedule: first in arrival order, then every distinct order of the batches that run
    released (when there are at most `runs`; None = all), else runs-1 PCT schedules, then shrink.

    `control` is a ControlClient (the `botfakes_control` fixture). Before each attempt the fakes
    are reset and the schedule installed; `attempt` must not reset them itself. An attempt fails
    by raising AssertionError (a checks.* invariant, a plain assert); other errors propagate.
    """
    found = Exploration(name)

    def run(policy: dict[str, Any]) -> tuple[Schedule, AssertionError | None]:
        control.reset()
        control.set_schedule(**policy)
        error: AssertionError | None = None
        try:
            attempt()
        except AssertionError as exc:
            error = exc
        released = sch.schedule_from_json(control.schedule()["schedule"])
        found.runs.append((released, error))
        return released, error

    first, _ = run({"order": "explore", "schedule": 0})
    planned, found.exhaustive = plan_schedules(first, runs)
    for schedule in planned:
        run({"order": "replay", "schedule": sch.schedule_to_json(schedule)})
    best = found.minimal
    if shrink and best is not None and not found.exhaustive:
        known = {canonical(s): e is not None for s, e in found.runs}

        def still_fails(candidate: Schedule) -> bool:
            key = canonical(candidate)
            if key not in known:
                known[key] = run({"order": "replay", "schedule": sch.schedule_to_json(candidate)})[1] is not None
            return known[key]

        before = len(found.runs)
        sch.shrink(best[0], still_fails)
        found.shrink_runs = len(found.runs) - before
    return found


def replay(control: Any, attempt: Callable[[], Any], token: str) -> AssertionError | None:
    """Run `attempt` once under the schedule a replay token names; the error it failed with."""
    control.reset()
    control.set_schedule("replay", token=token)
    try:
        attempt()
    except AssertionError as exc:
        return exc
    return None


@pytest.fixture
def botfakes_explore(request: pytest.FixtureRequest) -> Callable[..., Exploration]:
    """`botfakes_explore(attempt)`: explore() with this session's control client, the test's
    name and --botfakes-explore's budget; call `.check()` on the result."""
    control = request.getfixturevalue("botfakes_control")
    option = request.config.getoption("--botfakes-explore", None)
    budget = None if option in (None, "all") else int(option)

    def run(attempt: Callable[[], Any], **kwargs: Any) -> Exploration:
        kwargs.setdefault("runs", budget)
        kwargs.setdefault("name", request.node.nodeid)
        return explore(control, attempt, **kwargs)

    return run
