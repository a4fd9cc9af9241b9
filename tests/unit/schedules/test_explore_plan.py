"""Planning the exploration rounds of `botfakes run --explore`: no sockets, no processes."""

from botfakes.fakes.control import schedules as s
from botfakes.fakes.control.schedules import Batch, RequestIdentity
from botfakes.scenarios import explore as ex


def ids(k, principal="conn1"):
    return tuple(RequestIdentity("deriv", principal, "ticks_history", n) for n in range(1, k + 1))


def released_events(gate, batch, identities, order, start_seq=10):
    """Gate "released" events as the plane journals them (turn by turn)."""
    return [{"seq": start_seq + turn, "kind": "gate", "fake": "deriv", "conn": "deriv#3",
             "method": "ticks_history", "request": 1 + position,
             "data": {"gate": gate, "action": "released", "position": position, "turn": turn,
                      "batch": batch, "policy": "reverse", "identity": str(identities[position])}}
            for turn, position in enumerate(order)]


def test_schedule_from_events_rebuilds_batches_and_skips_requests_let_go():
    a, b = ids(3), ids(2, "conn2")
    events = released_events("gate-1", 1, a, [2, 1, 0]) + released_events("gate-2", 1, b, [1, 0], 20)
    events.append({"seq": 30, "kind": "gate", "data": {"gate": "gate-3", "action": "released",
                                                        "position": -1, "turn": -1, "identity": str(a[0])}})
    assert s.schedule_from_events(events) == (Batch(a, (2, 1, 0)), Batch(b, (1, 0)))
    # a request whose client left while held: the rest keep their relative order
    gone = [e for e in released_events("gate-1", 1, a, [2, 1, 0]) if e["data"]["position"] != 1]
    assert s.schedule_from_events(gone) == (Batch((a[0], a[2]), (1, 0)),)


def test_record_fields_carry_a_token_that_decodes_to_the_schedule():
    a = ids(3)
    fields = ex.record_fields("deriv_replies_out_of_order", "naive_deque_ends_router",
                              released_events("gate-1", 1, a, [1, 0, 2]))
    assert fields["deviations"] == 1
    assert fields["schedule_text"].startswith("deriv/conn1/ticks_history/2 < deriv/conn1/ticks_history/1")
    decoded = s.decode_token(fields["replay_token"])
    assert decoded.scenario == "deriv_replies_out_of_order" and decoded.schedule == (Batch(a, (1, 0, 2)),)
    assert ex.record_fields("x", "y", [])["schedule"] == []
    assert fields["invariants"] == {"single_poller": None, "no_polling_while_webhook": None,
                                    "single_connection_per_auth_key": None,
                                    "replies_reach_their_requests": None}


def test_record_fields_name_the_invariant_a_journal_breaks():
    events = [{"seq": 1, "time": 0.0, "fake": "deriv", "conn": "deriv#1", "kind": "request",
               "method": "ticks_history", "request": None, "data": {"params": {"ticks_history": "R_50"}}},
              {"seq": 2, "time": 0.1, "fake": "deriv", "conn": "deriv#1", "kind": "request",
               "method": "ticks_history", "request": None, "data": {"params": {"ticks_history": "R_75"}}}]
    broken = ex.record_fields("s", "b", events)["invariants"]["replies_reach_their_requests"]
    assert broken["events"] == [1, 2] and "without a req_id" in broken["message"]


def test_plan_is_every_other_distinct_schedule_when_small():
    ran = (Batch(ids(3), (2, 1, 0)),)  # the default run: reverse
    planned, exhaustive = ex.plan_schedules(ran, None)
    assert exhaustive and len(planned) == 5 and ran not in planned
    assert {p[0].order for p in planned} | {(2, 1, 0)} == set(s.distinct_orders(ids(3)))
    planned, exhaustive = ex.plan_schedules(ran, 6)
    assert exhaustive and len(planned) == 5


