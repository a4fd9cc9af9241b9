"""Benchmark of the fake Bot API: sendMessage throughput and long-poll wake-up latency.

    python benchmarks/bench_botapi.py [--requests 6000] [--concurrency 16] [--wakeups 300]

Each server runs in its own process, loaded by one aiohttp client in this process, in the same run:
- the fake Bot API (journal, gates and fault matching all active; flood control off, since it would
  answer 429 long before a throughput limit) serving POST /bot<token>/sendMessage with a JSON body;
- a minimal aiohttp handler on the same path that reads the JSON body and returns a fixed message.
The figure is the ratio of the two (target >= 60%). Then: a client parks getUpdates(timeout=30), a user
message is injected over the control API, and the time until the poll's answer reaches the client is
measured (target p50 < 2 ms; it includes the injecting HTTP call, so it is an upper bound).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import statistics
import time
from pathlib import Path

BODY = json.dumps({"chat_id": 5, "text": "hello"}).encode()
HEADERS = {"Content-Type": "application/json"}


def run_fake(queue: "mp.Queue") -> None:
    from botfakes.fakes.runtime import FakesRuntime

    runtime = FakesRuntime(["botapi"], options={"botapi": {"rate_limits": {"enabled": False}}})
    runtime.start()
    token = runtime.control.botapi.new_bot()
    runtime.control.botapi.send_message(token, "hi", {"id": 5})
    queue.put({"url": runtime.url("botapi"), "control": runtime.control_url, "token": token})
    try:
        while True:
            time.sleep(3600)
    finally:
        runtime.stop()


def run_minimal(queue: "mp.Queue") -> None:
    from aiohttp import web

    reply = json.dumps({"ok": True, "result": {
        "message_id": 1, "from": {"id": 1, "is_bot": True, "first_name": "B", "username": "b_bot"},
        "chat": {"id": 5, "first_name": "U", "type": "private"}, "date": 0, "text": "hello"}}).encode()

    async def send_message(request: web.Request) -> web.Response:
        json.loads(await request.read())
        return web.Response(body=reply, content_type="application/json")

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/bot{token}/sendMessage", send_message)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        queue.put({"url": f"http://127.0.0.1:{runner.addresses[0][1]}", "token": "1:x"})
        await asyncio.Event().wait()

    asyncio.run(main())


def start(target) -> tuple[mp.Process, dict]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    process = ctx.Process(target=target, args=(queue,), daemon=True)
    process.start()
    return process, queue.get(timeout=60)


async def throughput(info: dict, requests: int, concurrency: int) -> float:
    import aiohttp

    url = f"{info['url']}/bot{info['token']}/sendMessage"
    remaining = requests
    errors = 0

    async def worker(session) -> None:
        nonlocal remaining, errors
        while remaining > 0:
            remaining -= 1
            async with session.post(url, data=BODY, headers=HEADERS) as resp:
                await resp.read()
                if resp.status != 200:
                    errors += 1

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        remaining = min(500, requests)  # warm-up
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        remaining = requests
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    if errors:
        raise SystemExit(f"{errors} requests failed against {info['url']}")
    return requests / elapsed


async def wakeups(info: dict, count: int) -> list[float]:
    import aiohttp

    base = f"{info['url']}/bot{info['token']}"
    control = info["control"] + "/_control"
    latencies = []
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}/getUpdates", params={"offset": "-1"}) as resp:
            updates = (await resp.json())["result"]
        offset = updates[-1]["update_id"] + 1 if updates else 0
        async with session.get(f"{control}/journal", params={"limit": "1"}) as resp:
            since = (await resp.json())["result"]["last_seq"]
        for i in range(count):
            done_at: list[float] = []

            async def poll() -> list:
                async with session.get(f"{base}/getUpdates", params={"offset": str(offset), "timeout": "30"}) as r:
                    result = (await r.json())["result"]
                done_at.append(time.perf_counter())
                return result

            task = asyncio.create_task(poll())
            async with session.get(f"{control}/journal/wait", params={
                    "fake": "botapi", "kind": "note", "method": "getUpdates", "since": str(since)}) as resp:
                since = (await resp.json())["result"]["last_seq"]
            started = time.perf_counter()
            async with session.post(f"{control}/botapi/bots/{info['token']}/messages",
                                    json={"text": f"/ping {i}", "user": {"id": 5}}) as resp:
                await resp.read()
            result = await task
            latencies.append(done_at[0] - started)
            offset = result[-1]["update_id"] + 1
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--wakeups", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON here (run_all.py reads it)")
    args = parser.parse_args()

    fake_proc, fake = start(run_fake)
    minimal_proc, minimal = start(run_minimal)
    try:
        fake_rates, minimal_rates = [], []
        for _ in range(args.rounds):  # interleaved, so drift in machine load hits both alike
            minimal_rates.append(asyncio.run(throughput(minimal, args.requests, args.concurrency)))
            fake_rates.append(asyncio.run(throughput(fake, args.requests, args.concurrency)))
        latencies = asyncio.run(wakeups(fake, args.wakeups))
    finally:
        for proc in (fake_proc, minimal_proc):
            proc.kill()
            proc.join(10)

    fake_rps, minimal_rps = statistics.median(fake_rates), statistics.median(minimal_rates)
    ms = sorted(x * 1000 for x in latencies)
    p50, p90, p99 = (ms[int(q * (len(ms) - 1))] for q in (0.5, 0.9, 0.99))
    print(f"sendMessage, {args.requests} requests x {args.rounds} rounds, {args.concurrency} connections "
          f"(median of rounds)")
    print(f"{'server':<34}{'requests/s':>12}")
    print(f"{'minimal aiohttp handler':<34}{minimal_rps:>12.0f}")
    print(f"{'fake Bot API':<34}{fake_rps:>12.0f}")
    print(f"{'ratio (target >= 60%)':<34}{fake_rps / minimal_rps:>12.0%}")
    print()
    print(f"long-poll wake-up, inject -> getUpdates answer at the client, {len(ms)} samples")
    print(f"{'p50 (target < 2 ms)':<34}{p50:>10.3f} ms")
    print(f"{'p90':<34}{p90:>10.3f} ms")
    print(f"{'p99':<34}{p99:>10.3f} ms")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "fake_rps": fake_rps, "minimal_rps": minimal_rps, "requests": args.requests,
            "concurrency": args.concurrency, "wakeup_ms": {"p50": p50, "p90": p90, "p99": p99, "samples": len(ms)}}))


if __name__ == "__main__":
    main()
