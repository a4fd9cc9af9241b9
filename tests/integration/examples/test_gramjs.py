"""GramJS (npm telegram) trending services (examples/gramjs-trending-*): seed 000 in the bot's own
language, through `botfakes run` with session = "gramjs" (the harness adds the GramJS preload)."""

import pytest

pytestmark = pytest.mark.slow

MTPROTO = {"trending_cold_start_burst", "shared_session_under_load"}


def test_a_client_per_request_is_caught_with_gramjs_own_406(run_example):
    run = run_example("gramjs-trending-buggy", keyword="trending_cold_start_burst")
    run.assert_caught("trending_cold_start_burst", "auth-key-duplicated", "bug", "406 AUTH_KEY_DUPLICATED")
    output = run.records["trending_cold_start_burst"]["output"]["A"]
    assert "RPCError: 406: AUTH_KEY_DUPLICATED (caused by InvokeWithLayer)" in output
    assert run.exit_code == 1, run.describe()


def test_one_connect_promise_passes_every_mtproto_scenario(run_example):
    run_example("gramjs-trending-fixed").assert_all_passed(MTPROTO)
