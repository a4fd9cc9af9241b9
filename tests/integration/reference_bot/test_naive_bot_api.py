"""The naive Bot API variants (seeds 001, 004) show their 409s against the fake Bot API."""

from __future__ import annotations

import pytest

from .conftest import webhook_env

pytestmark = pytest.mark.slow
OTHER = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
WEBHOOK_ACTIVE = ("Conflict: can't use getUpdates method while webhook is active; "
                  "use deleteWebhook to delete the webhook first")


def conflict_texts(botapi, count: int) -> list[str]:
    events = botapi.control.wait(count=count, timeout=15, fake="botapi", kind="response", method="getUpdates",
                                 code=409)
    return [e["outcome"]["text"] for e in events]


def test_naive_no_instance_guard_two_instances_get_409(botapi, bot_env, run_bot):
    env = {**bot_env, "BOT_VARIANT": "naive_no_instance_guard"}
    run_bot(env)
    run_bot(env)  # the same DATA_DIR, and nothing stops it
    assert OTHER in conflict_texts(botapi, 1)


def test_naive_webhook_plus_polling_gets_409_webhook_active(botapi, bot_env, run_bot):
    bot = run_bot({**webhook_env(bot_env), "BOT_VARIANT": "naive_webhook_plus_polling"})
    assert bot.ready["mode"] == "webhook+polling"
    assert conflict_texts(botapi, 1) == [WEBHOOK_ACTIVE]
