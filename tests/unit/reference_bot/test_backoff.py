"""The reference bot's one backoff (reference_bot/backoff.py): its delays and its retry policy."""

from __future__ import annotations

import asyncio
import logging
import random

import pytest

from botfakes.reference_bot.backoff import Backoff, retrying

log = logging.getLogger(__name__)


def test_each_delay_is_in_the_upper_half_of_its_doubling_step_up_to_the_cap():
    random.seed(7)
    backoff = Backoff(first=0.5, cap=4.0)
    for _ in range(200):
        backoff.reset()
        delays = [backoff.next() for _ in range(6)]
        for n, delay in enumerate(delays):
            step = min(4.0, 0.5 * 2**n)
            assert step / 2 <= delay <= step, (n, delay)
    assert backoff.failures == 6


def test_reset_starts_again_from_the_first_step():
    backoff = Backoff(first=1.0, cap=30.0)
    for _ in range(5):
        backoff.next()
    backoff.reset()
    assert 0.5 <= backoff.next() <= 1.0


def test_delays_are_jittered():
    draws = {Backoff(first=1.0).next() for _ in range(20)}
    assert len(draws) > 1


class Flaky(Exception):
    pass


class Fatal(Exception):
    pass


async def test_retrying_retries_matching_errors_up_to_the_attempts_then_raises_the_last():
    calls = []

    async def always_flaky():
        calls.append(1)
        raise Flaky(f"failure {len(calls)}")

    retry = retrying("op", lambda e: isinstance(e, Flaky), attempts=3, first=0.001, cap=0.002, log=log)
    with pytest.raises(Flaky, match="failure 3"):
        await retry(always_flaky)
    assert len(calls) == 3


async def test_retrying_returns_the_first_success_and_logs_each_retry(caplog):
    outcomes = iter([Flaky("once"), "done"])

    async def flaky_once():
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    retry = retrying("op", lambda e: isinstance(e, Flaky), attempts=3, first=0.001, cap=0.002, log=log)
    with caplog.at_level(logging.WARNING):
        assert await retry(flaky_once) == "done"
    assert [r.getMessage().split(";")[0] for r in caplog.records] == ["op failed: once"]


async def test_retrying_raises_other_errors_at_once():
    calls = []

    async def fatal():
        calls.append(1)
        raise Fatal("no retry can fix this")

    retry = retrying("op", lambda e: isinstance(e, Flaky), attempts=5, first=0.001, cap=0.002, log=log)
    with pytest.raises(Fatal):
        await retry(fatal)
    assert len(calls) == 1


async def test_a_set_stop_event_ends_each_wait_at_once():
    stop = asyncio.Event()
    stop.set()
    calls = []

    async def always_flaky():
        calls.append(1)
        raise Flaky()

    # 30 s waits: without the stop event this would not end within the bound below.
    retry = retrying("op", lambda e: isinstance(e, Flaky), attempts=3, first=30.0, cap=30.0, log=log, stop_event=stop)
    with pytest.raises(Flaky):
        await asyncio.wait_for(retry(always_flaky), 20)
    assert len(calls) == 3
