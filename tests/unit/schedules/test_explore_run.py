"""`botfakes run --explore/--replay` pieces that need no process: rounds, cells, the exit code."""

import argparse

import pytest

from botfakes.fakes.control import schedules as s
from botfakes.fakes.control.schedules import Batch, RequestIdentity
from botfakes.scenarios import explore_run as er
from botfakes.scenarios.explore import ExploredCell, read_plan
from botfakes.scenarios.spec import BUNDLED
from botfakes.scenarios.summary import exit_code

IDS = tuple(RequestIdentity("deriv", "conn1", "ticks_history", n) for n in (1, 2, 3))
SCENARIO = "deriv_replies_out_of_order"


def record(order, bot="naive_deque_ends_router", outcome=None, scenario=SCENARIO):
    """What the scenario would answer for this bot and order (the deque-ends router's truth)."""
    schedule = (Batch(IDS, order),) if order is not None else ()
    crossed = order is not None and order.index(1) < order.index(0) and order.index(1) < order.index(2)
    outcome = outcome or ("failed" if crossed and bot == "naive_deque_ends_router" else "passed")
    fields = {"schedule": s.schedule_to_json(schedule), "schedule_text": s.describe(schedule),
              "deviations": s.schedule_deviations(schedule),
              "replay_token": s.encode_token(scenario, bot, schedule)}
    return {"scenario": scenario, "bot": bot, "outcome": outcome, "expected_bug": None,
            "bug": "crossed-replies" if outcome == "failed" else None,
            "finding_class": "bug" if outcome == "failed" else None, **fields}


def fake_rounds(bots):
    """A run_round that answers as the scenario would, recording the plans it was given."""
    plans = []

    def run_round(extra, label):
        if not extra:  # round 0: the scenario's own order, reverse
            return [record((2, 1, 0), bot) for bot in bots]
        plan = read_plan(extra[-1])
        plans.append((label, plan))
        return [record(sched[0].order, key.split("|")[1]) for key, scheds in plan.items() for sched in scheds]

    return run_round, plans


def expected(scenario, bot):
    spec = BUNDLED[bot]
    return spec.explore_expected_bug(scenario) or spec.expected_bug(scenario)


def test_exhaustive_rounds_catch_the_deque_ends_router_and_clear_the_reference(tmp_path):
    run_round, plans = fake_rounds(["reference", "naive_deque_ends_router"])
    cells = er.explore_rounds(run_round, None, tmp_path)
    assert [label for label, _ in plans] == ["round1"]  # exhaustive: nothing left to shrink
    deque = cells[f"{SCENARIO}|naive_deque_ends_router"]
    assert deque.exhaustive and len(deque.records) == 6 and len(deque.failing) == 2
    assert deque.minimal()["deviations"] == 1
    assert er.cell_status(deque, expected(SCENARIO, "naive_deque_ends_router")) == "caught"
    assert er.cell_status(cells[f"{SCENARIO}|reference"], None) == "passed"
    shown = [er.representative(c, expected(c.scenario, c.bot)) for c in cells.values()]
    assert exit_code(shown, bundled=True) == 0
    text = er.format_explored(cells, expected)
    assert "6 schedules ran, 2 failed; crossed-replies in deriv/conn1/ticks_history/2 < " \
           "deriv/conn1/ticks_history/1 < deriv/conn1/ticks_history/3" in text
    assert "replay: botfakes run --replay bf1." in text


def test_the_default_run_alone_misses_it_and_that_is_as_expected():
    shown = [dict(record((2, 1, 0), bot), expected_bug=BUNDLED[bot].expected_bug(SCENARIO))
             for bot in ("reference", "naive_deque_ends_router")]
    assert all(r["outcome"] == "passed" for r in shown)
    assert exit_code(shown, bundled=True) == 0  # no default expectation for the variant


def test_a_budget_runs_pct_then_shrinks_what_is_not_minimal(tmp_path):
    run_round, plans = fake_rounds(["naive_deque_ends_router"])
    cells = er.explore_rounds(run_round, 5, tmp_path)
    cell = cells[f"{SCENARIO}|naive_deque_ends_router"]
    assert not cell.exhaustive and len(cell.records) >= 5
    assert cell.minimal()["deviations"] == 1
    for label, plan in plans[1:]:
        assert label == "round2"  # only candidates not run yet
        ran = {str(r["schedule"]) for r in cell.records[:5]}
        assert all(str(s.schedule_to_json(c)) not in ran for c in plan[f"{SCENARIO}|naive_deque_ends_router"])


def test_representative_prefers_errors_then_the_expected_bug():
    cell = ExploredCell(SCENARIO, "x", [record((0, 1, 2)), record((1, 2, 0)), record((1, 0, 2))])
    chosen = er.representative(cell, "crossed-replies")
    assert chosen["deviations"] == 1 and chosen["expected_bug"] == "crossed-replies"
    assert chosen["explored"] == {"ran": 3, "failed": 2, "exhaustive": False,
                                  "summary": cell.summary()}
    cell.records.append(record((0, 2, 1), outcome="error"))
    assert er.representative(cell, None)["outcome"] == "error"
    assert er.cell_status(cell, None) == "error"


def test_cell_status_missed_and_bug():
    quiet = ExploredCell(SCENARIO, "x", [record((0, 1, 2), bot="reference")])
    assert er.cell_status(quiet, "crossed-replies") == "missed"
    loud = ExploredCell(SCENARIO, "x", [record((1, 0, 2))])
    assert er.cell_status(loud, None) == "bug"
    skipped = ExploredCell(SCENARIO, "x", [dict(record(None), outcome="skipped")])
    assert er.cell_status(skipped, None) == "skipped"
    assert er.representative(skipped, None)["explored"]["ran"] == 0


def test_budget_and_replay_plan():
    assert er.budget_of(None) is None and er.budget_of("all") is None and er.budget_of("7") == 7
    for bad in ("0", "many"):
        with pytest.raises(SystemExit):
            er.budget_of(bad)
    token = s.encode_token(SCENARIO, "naive_deque_ends_router", (Batch(IDS, (1, 0, 2)),))
    decoded, plan = er.replay_plan(token, None)
    assert plan == {f"{SCENARIO}|naive_deque_ends_router": [(Batch(IDS, (1, 0, 2)),)]}
    assert list(er.replay_plan(token, "mybot")[1]) == [f"{SCENARIO}|mybot"]


def test_the_run_options():
    parser = argparse.ArgumentParser()
    er.add_arguments(parser)
    assert parser.parse_args(["--explore"]).explore == "all"
    assert parser.parse_args(["--explore", "12"]).explore == "12"
    assert parser.parse_args([]).explore is None
    assert parser.parse_args(["--replay", "bf1.x"]).replay == "bf1.x"
    assert parser.parse_args(["--explore", "3", "--explore-seed", "17"]).explore_seed == 17


def test_replay_lines_name_each_failure():
    records = [record((1, 0, 2)), record((0, 1, 2)), record((2, 1, 0), bot="reference")]
    text = er.replay_lines(records)
    assert text.splitlines()[0] == "replay a failure:" and len(text.splitlines()) == 2
    assert f"naive_deque_ends_router / {SCENARIO}: botfakes run --replay bf1." in text
    assert er.replay_lines(records[1:]) == ""
