"""The single-instance guard (seed 001): flock on DATA_DIR, recovered after kill -9 with no clean-up."""

import json
import os
import signal
import subprocess
import sys

import pytest

from botfakes.reference_bot.telegram.guard import (
    EXIT_ANOTHER_INSTANCE,
    AnotherInstanceRunning,
    InstanceGuard,
)

HOLD_LOCK = """
import sys
from botfakes.reference_bot.telegram.guard import InstanceGuard
g = InstanceGuard(sys.argv[1]); g.acquire()
print("locked", flush=True)
sys.stdin.read()
"""


def test_acquire_then_second_guard_is_refused_naming_the_holder(tmp_path):
    first = InstanceGuard(tmp_path)
    first.acquire()
    with pytest.raises(AnotherInstanceRunning) as info:
        InstanceGuard(tmp_path).acquire()
    assert info.value.holder["pid"] == os.getpid()
    assert f"pid {os.getpid()}" in str(info.value)
    assert str(tmp_path / "bot.lock") in str(info.value)
    first.release()


def test_release_lets_the_next_instance_in_and_keeps_the_file(tmp_path):
    with InstanceGuard(tmp_path):
        pass
    assert (tmp_path / "bot.lock").exists()  # never unlinked: see guard.py
    with InstanceGuard(tmp_path) as again:
        assert again.held


def test_stale_pid_file_content_does_not_block(tmp_path):
    # What a crashed PID-file bot leaves behind: the content is never trusted for the decision.
    (tmp_path / "bot.lock").write_text(json.dumps({"pid": 1, "host": "elsewhere"}))
    with InstanceGuard(tmp_path) as guard:
        assert json.loads((tmp_path / "bot.lock").read_text())["pid"] == os.getpid()
        assert guard.held


def test_lock_held_by_a_killed_process_is_free_without_clean_up(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(tmp_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(AnotherInstanceRunning) as info:
            InstanceGuard(tmp_path).acquire()
        assert info.value.holder["pid"] == holder.pid
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    # No rm, no stale detection: the kernel dropped the lock with the process.
    with InstanceGuard(tmp_path) as guard:
        assert guard.held


def test_second_bot_process_exits_non_zero_with_a_clear_message(tmp_path):
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": "123:abc", "DATA_DIR": str(tmp_path),
           "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9", "PORT": "0", "HOST": "127.0.0.1"}
    with InstanceGuard(tmp_path):
        proc = subprocess.run([sys.executable, "-m", "botfakes.reference_bot"], env=env,
                              capture_output=True, text=True, timeout=30)
    assert proc.returncode == EXIT_ANOTHER_INSTANCE
    assert "another instance of this bot is already running" in proc.stderr
    assert f"pid {os.getpid()}" in proc.stderr
