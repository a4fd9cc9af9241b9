"""Hostile frames against the fake Deriv API: each gets a reply in Deriv's envelope (strict JSON,
echo_req and msg_type, error code and message), nothing closes the connection with 1011, and a
ping is answered right after."""

from __future__ import annotations

import contextlib
import json

from hypothesis import HealthCheck, given, settings
from websockets.exceptions import ConnectionClosed

from .conftest import examples, long_run
from .strategies import deriv_frames
from .support import check_deriv_reply, deriv_alive, deriv_connect, deriv_recv_json

FUZZ = settings(max_examples=examples(25), deadline=None, derandomize=not long_run(), database=None,
                suppress_health_check=list(HealthCheck))
SENTINEL = 987654321
# codes the real server closes with on bad input: 1008 rate limit, 1009 message too big
EXPECTED_CLOSE = {1000, 1001, 1008, 1009}


def _is_sentinel(response: dict) -> bool:
    messages = (response.get("data") or {}).get("messages") or []
    return response["method"] == "ping" and bool(messages) and messages[0].get("req_id") == SENTINEL


def test_hostile_deriv_frames(fakes, no_tracebacks, fuzz_report):
    fakes.control.post("/deriv/limits", {"enabled": False})
    endpoint = fakes.fakes["deriv"].endpoint
    state = {"ws": None}
    connections = contextlib.ExitStack()

    def ws():
        if state["ws"] is None:
            state["ws"] = connections.enter_context(deriv_connect(endpoint))
        return state["ws"]

    @FUZZ
    @given(frame=deriv_frames())
    def one(frame):
        # The server may answer a connection's requests in any order (the real one hands them
        # to RPC workers), so the journal says how many messages answer this frame (none only
        # where the real server sends none, journaled "no_reply"); a ping's pong is the fence.
        fuzz_report.example()
        text, _ = frame
        conn = ws()
        since = fakes.control.get("/stats")["journal"]["last_seq"]
        try:
            conn.send(text)
            conn.send(json.dumps({"ping": 1, "req_id": SENTINEL}))
            got = 0
            while True:
                message = check_deriv_reply(deriv_recv_json(conn))
                if message.get("req_id") == SENTINEL and message.get("msg_type") == "ping":
                    break
                got += 1
            responses = fakes.control.wait(fake="deriv", kind="response", since=since, count=2, timeout=5)
            answer = [r for r in responses if not _is_sentinel(r)]
            expected = sum(len((r.get("data") or {}).get("messages") or []) for r in answer[:1])
            if answer and answer[0]["outcome"].get("code") == "no_reply":
                assert expected == 0
            else:
                assert expected >= 1, (text[:200], answer)
            while got < expected:
                check_deriv_reply(deriv_recv_json(conn))
                got += 1
        except ConnectionClosed as closed:
            state["ws"] = None
            code = closed.rcvd.code if closed.rcvd else 1006
            assert code in EXPECTED_CLOSE, f"closed {code} after {text[:200]!r}"
        except TimeoutError:
            raise AssertionError(f"no reply to {text[:300]!r}") from None
        deriv_alive(endpoint)
        found = no_tracebacks.take()
        assert not found, found

    with connections:
        one()
