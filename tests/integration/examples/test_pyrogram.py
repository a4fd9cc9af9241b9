"""Pyrogram (Kurigram) trending services (examples/pyrogram-trending-*): seed 000 in Python, through
`botfakes run` with session = "pyrogram" (the harness adds the Pyrogram preload)."""

import pytest

pytestmark = pytest.mark.slow

MTPROTO = {"trending_cold_start_burst", "shared_session_under_load"}


def test_a_client_per_request_is_caught_with_pyrogram_own_406(run_example):
    run = run_example("pyrogram-trending-buggy", keyword="trending_cold_start_burst")
    run.assert_caught("trending_cold_start_burst", "auth-key-duplicated", "bug", "406 AUTH_KEY_DUPLICATED")
    output = run.records["trending_cold_start_burst"]["output"]["A"]
    assert "Telegram says: [406 AUTH_KEY_DUPLICATED]" in output
    assert run.exit_code == 1, run.describe()


def test_one_client_behind_a_lock_passes_every_mtproto_scenario(run_example):
    run_example("pyrogram-trending-fixed").assert_all_passed(MTPROTO)
