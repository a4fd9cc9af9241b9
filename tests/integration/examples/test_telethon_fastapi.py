"""Telethon behind FastAPI (examples/telethon-fastapi-*): seed 002's relay as deployed, two uvicorn
workers on one .session file, and the same relay with the seed's fix (one worker, one lock)."""

import importlib.util

import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (importlib.util.find_spec("fastapi") and importlib.util.find_spec("uvicorn")),
                       reason="fastapi and uvicorn are not installed"),
]

MTPROTO = {"trending_cold_start_burst", "shared_session_under_load"}


def test_two_workers_on_one_session_file_are_caught_with_database_is_locked(run_example):
    # The workers take turns connecting, so the second always finds the first one's uncommitted
    # entities on the file: it blocks for SQLite's 5 s busy timeout and fails.
    run = run_example("telethon-fastapi-buggy", keyword="shared_session_under_load")
    run.assert_caught("shared_session_under_load", "database-locked", "bug",
                      "sqlite3.OperationalError: database is locked")
    assert run.exit_code == 1, run.describe()


def test_one_worker_one_lock_passes_every_mtproto_scenario(run_example):
    run_example("telethon-fastapi-fixed").assert_all_passed(MTPROTO)
