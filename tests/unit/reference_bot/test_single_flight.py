"""Single-flight connect (seed 000): one attempt for concurrent callers, released on failure and cancellation."""

import asyncio

import pytest

from botfakes.reference_bot.telethon.single_flight import ConnectAborted, SingleFlight


class Connector:
    """Connects when released; counts attempts and can fail the next one."""

    def __init__(self):
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.fail_next: Exception | None = None
        self.attempts = 0

    async def __call__(self):
        self.attempts += 1
        self.started.set()
        await self.release.wait()
        if self.fail_next is not None:
            exc, self.fail_next = self.fail_next, None
            raise exc
        return f"client-{self.attempts}"


async def test_concurrent_callers_share_one_attempt():
    connector = Connector()
    flight = SingleFlight(connector)
    callers = [asyncio.create_task(flight.get()) for _ in range(10)]
    await connector.started.wait()
    assert flight.in_progress
    connector.release.set()
    assert await asyncio.gather(*callers) == ["client-1"] * 10
    assert connector.attempts == 1
    assert await flight.get() == "client-1"  # connected: no new attempt
    assert connector.attempts == 1


async def test_failure_reaches_every_waiter_and_frees_the_slot():
    connector = Connector()
    connector.fail_next = OSError("connection refused")
    flight = SingleFlight(connector)
    callers = [asyncio.create_task(flight.get()) for _ in range(3)]
    await connector.started.wait()
    connector.release.set()
    results = await asyncio.gather(*callers, return_exceptions=True)
    assert all(isinstance(r, OSError) for r in results)
    assert not flight.in_progress
    assert await flight.get() == "client-2"  # the next caller tries again
    assert connector.attempts == 2


async def test_cancelled_caller_does_not_cancel_the_attempt_others_wait_for():
    connector = Connector()
    flight = SingleFlight(connector)
    first = asyncio.create_task(flight.get())
    await connector.started.wait()
    second = asyncio.create_task(flight.get())
    await asyncio.sleep(0)  # let second reach its await
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert flight.in_progress
    connector.release.set()
    assert await second == "client-1"
    assert connector.attempts == 1


async def test_cancelled_attempt_frees_the_slot_and_waiters_get_connect_aborted():
    connector = Connector()
    flight = SingleFlight(connector)
    waiters = [asyncio.create_task(flight.get()) for _ in range(2)]
    await connector.started.wait()
    await flight.cancel()  # e.g. shutdown while connecting
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert all(isinstance(r, ConnectAborted) for r in results), results
    assert not flight.in_progress
    connector.release.set()
    assert await flight.get() == "client-2"


async def test_dead_value_is_replaced_by_a_new_attempt():
    alive = {"client-1": False}
    connector = Connector()
    connector.release.set()
    flight = SingleFlight(connector, is_alive=lambda v: alive.get(v, True))
    alive["client-1"] = True
    assert await flight.get() == "client-1"
    alive["client-1"] = False  # disconnected
    assert await flight.get() == "client-2"
