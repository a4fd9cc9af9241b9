"""The proof variant's router against every reply order: only exploration can catch it.

Arrival and reverse order (what one forced interleaving tries) route every reply right; exactly
the orders in which the middle of three pending requests is answered while both ends still wait
cross replies, and the fewest-deviation such order is "the middle one first, then in order".
"""

from botfakes.fakes.control import schedules as s
from botfakes.reference_bot.deriv.router import Router
from botfakes.reference_bot.naive.deque_ends_router import DequeEndsRouter


async def crossed(router_cls, order) -> bool:
    """Send three requests, answer them in `order`; whether any caller got another's reply."""
    router = router_cls()
    calls = [router.expect() for _ in range(3)]
    for position in order:
        req_id = calls[position][0]
        router.route({"msg_type": "history", "req_id": req_id, "echo_req": {"n": position}})
    return any(fut.result()["echo_req"]["n"] != n for n, (_, fut) in enumerate(calls))


async def test_only_middle_first_orders_cross_replies():
    batch = [s.RequestIdentity("deriv", "conn1", "ticks_history", n) for n in (1, 2, 3)]
    verdicts = {}
    for order in s.distinct_orders(batch):
        verdicts[order] = await crossed(DequeEndsRouter, order)
        assert not await crossed(Router, order)  # the reference routes every order right
    assert verdicts[(0, 1, 2)] is False and verdicts[(2, 1, 0)] is False
    assert {o for o, bad in verdicts.items() if bad} == {(1, 0, 2), (1, 2, 0)}
    schedules = [((s.Batch(tuple(batch), o),), bad) for o, bad in verdicts.items()]
    assert s.minimal_failing(schedules)[0].order == (1, 0, 2)


async def test_two_pending_are_always_routed_right():
    for order in ((0, 1), (1, 0)):
        router = DequeEndsRouter()
        calls = [router.expect() for _ in range(2)]
        for position in order:
            router.route({"req_id": calls[position][0], "echo_req": {"n": position}})
        assert [fut.result()["echo_req"]["n"] for _, fut in calls] == [0, 1]
