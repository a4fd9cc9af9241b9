"""A plain `websockets` Deriv client in a PTB bot (examples/deriv-websockets-*): seed 003."""

import pytest

pytestmark = pytest.mark.slow

ALL = {"two_instances_polling", "restart_after_kill", "flood_control_retry_after",
       "deriv_replies_out_of_order", "deriv_disconnect_mid_subscription"}


def test_two_readers_are_caught_with_the_concurrency_error(run_example):
    run = run_example("deriv-websockets-buggy", keyword="deriv_replies_out_of_order")
    run.assert_caught("deriv_replies_out_of_order", "concurrent-recv", "bug",
                      "cannot call recv while another coroutine is already running recv")
    assert run.exit_code == 1, run.describe()


def test_one_reader_routing_by_req_id_passes_every_scenario(run_example):
    run_example("deriv-websockets-fixed").assert_all_passed(ALL)
