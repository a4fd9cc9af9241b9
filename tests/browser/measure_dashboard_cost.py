"""What an open dashboard costs the fake Bot API: benchmarks/bench_botapi.py's sendMessage
throughput with no dashboard, with a bare SSE client on /_control/journal/stream (the server's
side of the cost alone), and with the dashboard open in headless Chromium (which also competes
for the same cores), rounds interleaved so that drift in machine load hits all alike.

    python tests/browser/measure_dashboard_cost.py [--requests 6000] [--rounds 5]

Not a test (speed is never asserted in tests): a measurement, printed as a table.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402

import bench_botapi  # noqa: E402  (the benchmark's own fake process and load)

from conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402


class SseReader:
    """A bare EventSource: reads /_control/journal/stream on its own thread until stopped."""

    def __init__(self, control_url: str) -> None:
        self.url = control_url + "/_control/journal/stream"
        self.bytes = 0
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._read()), daemon=True)

    async def _read(self) -> None:
        import aiohttp

        async with aiohttp.ClientSession() as session:
            async with session.get(self.url, timeout=aiohttp.ClientTimeout(total=None)) as resp:
                self._ready.set()
                while not self._stop.is_set():
                    try:
                        chunk = await asyncio.wait_for(resp.content.readany(), 0.2)
                    except asyncio.TimeoutError:
                        continue
                    if not chunk:
                        return
                    self.bytes += len(chunk)

    def __enter__(self) -> "SseReader":
        self._thread.start()
        self._ready.wait(30)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    fake_proc, fake = bench_botapi.start(bench_botapi.run_fake)
    minimal_proc, minimal = bench_botapi.start(bench_botapi.run_minimal)
    rates: dict[str, list[float]] = {"minimal": [], "none": [], "sse": [], "chromium": []}
    cpu: dict[str, list[float]] = {"none": [], "sse": [], "chromium": []}  # fake's CPU µs/request
    streamed = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

            def fake_cpu() -> float:
                times = psutil.Process(fake_proc.pid).cpu_times()
                return times.user + times.system

            def load(target: dict = fake, label: str = "none") -> float:
                # sync Playwright keeps an event loop on this thread: the load gets a thread of its own
                result: list[float] = []
                before = fake_cpu()
                worker = threading.Thread(target=lambda: result.append(asyncio.run(
                    bench_botapi.throughput(target, args.requests, args.concurrency))))
                worker.start()
                worker.join()
                if target is fake:
                    cpu[label].append((fake_cpu() - before) / args.requests * 1e6)
                return result[0]

            for _ in range(args.rounds):
                rates["minimal"].append(load(minimal))
                rates["none"].append(load())
                with SseReader(fake["control"]) as reader:
                    rates["sse"].append(load(label="sse"))
                streamed.append(reader.bytes)
                page = browser.new_page(viewport={"width": 1500, "height": 900})
                page.goto(fake["control"] + "/_control/")
                page.wait_for_selector("#status.status-live")
                rates["chromium"].append(load(label="chromium"))
                page.close()
            browser.close()
    finally:
        for proc in (fake_proc, minimal_proc):
            proc.kill()
            proc.join(10)

    med = {k: statistics.median(v) for k, v in rates.items()}
    print(f"sendMessage, {args.requests} requests x {args.rounds} rounds, {args.concurrency} connections "
          f"(median of rounds; every round's figures below)")
    cpu_med = {k: statistics.median(v) for k, v in cpu.items()}
    print(f"{'server':<44}{'requests/s':>12}{'vs none':>10}{'fake CPU µs/req':>18}{'vs none':>10}")
    print(f"{'minimal aiohttp handler':<44}{med['minimal']:>12.0f}")
    for key, label in (("none", "fake Bot API, no dashboard"),
                       ("sse", "fake Bot API, SSE client on the stream"),
                       ("chromium", "fake Bot API, dashboard open in Chromium")):
        print(f"{label:<44}{med[key]:>12.0f}{med[key] / med['none'] - 1:>+10.1%}"
              f"{cpu_med[key]:>18.1f}{cpu_med[key] / cpu_med['none'] - 1:>+10.1%}")
    print("rounds, requests/s:", {k: [round(x) for x in v] for k, v in rates.items()})
    print("rounds, fake CPU µs/request:", {k: [round(x, 1) for x in v] for k, v in cpu.items()})
    print(f"SSE bytes streamed per round: {[b for b in streamed]}")


if __name__ == "__main__":
    main()
