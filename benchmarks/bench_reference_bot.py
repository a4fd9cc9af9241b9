"""Benchmark of the reference bot: update-to-reply latency at 1, 10 and 100 concurrent chats.

    python benchmarks/bench_reference_bot.py [--quick] [--json PATH]

The fake Bot API runs in this process (flood control off: Telegram's per-chat pacing is not what
is measured). In each round, `c` users in `c` different chats write /help at the same moment
(queued in one step on the fakes' loop); a journal listener notes when the bot's sendMessage for
each chat reaches the fake. Latency = that moment - the moment the update was queued, both read
from the same monotonic clock. Measured in the same run:
- the reference bot (`python -m botfakes.reference_bot`), polling mode and webhook mode;
- the reference: a minimal aiohttp bot in ~20 lines (long-poll getUpdates, one sendMessage per
  update, no offset file, no instance guard, no per-chat ordering): the floor a bot costs here.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from botfakes.testing import BotExited, BotNotReady, BotProcess, Contract, ReadyLine, bot_environment, free_port

HELP = "/help"


async def minimal_bot() -> None:
    """The reference bot of this benchmark: as little as a polling bot can be."""
    import aiohttp

    base = f"{os.environ['TELEGRAM_API_BASE_URL']}/bot{os.environ['TELEGRAM_BOT_TOKEN']}"
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{base}/deleteWebhook") as resp:
            await resp.read()
        print("BOT READY {}", flush=True)
        offset = 0

        async def answer(update: dict) -> None:
            chat = update["message"]["chat"]["id"]
            async with session.post(f"{base}/sendMessage", json={"chat_id": chat, "text": "help"}) as r:
                await r.read()

        while True:
            async with session.post(f"{base}/getUpdates", json={"offset": offset, "timeout": 25}) as resp:
                updates = (await resp.json())["result"]
            if updates:
                offset = updates[-1]["update_id"] + 1
                await asyncio.gather(*(answer(u) for u in updates))


class Replies:
    """Notes, on the fakes' loop, when the sendMessage for each awaited chat arrives."""

    def __init__(self) -> None:
        self.queued: dict[str, float] = {}
        self.latencies: list[float] = []
        self.all_in = threading.Event()

    def __call__(self, event) -> None:
        if event.kind != "request" or event.method.lower() != "sendmessage":
            return
        chat = str(event.data.get("params", {}).get("chat_id", ""))
        queued = self.queued.pop(chat, None)
        if queued is not None:
            self.latencies.append(event.time - queued)
            if not self.queued:
                self.all_in.set()


def measure(runtime, token: str, replies: Replies, chats: int, rounds: int, first_user: int) -> list[float]:
    core = runtime.fakes["botapi"].core
    replies.latencies = []
    for r in range(rounds):
        users = [first_user + r * chats + i for i in range(chats)]

        def inject() -> None:
            replies.all_in.clear()
            for user in users:
                replies.queued[str(user)] = time.monotonic()
                core.inject_message(token, HELP, {"id": user}, None, None)

        runtime.call_sync(inject)
        if not replies.all_in.wait(60):
            raise SystemExit(f"no reply in {len(replies.queued)} of {chats} chats within 60 s")
    return list(replies.latencies)


def start_bot(label: str, command: list[str], env: dict[str, str], log: Path) -> BotProcess:
    bot = BotProcess(label, command, env, cwd=log.parent, log_path=log).start()
    try:
        bot.wait_ready(ReadyLine(r"^BOT READY"), timeout=60)
    except (BotExited, BotNotReady) as exc:
        bot.close()
        raise SystemExit(f"{' '.join(command)} did not get ready: {exc}") from None
    return bot


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, for a smoke run")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON here")
    parser.add_argument("--minimal-bot", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.minimal_bot:
        asyncio.run(minimal_bot())
        return

    from botfakes.fakes.runtime import FakesRuntime

    plan = [(1, 5), (10, 3), (100, 2)] if args.quick else [(1, 40), (10, 20), (100, 10)]
    runtime = FakesRuntime(["botapi"], options={"botapi": {"rate_limits": {"enabled": False}}}).start()
    replies = Replies()
    runtime.call_sync(lambda: runtime.plane.journal.add_listener(replies))
    workdir = Path(tempfile.mkdtemp(prefix="bench-reference-bot-"))
    bots = [
        ("reference bot, polling", [sys.executable, "-m", "botfakes.reference_bot"], False),
        ("reference bot, webhook", [sys.executable, "-m", "botfakes.reference_bot"], True),
        ("minimal aiohttp bot, polling", [sys.executable, __file__, "--minimal-bot"], False),
    ]
    results = []
    user_base = 10_000
    try:
        for label, command, webhook in bots:
            token = runtime.control.botapi.new_bot(username=f"bench{len(results)}_bot")
            contract = Contract(bot_token=token, api_root=runtime.url("botapi"),
                                data_dir=str(workdir / f"data{len(results)}"))
            if webhook:  # WEBHOOK_URL names the port, so it is picked before the bot binds it
                contract.port, contract.webhook = free_port(), True
            # No Deriv fake here: its URL points where nothing listens (not the real Deriv).
            extra = {"LOG_LEVEL": "WARNING", "DERIV_WS_URL": "ws://127.0.0.1:9/websockets/v3"}
            if not webhook:
                extra.update({"HOST": "127.0.0.1", "PORT": "0"})
            bot = start_bot(label, command, bot_environment(contract, extra), workdir / f"bot{len(results)}.log")
            try:
                measure(runtime, token, replies, 1, 3, user_base)  # warm-up
                user_base += 1000
                for chats, rounds in plan:
                    ms = sorted(x * 1000 for x in measure(runtime, token, replies, chats, rounds, user_base))
                    user_base += chats * rounds + 1000
                    results.append({"bot": label, "chats": chats, "samples": len(ms),
                                    "p50_ms": statistics.median(ms), "p95_ms": ms[int(0.95 * (len(ms) - 1))],
                                    "max_ms": ms[-1]})
            finally:
                bot.stop(20)
                bot.close()
    finally:
        runtime.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"{'update -> reply latency':32} {'chats':>6} {'samples':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for row in results:
        print(f"{row['bot']:32} {row['chats']:6d} {row['samples']:8d} {row['p50_ms']:8.2f} "
              f"{row['p95_ms']:8.2f} {row['max_ms']:8.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results))


if __name__ == "__main__":
    main()