def test_plan_falls_back_to_pct_beyond_the_budget():
    ran = (Batch(ids(5), (0, 1, 2, 3, 4)),)
    planned, exhaustive = ex.plan_schedules(ran, 10)
    assert not exhaustive and len(planned) == 9
    assert len({ex.canonical(p) for p in planned} | {ex.canonical(ran)}) == 10  # all distinct
    assert planned == ex.plan_schedules(ran, 10)[0]  # deterministic


def test_plan_for_a_run_that_released_nothing():
    assert ex.plan_schedules((), None) == ([], True)


def test_canonical_merges_orders_that_only_swap_independent_requests():
    batch = ids(2, "bot1") + ids(1, "bot2")  # bot1/1, bot1/2, bot2/1
    assert ex.canonical((Batch(batch, (2, 0, 1)),)) == (Batch(batch, (0, 1, 2)),)
    # bot1's second before its first: (1, 0, 2) is the smallest such order
    assert ex.canonical((Batch(batch, (1, 2, 0)),)) == (Batch(batch, (1, 0, 2)),)


def test_shrink_candidates_fewest_deviations_first():
    failing = (Batch(ids(3), (1, 2, 0)),)
    candidates = ex.shrink_candidates(failing)
    assert candidates[0][0].order == (0, 1, 2)  # every deviation undone first
    assert {c[0].order for c in candidates[1:]} == {(0, 2, 1), (1, 0, 2)}  # then one kept


def test_plan_file_round_trips(tmp_path):
    plan = {ex.cell_key("deriv_replies_out_of_order", "reference"): [(Batch(ids(3), (1, 0, 2)),), ()]}
    ex.write_plan(tmp_path / "plan.json", plan)
    assert ex.read_plan(tmp_path / "plan.json") == plan


def record(order, outcome="passed", bug=None):
    schedule = (Batch(ids(3), order),)
    return {"scenario": "deriv_replies_out_of_order", "bot": "naive_deque_ends_router",
            "outcome": outcome, "bug": bug, "schedule": s.schedule_to_json(schedule),
            "schedule_text": s.describe(schedule), "deviations": s.deviations(order)}


def test_explored_cell_summary_and_minimal_first():
    records = [record((2, 1, 0)), record((0, 1, 2)), record((1, 2, 0), "failed", "crossed-replies"),
               record((1, 0, 2), "failed", "crossed-replies"), record((0, 2, 1))]
    cell = ex.group(records)[ex.cell_key("deriv_replies_out_of_order", "naive_deque_ends_router")]
    assert cell.minimal()["deviations"] == 1
    assert cell.ordered()[0] is cell.minimal()
    assert cell.summary().startswith("5 schedules ran, 2 failed; crossed-replies in deriv/conn1/ticks_history/2 <")
    verdicts = cell.verdicts()
    assert verdicts[(Batch(ids(3), (1, 0, 2)),)] is True and verdicts[(Batch(ids(3), (0, 1, 2)),)] is False
    clean = ex.ExploredCell("a", "b", [record((0, 1, 2))])
    assert clean.minimal() is None and clean.summary() == "1 schedule ran, 0 failed"


def test_summary_with_repeated_runs():
    cell = ex.ExploredCell("a", "b", [record((0, 1, 2)), record((0, 1, 2)),
                                      record((1, 0, 2), "failed", "crossed-replies"),
                                      record((1, 0, 2), "failed", "crossed-replies")])
    assert cell.summary().startswith("2 schedules in 4 runs, 2 runs failed; crossed-replies in ")


def test_plan_seed_offsets_the_pct_seeds():
    ran = (Batch(ids(3), (2, 1, 0)),)
    assert [p[0].order for p in ex.plan_schedules(ran, 3, seed=17)[0]] == [(2, 0, 1), (1, 2, 0)]
    assert ex.plan_schedules(ran, 3, seed=17) == ex.plan_schedules(ran, 3, seed=17)
    assert ex.plan_schedules(ran, 3, seed=17) != ex.plan_schedules(ran, 3)
