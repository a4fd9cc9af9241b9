"""The project's figures in one table, each next to its reference measured in the same run.

    python benchmarks/run_all.py [--quick] [--json PATH] [--skip-run] [--run-timeout 1200] [--only deriv,run]

Runs every benchmark script of this folder as its own process (so none shares a process, a loop or
a GIL with another) with `--json`, then `botfakes run` (the bundled matrix) for its wall time, and
prints one table. A benchmark that fails or times out is a FAILED row with the reason, never a
number. --quick does a fraction of the work (a smoke run: the figures are noisier) and skips the
`botfakes run` row unless --with-run is given.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable


@dataclass
class Row:
    figure: str
    value: str
    reference: str = ""
    ratio: str = ""


def bench(script: str, args: list[str], timeout: float) -> tuple[object | None, str]:
    """Run benchmarks/<script> with --json; (its JSON, "") or (None, why it failed)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "figures.json"
        try:
            proc = subprocess.run([PYTHON, str(HERE / script), *args, "--json", str(out)],
                                  capture_output=True, text=True, timeout=timeout, cwd=tmp)
        except subprocess.TimeoutExpired:
            return None, f"timed out after {timeout:.0f} s"
        if proc.returncode != 0 or not out.exists():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            return None, f"exit {proc.returncode}: {tail[0][:120]}"
        return json.loads(out.read_text()), ""


def ratio(a: float, b: float) -> str:
    return f"{a / b:.0%}" if b else ""


def botapi_rows(quick: bool, timeout: float) -> list[Row]:
    args = ["--requests", "1500", "--rounds", "1", "--wakeups", "60"] if quick else []
    data, error = bench("bench_botapi.py", args, timeout)
    if data is None:
        return [Row("Bot API sendMessage (16 connections)", f"FAILED: {error}"),
                Row("Bot API long-poll wake-up", f"FAILED: {error}")]
    wake = data["wakeup_ms"]
    return [
        Row(f"Bot API sendMessage, {data['concurrency']} connections", f"{data['fake_rps']:.0f} req/s",
            f"{data['minimal_rps']:.0f} req/s minimal aiohttp handler", ratio(data["fake_rps"], data["minimal_rps"])),
        Row("Bot API long-poll wake-up (inject -> answer)",
            f"p50 {wake['p50']:.2f} ms, p99 {wake['p99']:.2f} ms", "target p50 < 2 ms (no bare equivalent)"),
    ]


def webhook_rows(quick: bool, timeout: float) -> list[Row]:
    data, error = bench("bench_webhook.py", ["--quick"] if quick else [], timeout)
    if data is None:
        return [Row("webhook deliveries", f"FAILED: {error}")]
    return [Row(f"webhook deliveries, {r['case']}", f"{r['fake']:.0f} /s",
                f"{r['reference']:.0f} /s bare aiohttp POSTs", ratio(r["fake"], r["reference"])) for r in data]


def deriv_rows(quick: bool, timeout: float) -> list[Row]:
    data, error = bench("bench_deriv.py", ["--quick"] if quick else [], timeout)
    if data is None:
        return [Row("Deriv round trips", f"FAILED: {error}")]
    return [Row(f"Deriv {r['case']}", f"{r['fake']:.0f} {r['unit']}",
                f"{r['reference']:.0f} minimal websockets server", ratio(r["fake"], r["reference"])) for r in data]


def mtproto_rows(quick: bool, timeout: float) -> list[Row]:
    data, error = bench("bench_mtproto.py", ["--quick"] if quick else [], timeout)
    if data is None:
        return [Row("MTProto key exchanges and RPC", f"FAILED: {error}")]
    rows = {r["measure"]: r for r in data["rows"]}
    kex = rows["key exchange + connect (fresh session)"]
    out = [Row("MTProto key exchanges (Telethon, fresh session)", f"{kex['per_s']:.1f} /s",
               f"server side alone {1 / data['server_key_exchange_s']:.0f} /s per core")]
    one_ref = rows["reference: TCP echo of a get_me-sized packet, 1 client"]
    many_ref = rows["reference: TCP echo, 50 concurrent clients"]
    # One row per client layer on one connection (Telethon's 229, GramJS's 198 when Node has it),
    # then Telethon across 50 clients; each against the TCP echo of the same shape.
    for name, fake in rows.items():
        if not name.startswith("get_me, "):
            continue
        ref = many_ref if "concurrent" in name else one_ref
        label = name if "layer" in name else f"Telethon {name}"
        out.append(Row(f"MTProto RPC ({label})", f"{fake['per_s']:.0f} /s",
                       f"{ref['per_s']:.0f} /s TCP echo, same size", ratio(fake["per_s"], ref["per_s"])))
    return out


