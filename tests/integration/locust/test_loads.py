"""Each Locust load, run headless with few users until each of its requests was made, as its own process.

Locust monkey-patches the process with gevent (which breaks pytest-xdist workers), so every load
runs as `locust -f locustfiles/<load>.py ...` in a subprocess that starts its own fakes and bots.
What is checked is what a user of the load relies on: the exit code (thresholds and the load's own
checks decide it), Locust's CSV (requests made, none failed) and the HTML report.

These test the plumbing, not the speed (that is benchmarks/' job), so nothing here depends on how
fast the machine is: the p95 threshold is lifted, replies may take a minute, and a run ends when
every kind of request was made (`LOAD_UNTIL_SEEN`), not after a fixed time.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
LOCUSTFILES = ROOT / "locustfiles"
LOCUST = str(Path(sys.executable).with_name("locust"))

# -t only bounds a broken run; a working one ends on LOAD_UNTIL_SEEN long before.
RUN_BOUND_S = 120
PLUMBING_ENV = {"LOCUST_MAX_P95_MS": "inf", "LOAD_REPLY_TIMEOUT": "60"}


def run_load(name: str, tmp_path: Path, *args: str, until: list[str], users: int = 4,
             env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess, Path]:
    prefix = tmp_path / name
    cmd = [LOCUST, "-f", str(LOCUSTFILES / f"{name}.py"), "--headless", "-u", str(users), "-r", str(users),
           "-t", f"{RUN_BOUND_S}s", "--csv", str(prefix), "--html", f"{prefix}.html", "--only-summary",
           "--stop-timeout", "5", *args]
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **PLUMBING_ENV,
                "LOAD_UNTIL_SEEN": ",".join(until), **(env or {})}
    # Bound of a hung run: the run's own bound plus the targets' start and stop.
    proc = subprocess.run(cmd, cwd=tmp_path, env=full_env, capture_output=True, text=True, timeout=RUN_BOUND_S + 180)
    return proc, prefix


def stats_rows(prefix: Path) -> dict[str, dict[str, str]]:
    with open(f"{prefix}_stats.csv", newline="") as f:
        return {f"{row['Type']} {row['Name']}".strip(): row for row in csv.DictReader(f)}


def assert_clean_run(proc: subprocess.CompletedProcess, prefix: Path, *names: str) -> dict:
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "BOTFAKES LOAD OK" in proc.stderr
    rows = stats_rows(prefix)
    total = rows["Aggregated"]
    assert int(total["Request Count"]) > 0 and int(total["Failure Count"]) == 0, total
    for name in names:
        assert int(rows[name]["Request Count"]) > 0, (name, sorted(rows))
    html = Path(f"{prefix}.html").read_text()
    name = names[0].split(" ", 1)[1]
    assert "Locust" in html and (name in html or name.replace(">", "\\u003e") in html), name
    return rows


TELEGRAM = ["telegram polling /help -> reply", "telegram webhook /help -> reply"]
TRENDING = ["GET /trending-coins", "GET /trending-channels", "GET /trending-topics"]
DERIV = ["WS ping", "WS history", "WS tick", "WS tick stream message", "WS forget"]
FAKES = ["POST sendMessage", "GET getMe", "WS ping", "GET control stats"]


def test_telegram_users_polling_and_webhook(tmp_path):
    proc, prefix = run_load("telegram_users", tmp_path, until=TELEGRAM)
    assert_clean_run(proc, prefix, *TELEGRAM)


def test_telegram_users_with_two_processes(tmp_path):
    """Locust's own distribution on one machine: a master and two forked workers share the
    targets the master started before forking; the master's aggregated CSV has both modes."""
    proc, prefix = run_load("telegram_users", tmp_path, "--processes", "2", users=4, until=TELEGRAM)
    assert_clean_run(proc, prefix, *TELEGRAM)
    assert proc.stderr.count("reported as ready") == 2, proc.stderr[-3000:]


def test_trending_api_reference_bot_has_no_406_and_no_lock(tmp_path):
    proc, prefix = run_load("trending_api", tmp_path, users=6, until=TRENDING)
    assert_clean_run(proc, prefix, *TRENDING)


def test_trending_api_catches_seed_000_in_the_naive_bot(tmp_path):
    """The same load against the per-request-client variant, its race forced by a gate: the
    exit code is 1 and the verdict names the 406 in the journal."""
    proc, prefix = run_load("trending_api", tmp_path, users=3, until=TRENDING, env={
        "BOT_VARIANT": "naive_client_per_request", "LOAD_HOLD_CONNECTS": "2"})
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "BOTFAKES LOAD FAILED" in proc.stderr
    assert "406 answers in the MTProto fake's journal (first: AUTH_KEY_DUPLICATED)" in proc.stderr
    assert int(stats_rows(prefix)["Aggregated"]["Failure Count"]) > 0


def test_deriv_clients_route_every_reply_by_req_id(tmp_path):
    proc, prefix = run_load("deriv_clients", tmp_path, users=8, until=["WS connect=8", *DERIV])
    rows = assert_clean_run(proc, prefix, *DERIV)
    # One connection per user, however many requests it made.
    assert int(rows["WS connect"]["Request Count"]) == 8


def test_fakes_alone_and_a_broken_threshold(tmp_path):
    proc, prefix = run_load("fakes_alone", tmp_path, users=7, until=FAKES)
    assert_clean_run(proc, prefix, *FAKES)
    # The same load with a latency bound no run can meet (from the environment, as CI would set
    # it) must exit non-zero and say why.
    proc, prefix = run_load("fakes_alone", tmp_path, users=7, until=FAKES, env={"LOCUST_MAX_P95_MS": "-1"})
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "BOTFAKES LOAD FAILED" in proc.stderr and "ms > -1 ms" in proc.stderr
