"""req_id routing (seed 003): out-of-order replies, missing replies, streams, lost connections."""

import asyncio

import pytest

from botfakes.reference_bot.deriv.router import ConnectionLost, Router, Stream


def reply(req_id, **body):
    return {"echo_req": {"req_id": req_id}, "msg_type": next(iter(body), "ping"), "req_id": req_id, **body}


async def test_out_of_order_replies_reach_their_own_callers():
    router = Router()
    ids_futs = [router.expect() for _ in range(5)]
    for req_id, _ in reversed(ids_futs):
        assert router.route(reply(req_id, ping=f"pong-{req_id}")) == "reply"
    for req_id, fut in ids_futs:
        assert (await fut)["ping"] == f"pong-{req_id}"
    assert router.pending_count == 0


async def test_missing_reply_times_out_and_a_late_reply_is_not_given_to_anyone_else():
    router = Router()
    late_id, late = router.expect()
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(asyncio.shield(late), 0)  # the caller gives up at once
    router.forget_request(late_id)
    next_id, next_fut = router.expect()
    assert router.route(reply(late_id, ping="late")) == "unmatched"
    assert not next_fut.done()
    router.route(reply(next_id, ping="mine"))
    assert (await next_fut)["ping"] == "mine"
    assert router.unmatched == 1


async def test_req_ids_are_never_reused():
    router = Router()
    seen = {router.expect()[0] for _ in range(100)}
    assert len(seen) == 100 and min(seen) >= 1


async def test_stream_is_registered_with_its_first_reply_so_no_tick_is_lost():
    router = Router()
    stream = Stream(request={"ticks": "R_50", "subscribe": 1})
    req_id, fut = router.expect(stream)
    sub = {"id": "abc"}
    router.route({**reply(req_id, tick={"quote": 1}), "msg_type": "tick", "subscription": sub})
    # The next tick arrives before the subscriber even looked at its reply:
    assert router.route({**reply(req_id, tick={"quote": 2}), "msg_type": "tick", "subscription": sub}) == "stream"
    assert (await fut)["tick"]["quote"] == 1
    assert stream.queue.get_nowait()["tick"]["quote"] == 2
    # A plain request with a reused-looking req_id is not confused with the stream:
    other_id, other = router.expect()
    router.route(reply(other_id, ping="pong"))
    assert (await other)["ping"] == "pong"


async def test_error_reply_to_subscribe_registers_no_stream():
    router = Router()
    stream = Stream(request={"ticks": "NOPE", "subscribe": 1})
    req_id, fut = router.expect(stream)
    router.route({**reply(req_id), "error": {"code": "InvalidSymbol", "message": "Symbol NOPE is invalid."}})
    assert (await fut)["error"]["code"] == "InvalidSymbol"
    assert router.streams == []


async def test_ticks_of_a_dropped_stream_are_unmatched():
    router = Router()
    stream = Stream(request={"ticks": "R_50", "subscribe": 1})
    req_id, _ = router.expect(stream)
    router.route({**reply(req_id, tick={}), "subscription": {"id": "s1"}})
    router.drop_stream(stream)
    assert router.route({**reply(req_id, tick={}), "subscription": {"id": "s1"}}) == "unmatched"


async def test_connection_lost_fails_pending_and_returns_streams_to_resubscribe():
    router = Router()
    stream = Stream(request={"ticks": "R_50", "subscribe": 1})
    sid, _ = router.expect(stream)
    router.route({**reply(sid, tick={}), "subscription": {"id": "s1"}})
    _, pending = router.expect()
    streams = router.connection_lost(OSError("reset"))
    with pytest.raises(ConnectionLost):
        await pending
    assert streams == [stream] and stream.server_id is None
    assert router.streams == []