def reference_bot_rows(quick: bool, timeout: float) -> list[Row]:
    data, error = bench("bench_reference_bot.py", ["--quick"] if quick else [], timeout)
    if data is None:
        return [Row("reference bot update -> reply", f"FAILED: {error}")]
    minimal = {r["chats"]: r for r in data if r["bot"].startswith("minimal")}
    out = []
    for r in data:
        if r["bot"].startswith("minimal"):
            continue
        m = minimal.get(r["chats"])
        out.append(Row(f"{r['bot']}, update -> reply, {r['chats']} chat{'s' if r['chats'] > 1 else ''} at once",
                       f"p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms",
                       f"p50 {m['p50_ms']:.1f}, p95 {m['p95_ms']:.1f} ms minimal aiohttp bot" if m else "",
                       f"{r['p50_ms'] / m['p50_ms']:.2f}x p50" if m else ""))
    return out


def botfakes_run_row(timeout: float) -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        try:
            proc = subprocess.run([PYTHON, "-m", "botfakes", "run", "--report-dir", str(Path(tmp) / "report")],
                                  capture_output=True, text=True, timeout=timeout, cwd=tmp)
        except subprocess.TimeoutExpired:
            return [Row("`botfakes run` (bundled bots, every scenario)",
                        f"FAILED: not finished after {timeout:.0f} s")]
        wall = time.monotonic() - started
    if proc.returncode != 0:
        last = [line for line in proc.stdout.strip().splitlines() if line.strip()][-1:] or [proc.stderr.strip()[-120:]]
        return [Row("`botfakes run` (bundled bots, every scenario)",
                    f"FAILED: exit {proc.returncode} after {wall:.1f} s", last[0][:100])]
    return [Row("`botfakes run` (bundled bots, every scenario)", f"{wall:.1f} s wall", "matrix as expected")]


PARTS = {"botapi": botapi_rows, "webhook": webhook_rows, "deriv": deriv_rows, "mtproto": mtproto_rows,
         "reference_bot": reference_bot_rows}


def print_table(rows: list[Row]) -> None:
    widths = [max(len(getattr(r, f)) for r in rows + [Row("figure", "botfakes", "reference (same run)", "ratio")])
              for f in ("figure", "value", "reference", "ratio")]
    header = Row("figure", "botfakes", "reference (same run)", "ratio")
    for i, row in enumerate([header] + rows):
        print("  ".join(getattr(row, f).ljust(w) for f, w in zip(("figure", "value", "reference", "ratio"), widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a fraction of the work: a smoke run")
    parser.add_argument("--json", metavar="PATH", help="also write the table as JSON here")
    parser.add_argument("--skip-run", action="store_true", help="leave out the `botfakes run` row")
    parser.add_argument("--with-run", action="store_true", help="with --quick: keep the `botfakes run` row")
    parser.add_argument("--only", help=f"comma-separated parts to run: {','.join(PARTS)},run")
    parser.add_argument("--run-timeout", type=float, default=1200.0, help="bound of `botfakes run` (s)")
    args = parser.parse_args()
    timeout = 300.0 if args.quick else 900.0

    started = time.monotonic()
    rows: list[Row] = []
    only = set(args.only.split(",")) if args.only else set(PARTS) | {"run"}
    unknown = only - set(PARTS) - {"run"}
    if unknown:
        parser.error(f"unknown part(s) {', '.join(sorted(unknown))}; known: {', '.join(PARTS)}, run")
    for name, part in PARTS.items():
        if name in only:
            print(f"run_all: {name} ...", file=sys.stderr, flush=True)
            rows += part(args.quick, timeout)
    if "run" not in only:
        pass
    elif args.skip_run or (args.quick and not args.with_run):
        rows.append(Row("`botfakes run` (bundled bots, every scenario)", "skipped",
                        "--quick" if args.quick and not args.skip_run else "--skip-run"))
    else:
        print("run_all: botfakes run ...", file=sys.stderr, flush=True)
        rows += botfakes_run_row(args.run_timeout)

    print(f"\nbotfakes benchmarks{' (--quick)' if args.quick else ''}: Python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs, {time.monotonic() - started:.0f} s\n")
    print_table(rows)
    if args.json:
        Path(args.json).write_text(json.dumps([r.__dict__ for r in rows], indent=2))
    return 1 if any(r.value.startswith("FAILED") for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
