"""aiogram 3, webhook on aiohttp (examples/aiogram-webhook-*): seed 004's polling beside a webhook."""

import pytest

pytestmark = pytest.mark.slow

WEBHOOK = {"webhook_mode_never_polls", "forged_webhook_requests"}


def test_start_polling_beside_the_webhook_is_caught_with_the_409(run_example):
    run = run_example("aiogram-webhook-buggy", keyword="webhook_mode_never_polls")
    run.assert_caught("webhook_mode_never_polls", "polling-while-webhook", "bug",
                      "409 Conflict: can't use getUpdates method while webhook is active")
    assert "TelegramConflictError" in run.records["webhook_mode_never_polls"]["output"]["A"]
    assert run.exit_code == 1, run.describe()


def test_webhook_only_bot_passes_every_webhook_scenario(run_example):
    # set_webhook_failure_falls_back_to_polling needs a polling part: skipped for a webhook-only bot.
    run_example("aiogram-webhook-fixed").assert_all_passed(WEBHOOK)
