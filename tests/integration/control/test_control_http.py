"""The /_control/ HTTP API and its Python client, on a runtime in its own thread."""

import asyncio
import threading

import pytest

from botfakes.fakes.control import ControlClient, ControlError, ControlTimeout
from botfakes.fakes.control import journal as j
from botfakes.fakes.runtime import FakesRuntime


@pytest.fixture(scope="module")
def runtime():
    with FakesRuntime([]) as rt:  # the control plane alone
        yield rt


@pytest.fixture
def control(runtime):
    runtime.control.reset()
    return runtime.control


def drive(runtime, n, method="ping"):
    """Send n requests through the plane on the runtime's loop, as a fake's transport would."""

    async def one(i):
        async with runtime.plane.request("deriv", f"c{i}", method, {"n": i}) as req:
            req.reply(j.ok() if req.fault is None else j.error("fault", req.fault.action))
            return None if req.fault is None else req.fault.action

    async def all_():
        return await asyncio.gather(*(one(i) for i in range(n)))

    return runtime.call(all_)


def test_fault_rules_round_trip(runtime, control):
    rule = control.add_fault("deriv", "ping", "close", close_code=1008, times=1)
    assert rule["id"].startswith("fault-") and rule["close_code"] == 1008
    assert [r["id"] for r in control.faults()] == [rule["id"]]
    assert drive(runtime, 2) == ["close", None]
    assert control.faults()[0]["fired"] == 1
    control.remove_fault(rule["id"])
    assert control.faults() == []
    assert control.counters() == {"deriv.faults.close": 1}


def test_bad_rule_gets_a_400_envelope(control):
    with pytest.raises(ControlError) as err:
        control.add_fault("deriv", "ping", "explode")
    assert err.value.status == 400 and "action must be one of" in err.value.description
    with pytest.raises(ControlError) as err:
        control.call("POST", "/faults", body=[1, 2])
    assert err.value.status == 400
    with pytest.raises(ControlError) as err:
        control.remove_fault("fault-999")
    assert err.value.status == 404
    with pytest.raises(ControlError) as err:
        control.get("/no/such/route")
    assert err.value.status == 404


def test_gate_held_from_another_thread_then_released(runtime, control):
    gate = control.add_gate("deriv", "ping")
    result = {}
    worker = threading.Thread(target=lambda: result.setdefault("r", drive(runtime, 3)))
    worker.start()
    held = control.wait_held(gate["id"], 3)
    assert len(held) == 3
    assert control.gate(gate["id"])["held"] == 3
    assert control.release_gate(gate["id"], order="reverse") == 3
    worker.join(10)
    responses = control.journal(kind="response", method="ping")
    assert [e["conn"] for e in responses] == ["c2", "c1", "c0"]


def test_journal_filters_and_wait_timeout(runtime, control):
    drive(runtime, 2)
    assert len(control.journal(kind="request")) == 2
    assert len(control.journal(kind="request", limit=1)) == 1
    assert control.journal(conn="c1", kind="response")[0]["outcome"] == {"ok": True}
    last = control.journal()[-1]["seq"]
    with pytest.raises(ControlTimeout):
        control.wait(kind="request", since=last, timeout=0.05)


async def test_async_twins_do_not_block_the_callers_loop(runtime, control):
    waiting = asyncio.create_task(control.aio.wait(kind="request", method="late", timeout=10))
    await asyncio.sleep(0)  # the wait is running in a worker thread; this loop stays free
    await asyncio.to_thread(drive, runtime, 1, "late")
    events = await waiting
    assert events[0]["method"] == "late"


def test_stats_and_reset(runtime, control):
    control.add_gate("botapi", "getUpdates", count=2)
    drive(runtime, 1)
    stats = control.stats()
    assert stats["journal"]["events"] == 2 and len(stats["gates"]) == 1
    control.reset()
    stats = control.stats()
    assert stats["journal"]["events"] == 0 and stats["gates"] == [] and stats["counters"] == {}


def test_client_accepts_root_or_control_url(runtime):
    assert ControlClient(runtime.control_url).url == ControlClient(runtime.control_url + "/_control/").url


def test_notes_join_the_timeline(runtime, control):
    control.note("started", conn="bot-A", pid=123)
    drive(runtime, 1)
    events = control.journal()
    assert events[0]["kind"] == "note" and events[0]["data"] == {"pid": 123}
    assert events[0]["fake"] == "harness" and events[0]["conn"] == "bot-A"
