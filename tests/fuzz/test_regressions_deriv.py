"""Issue 13's Deriv findings, one test each.

The real server decodes frames with Cpanel::JSON::XS (max_depth 512, no NaN/Infinity): what it
cannot decode is `BadRequest` / "The application sent an invalid request.". Every request gets a
reply, including one whose call value has the wrong type (InputValidationFailed)."""

from __future__ import annotations

import json

import pytest

from .support import check_deriv_reply, deriv_alive, deriv_connect, deriv_recv_json, strict_loads


@pytest.fixture
def ws(fakes):
    fakes.control.post("/deriv/limits", {"enabled": False})
    endpoint = fakes.fakes["deriv"].endpoint
    with deriv_connect(endpoint) as conn:
        yield conn
    deriv_alive(endpoint)


def ask(conn, frame: str) -> dict:
    conn.send(frame)
    return check_deriv_reply(deriv_recv_json(conn))


def test_passthrough_nested_past_the_decoder_depth_is_a_bad_request(ws):
    reply = ask(ws, '{"ping": 1, "req_id": 1, "passthrough": ' + '{"a":' * 980 + "1" + "}" * 980 + "}")
    assert reply["error"]["code"] == "BadRequest" and reply["msg_type"] == "error"
    assert ask(ws, '{"ping": 1, "req_id": 2}')["ping"] == "pong"


def test_passthrough_within_the_depth_is_echoed(ws):
    deep = json.loads('{"a":' * 100 + "1" + "}" * 100)
    reply = ask(ws, json.dumps({"ping": 1, "req_id": 3, "passthrough": deep}))
    assert reply["passthrough"] == deep


@pytest.mark.parametrize("request_", [{"ticks": {}, "req_id": 1}, {"ticks": 5, "req_id": 1},
                                      {"ticks": [5], "req_id": 1}])
def test_every_malformed_request_gets_a_reply(ws, request_):
    reply = ask(ws, json.dumps(request_))
    assert reply["req_id"] == 1 and reply["error"]["code"] == "InputValidationFailed", reply


@pytest.mark.parametrize("request_", [{"ticks": [], "req_id": 1}, {"ticks": [], "subscribe": 1, "req_id": 1}])
def test_ticks_naming_no_symbol_is_answered_with_nothing_and_journaled_so(fakes, ws, request_):
    # The real server's ticks handler loops over the symbols it was given, each one answering for
    # itself: an empty list answers nothing. The journal says so instead of "ok".
    ws.send(json.dumps(request_))
    assert ask(ws, '{"ping": 1, "req_id": 2}')["ping"] == "pong"
    [response] = fakes.control.wait(fake="deriv", kind="response", method="ticks", count=1, timeout=5)
    assert response["outcome"]["code"] == "no_reply" and response["data"]["messages"] == []


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(ws, token):
    conn = ws
    conn.send(f'{{"ping": 1, "req_id": {token}}}')
    raw = conn.recv(timeout=5)
    reply = check_deriv_reply(strict_loads(raw))
    assert reply["error"]["code"] == "BadRequest"


def _proposal(amount, basis="stake"):
    return {"proposal": 1, "amount": amount, "basis": basis, "contract_type": "CALL", "currency": "USD",
            "duration": 5, "duration_unit": "t", "symbol": "R_50", "req_id": 7}


@pytest.mark.parametrize("amount,basis", [(1e308, "stake"), (1e308, "payout"), (60_000, "payout"),
                                          (40_000, "stake")])
def test_proposals_past_the_payout_limit_are_refused(ws, amount, basis):
    ws.send(json.dumps(_proposal(amount, basis)))
    raw = ws.recv(timeout=5)
    reply = check_deriv_reply(strict_loads(raw))  # strict: no "payout": Infinity
    assert reply["error"]["code"] == "ContractBuyValidationError", reply
    assert "maximum payout of 50000.00" in reply["error"]["message"]
