"""python-telegram-bot 22, long polling (examples/ptb-polling-*): seed 001's two pollers."""

import pytest

pytestmark = pytest.mark.slow

POLLING = {"two_instances_polling", "restart_after_kill", "flood_control_retry_after"}


def test_plain_run_polling_is_caught_with_the_409(run_example):
    run = run_example("ptb-polling-buggy", keyword="two_instances_polling")
    run.assert_caught("two_instances_polling", "two-pollers", "bug",
                      "409 Conflict: terminated by other getUpdates request; make sure that only one "
                      "bot instance is running")
    assert run.exit_code == 1, run.describe()


def test_locked_at_least_once_rate_limited_bot_passes_every_polling_scenario(run_example):
    run_example("ptb-polling-fixed").assert_all_passed(POLLING)
