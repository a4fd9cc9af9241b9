"""Benchmark of the fake Deriv API against a minimal `websockets` echo server, in the same run.

    python benchmarks/bench_deriv.py [--quick]

Both servers run on a background thread with their own event loop (the fake inside the botfakes
runtime, with its journal, fault and gate checks on every message, as in tests; the echo server
bare); the clients run on the main thread's loop. Measured:
  - ping round trips/s on 1 connection with 1 request outstanding, and with 100 outstanding
  - ping round trips/s with 500 concurrent connections (each with 1 outstanding)
  - tick fan-out: stream messages/s delivered to 500 subscribers of one symbol (the reference:
    a minimal server sending a same-sized message to each of 500 connections)
The figure is the ratio fake/reference; the target is at least 50%.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
import time

import websockets
from websockets.asyncio.server import serve

from botfakes.fakes.runtime import FakesRuntime

TICK_LIKE = json.dumps({
    "echo_req": {"req_id": 1, "subscribe": 1, "ticks": "R_50"}, "msg_type": "tick", "req_id": 1,
    "subscription": {"id": "4c566b1c-11a1-425c-a807-88c7e46a1006"},
    "tick": {"ask": 250.1455, "bid": 250.1435, "epoch": 1795383933,
             "id": "4c566b1c-11a1-425c-a807-88c7e46a1006", "pip_size": 4, "quote": 250.1445,
             "symbol": "R_50"}}, separators=(",", ":"))


class EchoServer:
    """The reference: echoes every message; on "fanout N" sends N tick-sized messages to every
    connection."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.connections: set = set()
        self.url = ""
        started = threading.Event()
        threading.Thread(target=self._run, args=(started,), daemon=True).start()
        started.wait()

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)

        async def handler(ws):
            self.connections.add(ws)
            try:
                async for message in ws:
                    if isinstance(message, str) and message.startswith("fanout "):
                        for _ in range(int(message.split()[1])):
                            for c in list(self.connections):
                                if c is not ws:
                                    await c.send(TICK_LIKE)
                        await ws.send("done")
                    else:
                        await ws.send(message)
            finally:
                self.connections.discard(ws)

        async def start():
            server = await serve(handler, "127.0.0.1", 0, ping_interval=None)
            self.url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/websockets/v3?app_id=1"

        self.loop.run_until_complete(start())
        started.set()
        self.loop.run_forever()


async def pings_sequential(url: str, n: int) -> float:
    async with websockets.connect(url, ping_interval=None) as ws:
        start = time.perf_counter()
        for i in range(n):
            await ws.send(f'{{"ping":1,"req_id":{i}}}')
            await ws.recv()
        return n / (time.perf_counter() - start)


async def pings_outstanding(url: str, n: int, window: int) -> float:
    async with websockets.connect(url, ping_interval=None) as ws:
        start = time.perf_counter()
        sent = 0
        for _ in range(window):
            await ws.send(f'{{"ping":1,"req_id":{sent}}}')
            sent += 1
        for _ in range(n):
            await ws.recv()
            if sent < n:
                await ws.send(f'{{"ping":1,"req_id":{sent}}}')
                sent += 1
        return n / (time.perf_counter() - start)


async def pings_many_connections(url: str, conns: int, per_conn: int) -> float:
    sockets = await asyncio.gather(*(websockets.connect(url, ping_interval=None)
                                     for _ in range(conns)))

    async def run(ws):
        for i in range(per_conn):
            await ws.send(f'{{"ping":1,"req_id":{i}}}')
            await ws.recv()

    start = time.perf_counter()
    await asyncio.gather(*(run(ws) for ws in sockets))
    elapsed = time.perf_counter() - start
    await asyncio.gather(*(ws.close() for ws in sockets))
    return conns * per_conn / elapsed


async def fanout_fake(runtime: FakesRuntime, url: str, subscribers: int, ticks: int) -> float:
    sockets = await asyncio.gather(*(websockets.connect(url, ping_interval=None)
                                     for _ in range(subscribers)))
    for ws in sockets:
        await ws.send('{"ticks":"R_50","req_id":1}')
    for ws in sockets:
        await ws.recv()

    async def drain(ws):
        for _ in range(ticks):
            await ws.recv()

    start = time.perf_counter()
    step = asyncio.to_thread(runtime.control.deriv.step, ticks)
    await asyncio.gather(step, *(drain(ws) for ws in sockets))
    elapsed = time.perf_counter() - start
    await asyncio.gather(*(ws.close() for ws in sockets))
    return subscribers * ticks / elapsed


async def fanout_echo(url: str, subscribers: int, ticks: int) -> float:
    sockets = await asyncio.gather(*(websockets.connect(url, ping_interval=None)
                                     for _ in range(subscribers)))
    trigger = await websockets.connect(url, ping_interval=None)
    await trigger.send("ping")  # make sure every connection is registered
    await trigger.recv()

    async def drain(ws):
        for _ in range(ticks):
            await ws.recv()

    start = time.perf_counter()
    await trigger.send(f"fanout {ticks}")
    await asyncio.gather(trigger.recv(), *(drain(ws) for ws in sockets))
    elapsed = time.perf_counter() - start
    await asyncio.gather(*(ws.close() for ws in sockets), trigger.close())
    return subscribers * ticks / elapsed


async def main(quick: bool, json_path: str | None = None) -> None:
    scale = 0.2 if quick else 1.0
    runtime = FakesRuntime(["deriv"]).start()
    control = runtime.control
    control.deriv.reset(tick_interval=0)
    control.deriv.set_limits(enabled=False)  # the real limits would stop a benchmark at once
    fake_url = runtime.fakes["deriv"].endpoint
    echo = EchoServer()

    cases = [
        ("ping, 1 conn, 1 outstanding", "round trips/s",
         lambda url: pings_sequential(url, int(3000 * scale))),
        ("ping, 1 conn, 100 outstanding", "round trips/s",
         lambda url: pings_outstanding(url, int(10000 * scale), 100)),
        ("ping, 500 conns, 1 outstanding each", "round trips/s",
         lambda url: pings_many_connections(url, 500, max(2, int(10 * scale)))),
    ]
    rows = []
    for name, unit, run in cases:
        control.reset()  # empty journal for every case, as a test would have
        control.deriv.reset(tick_interval=0)
        control.deriv.set_limits(enabled=False)
        await run(fake_url)  # warm-up, both sides
        await run(echo.url)
        fake_rate = await run(fake_url)
        echo_rate = await run(echo.url)
        rows.append((name, unit, fake_rate, echo_rate))
    control.reset()
    control.deriv.reset(tick_interval=0)
    ticks = max(4, int(20 * scale))
    fake_rate = await fanout_fake(runtime, fake_url, 500, ticks)
    echo_rate = await fanout_echo(echo.url, 500, ticks)
    rows.append(("tick fan-out to 500 subscribers", "messages/s", fake_rate, echo_rate))
    runtime.stop()

    print(f"{'case':40} {'unit':14} {'fake':>10} {'echo ref':>10} {'ratio':>7}")
    for name, unit, fake_rate, echo_rate in rows:
        print(f"{name:40} {unit:14} {fake_rate:10.0f} {echo_rate:10.0f} "
              f"{100 * fake_rate / echo_rate:6.0f}%")
    if json_path:  # for run_all.py
        with open(json_path, "w") as f:
            json.dump([{"case": n, "unit": u, "fake": fr, "reference": er} for n, u, fr, er in rows], f)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a fifth of the work, for a smoke run")
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON here (run_all.py reads it)")
    cli = parser.parse_args()
    asyncio.run(main(cli.quick, cli.json))
