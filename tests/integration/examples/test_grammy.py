"""grammY behind Express (examples/grammy-express-*): seed 004's bot.start() beside a webhook."""

import pytest

pytestmark = pytest.mark.slow

WEBHOOK = {"webhook_mode_never_polls", "forged_webhook_requests"}


def test_bot_start_beside_the_webhook_route_is_caught(run_example):
    run = run_example("grammy-express-buggy",
                      keyword="webhook_mode_never_polls or forged_webhook_requests")
    run.assert_caught("webhook_mode_never_polls", "polling-while-webhook", "bug",
                      "409 Conflict: can't use getUpdates method while webhook is active")
    assert "GrammyError: Call to 'getUpdates' failed! (409: Conflict:" in \
        run.records["webhook_mode_never_polls"]["output"]["A"]
    # Its route hands every POST to bot.handleUpdate without checking the secret.
    run.assert_caught("forged_webhook_requests", "forged-webhook", "bug", "a forged update was handled")
    assert run.exit_code == 1, run.describe()


def test_webhook_callback_bot_passes_every_webhook_scenario(run_example):
    run_example("grammy-express-fixed").assert_all_passed(WEBHOOK)
