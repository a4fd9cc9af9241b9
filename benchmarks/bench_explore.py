"""Schedules explored per second: the policies alone, through the plane, and over a real socket.

    python benchmarks/bench_explore.py [--quick] [--json out.json]

Measured:
  - enumeration: distinct orders per second of n held requests on one key (all n! orders are
    distinct) and on several keys (the partial-order reduction: only one order per class is
    built, so the rate stays per order produced);
  - plane: schedules per second through a ControlPlane (no sockets): per schedule a fresh gate
    replaying it holds 3 requests and releases them in that order, each passing in turn;
  - deriv: schedules per second at the network boundary: per schedule a reset (or, second
    figure, only a new gate), a gate with order="explore" and schedule=i on the Deriv fake, a new
    WebSocket (python websockets) with 3 ticks_history requests, their 3 replies read back; the
    reply order is checked against the plan.
There is no reference figure: exploration is new; the figure to read is the last one (a schedule
of a real scenario costs a bot start on top, see `botfakes run --explore`'s wall time).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import time

import websockets

from botfakes.fakes.control import ControlPlane, EventFilter, Gate, Match
from botfakes.fakes.control import journal as j
from botfakes.fakes.control import schedules as s
from botfakes.fakes.runtime import FakesRuntime


def enumeration(n: int, keys: int, repeat: int) -> tuple[int, float]:
    batch = [s.RequestIdentity("deriv", f"conn{i % keys + 1}", "ticks_history", i // keys + 1)
             for i in range(n)]
    start = time.perf_counter()
    for _ in range(repeat):
        count = sum(1 for _ in s.distinct_orders(batch))
    elapsed = time.perf_counter() - start
    return count, count * repeat / elapsed


async def plane_schedules(runs: int) -> float:
    ids = tuple(s.RequestIdentity("deriv", "conn1", "ticks_history", n) for n in (1, 2, 3))
    orders = list(itertools.permutations(range(3)))
    plane = ControlPlane()

    async def passage(n: int, log: list) -> None:
        async with plane.request("deriv", "deriv#1", "ticks_history", {"n": n}) as req:
            log.append(n)
            req.reply(j.ok())

    start = time.perf_counter()
    for i in range(runs):
        await plane.reset()
        order = orders[i % len(orders)]
        plane.gates.set_policy(s.Replay((s.Batch(ids, order),)))
        plane.gates.add(Gate(Match(fake="deriv"), count=3))
        log: list = []
        tasks = []
        for n in range(3):
            tasks.append(asyncio.create_task(passage(n, log)))
            await plane.journal.wait(EventFilter(kind="gate", action="held"), count=n + 1, timeout=5)
        await asyncio.gather(*tasks)
        assert tuple(log) == order, (log, order)
    return runs / (time.perf_counter() - start)


async def deriv_schedules(runtime: FakesRuntime, runs: int, reset: bool = True) -> float:
    control = runtime.control.aio
    url = runtime.fakes["deriv"].endpoint
    ids = [s.RequestIdentity("deriv", "conn1", "ticks_history", n) for n in (1, 2, 3)]
    orders = list(s.distinct_orders(ids))
    start = time.perf_counter()
    for i in range(runs):
        if reset:
            await control.reset()  # what a test does between schedules: a new world
        gate = await control.add_gate("deriv", "ticks_history", count=3, order="explore", schedule=i)
        async with websockets.connect(url) as ws:
            for req_id in (1, 2, 3):
                await ws.send(json.dumps({"ticks_history": "R_50", "end": "latest", "count": 1,
                                          "req_id": req_id}))
            got = [json.loads(await ws.recv())["req_id"] for _ in range(3)]
        want = [orders[i % len(orders)][k] + 1 for k in range(3)]
        assert got == want, (got, want)
        if not reset:
            await control.remove_gate(gate["id"])
    return runs / (time.perf_counter() - start)


async def main(quick: bool, json_path: str | None) -> None:
    rows = []
    for n, keys in ((3, 1), (5, 1), (6, 1), (7, 1), (6, 2), (8, 4)):
        if quick and n > 6:
            continue
        count, rate = enumeration(n, keys, repeat=3 if n >= 7 else 20)
        rows.append((f"enumerate n={n}, {keys} key(s): {count} orders", "orders/s", rate))
    runs = 60 if quick else 600
    rows.append(("plane: replay 3 held requests", "schedules/s", await plane_schedules(runs)))
    runtime = FakesRuntime(["deriv"]).start()
    try:
        await deriv_schedules(runtime, 6)  # warm-up
        rate = await deriv_schedules(runtime, 30 if quick else 300)
        bare = await deriv_schedules(runtime, 30 if quick else 300, reset=False)
    finally:
        runtime.stop()
    rows.append(("deriv fake: explore 3 requests, reset each time", "schedules/s", rate))
    rows.append(("deriv fake: explore 3 requests, a new gate only", "schedules/s", bare))
    print(f"{'case':52} {'unit':12} {'rate':>10}")
    for name, unit, value in rows:
        print(f"{name:52} {unit:12} {value:10.0f}")
    if json_path:
        with open(json_path, "w") as fh:
            json.dump([{"case": n, "unit": u, "value": v} for n, u, v in rows], fh, indent=1)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs, small n only")
    parser.add_argument("--json", help="also write the figures here")
    options = parser.parse_args()
    asyncio.run(main(options.quick, options.json))
