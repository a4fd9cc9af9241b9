"""explore()/replay() for users' own tests, against the real Deriv fake on loopback.

The client here routes replies the way reference_bot/naive/deque_ends_router.py does (by the
ends of its pending queue): right in arrival and reverse order, wrong when the middle of three
pending requests is answered first. One forced order misses it; exploring finds it, shrinks it to
one deviation, and its token replays it.
"""

import json

import pytest
from websockets.sync.client import connect

from botfakes import checks
from botfakes.fakes.control import schedules as s
from botfakes.scenarios.explore import explore, replay

SYMBOLS = ("R_25", "R_50", "R_75")


def attempt_with(control, endpoint, routing):
    def attempt():
        control.add_gate("deriv", "ticks_history", count=3)
        received = {}
        with connect(endpoint) as ws:
            for req_id, symbol in enumerate(SYMBOLS, 1):
                ws.send(json.dumps({"ticks_history": symbol, "end": "latest", "count": 1,
                                    "req_id": req_id}))
            pending = [1, 2, 3]
            for _ in SYMBOLS:
                message = json.loads(ws.recv())
                target = routing(pending, message["req_id"])
                pending.remove(target)
                received[target] = message
        checks.replies_reach_their_requests(control.journal(), received)
    return attempt


def by_queue_ends(pending, req_id):
    return pending[0] if req_id == pending[0] else pending[-1]


def by_req_id(pending, req_id):
    return req_id


def test_explore_finds_shrinks_and_replays_the_middle_first_order(botfakes_control, deriv):
    attempt = attempt_with(botfakes_control, deriv.endpoint, by_queue_ends)
    # the two orders one would force by hand both pass
    for order in ([0, 1, 2], [2, 1, 0]):
        botfakes_control.reset()
        ids = [s.RequestIdentity("deriv", "conn1", "ticks_history", n) for n in (1, 2, 3)]
        token = s.encode_token("t", "", (s.Batch(tuple(ids), tuple(order)),))
        assert replay(botfakes_control, attempt, token) is None
    found = explore(botfakes_control, attempt, name="deque-ends")
    assert found.exhaustive and len(found.runs) == 6 and len(found.failures) == 2
    schedule, error = found.minimal
    assert schedule[0].order == (1, 0, 2) and "replies_reach_their_requests" in str(error)
    with pytest.raises(AssertionError, match=r"2 of 6 schedules failed.*1 deviation"):
        found.check()
    token = found.token()
    assert s.decode_token(token).schedule == schedule
    for _ in range(3):
        assert replay(botfakes_control, attempt, token) is not None


def test_explore_with_a_budget_uses_pct(botfakes_control, deriv):
    attempt = attempt_with(botfakes_control, deriv.endpoint, by_queue_ends)
    # fewer runs than the 6 distinct orders: arrival, then PCT seeds 1, 2, ... (fixed, so which
    # orders they pick is too): 021, 201, 210 miss the bug, the fifth run, 102, finds it
    missed = explore(botfakes_control, attempt, runs=4)
    assert not missed.exhaustive and len(missed.runs) == 4 and not missed.failures
    found = explore(botfakes_control, attempt, runs=5)
    assert [sched[0].order for sched, _ in found.failures] == [(1, 0, 2)]
    assert found.shrink_runs == 0  # one deviation: nothing to shrink


def test_a_correct_client_passes_every_schedule(botfakes_control, deriv):
    found = explore(botfakes_control, attempt_with(botfakes_control, deriv.endpoint, by_req_id))
    assert len(found.runs) == 6 and not found.failures
    found.check()


def test_the_schedule_route(botfakes_control):
    assert botfakes_control.schedule()["policy"] is None
    assert botfakes_control.set_schedule("pct", seed=3, depth=2) == {"policy": "pct"}
    assert botfakes_control.schedule()["policy"] == "pct"
    botfakes_control.clear_schedule()
    assert botfakes_control.schedule()["policy"] is None
    from botfakes.fakes.control.client import ControlError
    for body, field in (({"order": "pct", "seed": "x"}, "seed"), ({"order": "sideways"}, "order"),
                        ({"order": "replay", "schedule": [[["bad"], [0]]]}, "schedule"),
                        ({"order": "replay", "token": "nope"}, "replay token")):
        with pytest.raises(ControlError, match=field):
            botfakes_control.set_schedule(**body)


USER_TEST = '''
import json
from websockets.sync.client import connect
from botfakes import checks


def test_prices(botfakes_explore, botfakes_control, deriv):
    def attempt():
        botfakes_control.add_gate("deriv", "ticks_history", count=3)
        received, pending = {}, [1, 2, 3]
        with connect(deriv.endpoint) as ws:
            for req_id in pending:
                ws.send(json.dumps({"ticks_history": "R_50", "end": "latest", "count": 1, "req_id": req_id}))
            for _ in range(3):
                message = json.loads(ws.recv())
                target = pending[0] if message["req_id"] == pending[0] else pending[-1]
                pending.remove(target)
                received[target] = message
        checks.replies_reach_their_requests(botfakes_control.journal(), received)
    botfakes_explore(attempt).check()
'''


@pytest.mark.slow
def test_the_pytest_option_and_fixture_in_a_users_suite(tmp_path):
    import subprocess
    import sys
    (tmp_path / "test_user.py").write_text(USER_TEST)
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "botfakes.scenarios.explore",
                          "--botfakes-explore", "all", "-q", "-p", "no:cacheprovider", "-n", "0",
                          str(tmp_path / "test_user.py")],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    out = run.stdout + run.stderr
    assert run.returncode == 1, out
    assert "2 of 6 schedules failed" in out and "replay token: bf1." in out, out
    assert "deriv/conn1/ticks_history/2 < deriv/conn1/ticks_history/1 < deriv/conn1/ticks_history/3" in out
