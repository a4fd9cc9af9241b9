"""The envelope and the early errors: BadRequest, SanityCheckFailed, UnrecognisedRequest,
InputValidationFailed, echo_req, req_id and passthrough."""

from __future__ import annotations

import json

import pytest

from botfakes.fakes.deriv import envelope, schema
from botfakes.fakes.deriv.core import DerivCore


@pytest.fixture
def core():
    return DerivCore(seed=7, start_epoch=1_700_000_000, backfill=50)


def one(core, frame):
    session = core.sessions.get("c") or core.connect("c")
    result = core.handle_frame(session, frame if isinstance(frame, (str, bytes))
                               else json.dumps(frame))
    assert len(result.replies) == 1, result.replies
    return result.replies[0]


def test_ping_reply_has_echo_req_msg_type_and_req_id(core):
    assert one(core, {"ping": 1, "req_id": 5}) == {
        "echo_req": {"ping": 1, "req_id": 5}, "msg_type": "ping", "ping": "pong", "req_id": 5}


def test_encoded_reply_is_compact_with_sorted_keys(core):
    text = envelope.encode(one(core, {"ping": 1, "req_id": 1}))
    assert text == '{"echo_req":{"ping":1,"req_id":1},"msg_type":"ping","ping":"pong","req_id":1}'


def test_passthrough_is_echoed_and_no_req_id_when_not_sent(core):
    reply = one(core, {"time": 1, "passthrough": {"mine": [1, 2]}})
    assert reply["passthrough"] == {"mine": [1, 2]}
    assert "req_id" not in reply
    assert reply["time"] == 1_700_000_000


@pytest.mark.parametrize("frame", ["not json", "{", b"\xff\xfe", "[1, 2]", '"ping"', "42", "null"])
def test_not_a_json_object_is_bad_request(core, frame):
    assert one(core, frame) == {
        "echo_req": {},
        "error": {"code": "BadRequest", "message": "The application sent an invalid request."},
        "msg_type": "error"}


def test_binary_frame_with_json_is_served_like_text(core):
    assert one(core, b'{"ping":1,"req_id":3}')["ping"] == "pong"


def test_unknown_call_is_unrecognised_with_msg_type_error(core):
    assert one(core, {"fly_me_to_the_moon": 1, "req_id": 9}) == {
        "echo_req": {"fly_me_to_the_moon": 1, "req_id": 9},
        "error": {"code": "UnrecognisedRequest", "message": "Unrecognised request"},
        "msg_type": "error", "req_id": 9}


@pytest.mark.parametrize("request_", [
    {"ping": 1, "bad key": 1},
    {"ping": 1, "k" * 51: 1},
    {"ping": 1, "passthrough": {"a b": 1}},
    {"ping": 1, "passthrough": {"x": "a\x00b"}},
    {"ticks": ["R_50", "x" * 301]},
    {"ping": 1, "note": "y" * 301},
])
def test_sanity_check_failures(core, request_):
    reply = one(core, {**request_, "req_id": 4})
    assert reply == {
        "echo_req": {},
        "error": {"code": "SanityCheckFailed", "message": "Parameters sanity check failed."},
        "msg_type": "sanity_check", "req_id": 4}


def test_sanity_allows_unicode_letters_and_printable_ascii(core):
    reply = one(core, {"ping": 1, "passthrough": {"note": "Ünïcødé 日本 !#$%&'()*+,-./:;<=>?@[]^_`{|}~"}})
    assert reply["ping"] == "pong"


def test_enum_violation_details(core):
    reply = one(core, {"ping": 2, "req_id": 1})
    assert reply["error"] == {"code": "InputValidationFailed",
                              "message": "Input validation failed: ping",
                              "details": {"ping": "Not in enum list: 1."}}
    assert reply["msg_type"] == "ping"


def test_type_violation_details(core):
    reply = one(core, {"ping": "1"})
    assert reply["error"]["details"] == {"ping": "Expected integer - got string."}


def test_req_id_must_be_an_integer(core):
    reply = one(core, {"ping": 1, "req_id": "abc"})
    assert reply["error"]["details"] == {"req_id": "Expected integer - got string."}
    assert reply["req_id"] == "abc"


def test_property_not_allowed_goes_in_the_message_only(core):
    reply = one(core, {"ping": 1, "foo": 1})
    assert reply["error"] == {"code": "InputValidationFailed",
                              "message": "Input validation failed: Properties not allowed: foo."}


def test_missing_properties_are_each_listed(core):
    reply = one(core, {"proposal": 1, "symbol": "R_50"})
    assert reply["error"]["message"] == "Input validation failed: contract_type, currency"
    assert reply["error"]["details"] == {"contract_type": "Missing property.",
                                         "currency": "Missing property."}


def test_pattern_violation_and_sensitive_echo(core):
    reply = one(core, {"authorize": "has space", "req_id": 2})
    assert reply["echo_req"] == {"authorize": "<not shown>", "req_id": 2}
    assert reply["error"]["details"] == {"authorize": r"String does not match ^[\w\-]{1,128}$."}


def test_invalid_token(core):
    reply = one(core, {"authorize": "nope"})
    assert reply["error"] == {"code": "InvalidToken", "message": "The token is invalid."}
    assert reply["msg_type"] == "authorize"
    assert "details" not in reply["error"]


@pytest.mark.parametrize("call", ["balance", "buy", "proposal_open_contract"])
def test_calls_needing_auth_say_please_log_in(core, call):
    request = {"balance": {"balance": 1}, "buy": {"buy": "1", "price": 1},
               "proposal_open_contract": {"proposal_open_contract": 1}}[call]
    reply = one(core, request)
    assert reply["error"] == {"code": "AuthorizationRequired", "message": "Please log in."}
    assert reply["msg_type"] == call


def test_validation_comes_before_auth(core):
    reply = one(core, {"balance": 2})
    assert reply["error"]["code"] == "InputValidationFailed"


def test_nested_object_validation(core):
    reply = one(core, {"buy": "1", "price": 10, "parameters": {"symbol": "R_50", "amount": -1}})
    details = reply["error"]["details"]
    assert details["parameters/contract_type"] == "Missing property."
    assert details["parameters/amount"] == "-1 < minimum(0)"


def test_ticks_accepts_string_or_array_only(core):
    reply = one(core, {"ticks": 5})
    assert reply["error"]["code"] == "InputValidationFailed"
    assert reply["error"]["details"]["ticks"].startswith("Expected string/array - got integer")


def test_every_spec_lists_req_id_and_passthrough():
    for spec in schema.CALLS.values():
        assert {"req_id", "passthrough", spec.name} <= set(spec.fields)
        assert spec.required[0] == spec.name
