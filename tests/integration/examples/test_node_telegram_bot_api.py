"""node-telegram-bot-api 2.x, long polling (examples/ntba-polling-*): seed 001 and its PID lock."""

import pytest

pytestmark = pytest.mark.slow

POLLING = {"two_instances_polling", "restart_after_kill", "flood_control_retry_after"}


def test_unguarded_bot_is_caught_with_the_409(run_example):
    run = run_example("ntba-polling-buggy", keyword="two_instances_polling")
    run.assert_caught("two_instances_polling", "two-pollers", "bug",
                      "409 Conflict: terminated by other getUpdates request; make sure that only one "
                      "bot instance is running")
    assert run.exit_code == 1, run.describe()


def test_pid_lock_bot_passes_every_polling_scenario(run_example):
    # The stale-PID check lets the restart after kill -9 in; the library confirms each update only
    # after handling it and retries a 429 after retry_after by itself.
    run_example("ntba-polling-fixed").assert_all_passed(POLLING)
