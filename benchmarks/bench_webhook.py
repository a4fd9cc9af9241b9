"""Benchmark of the fake Bot API's webhook delivery: updates POSTed to a bot per second.

    python benchmarks/bench_webhook.py [--updates 3000] [--quick] [--json PATH]

A minimal aiohttp receiver (its own process) answers every POST with 200 and notes the time it
got the last expected one. Measured in the same run:
- the fake: a bot with a webhook on the receiver (max_connections 40, as Telegram's default);
  N updates are queued at once in N different chats (so up to 40 go out in parallel; a chat's
  updates go one at a time, as Telegram does it) and again N in one chat (strictly one after
  another); deliveries/s = N / (time of the N-th receipt - time of queueing);
- the reference: a bare aiohttp client POSTing the same update JSON N times to the same receiver
  with the same parallelism (40, then 1): what HTTP delivery costs here before any fake logic.
The figure is the ratio fake / reference.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import time
from pathlib import Path

PARALLEL = 40


def run_receiver(queue: "mp.Queue", expect: "mp.Value") -> None:
    from aiohttp import web

    state = {"count": 0}

    async def hook(request: web.Request) -> web.Response:
        await request.read()
        state["count"] += 1
        if state["count"] == expect.value:
            queue.put(("done", time.monotonic()))
            state["count"] = 0
        return web.Response()

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/hook", hook)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        queue.put(("url", f"http://127.0.0.1:{runner.addresses[0][1]}/hook"))
        await asyncio.Event().wait()

    asyncio.run(main())


def fake_rate(runtime, token: str, queue: "mp.Queue", n: int, chats: int) -> float:
    fake = runtime.fakes["botapi"]

    def inject() -> float:
        started = time.monotonic()
        for i in range(n):
            user = 100 + (i % chats)
            fake.core.inject_message(token, f"/ping {i}", {"id": user}, None, None)
        return started

    started = runtime.call_sync(inject)
    kind, done_at = queue.get(timeout=120)
    assert kind == "done"
    return n / (done_at - started)


async def reference_rate(url: str, body: bytes, queue: "mp.Queue", n: int, parallel: int) -> float:
    import aiohttp

    remaining = n

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as resp:
                await resp.read()

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=parallel)) as session:
        started = time.monotonic()
        await asyncio.gather(*(worker(session) for _ in range(parallel)))
    kind, done_at = queue.get(timeout=120)
    assert kind == "done"
    return n / (done_at - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=3000)
    parser.add_argument("--quick", action="store_true", help="a fifth of the work, for a smoke run")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON here")
    args = parser.parse_args()
    n = max(100, args.updates // 5) if args.quick else args.updates

    from botfakes.fakes.runtime import FakesRuntime

    ctx = mp.get_context("spawn")
    queue, expect = ctx.Queue(), ctx.Value("i", n)
    receiver = ctx.Process(target=run_receiver, args=(queue, expect), daemon=True)
    receiver.start()
    kind, url = queue.get(timeout=60)
    runtime = FakesRuntime(["botapi"], options={"botapi": {"rate_limits": {"enabled": False}}}).start()
    rows = []
    try:
        token = runtime.control.botapi.new_bot()
        import urllib.request

        with urllib.request.urlopen(f"{runtime.url('botapi')}/bot{token}/setWebhook?url={url}"
                                    f"&max_connections={PARALLEL}", timeout=10) as resp:
            assert json.load(resp)["ok"]
        body = json.dumps({"update_id": 1, "message": {
            "message_id": 1, "date": 0, "text": "/ping 1", "chat": {"id": 100, "type": "private", "first_name": "U"},
            "from": {"id": 100, "is_bot": False, "first_name": "U"}}}).encode()
        for label, chats, parallel in ((f"{PARALLEL} in parallel (many chats)", n, PARALLEL),
                                       ("one chat, in order", 1, 1)):
            count = n if parallel > 1 else max(50, n // 10)
            expect.value = warm = min(count, 200)
            fake_rate(runtime, token, queue, warm, chats)  # warm-up
            expect.value = count
            fake = fake_rate(runtime, token, queue, count, chats)
            asyncio.run(reference_rate(url, body, queue, count, parallel))  # warm-up
            reference = asyncio.run(reference_rate(url, body, queue, count, parallel))
            rows.append({"case": label, "updates": count, "fake": fake, "reference": reference})
    finally:
        runtime.stop()
        receiver.kill()
        receiver.join(10)

    print(f"{'webhook deliveries':36} {'updates':>8} {'fake/s':>10} {'bare client/s':>14} {'ratio':>7}")
    for row in rows:
        print(f"{row['case']:36} {row['updates']:8d} {row['fake']:10.0f} {row['reference']:14.0f} "
              f"{row['fake'] / row['reference']:7.0%}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows))


if __name__ == "__main__":
    main()
