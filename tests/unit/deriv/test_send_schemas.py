"""The request schemas in send_schemas.json: well-formed draft-4 documents of botfakes' own, and the
compiled fast path agreeing with jsonschema on every request it waves through or refuses."""

from __future__ import annotations

import json
from importlib import resources

import fastjsonschema
import pytest
from jsonschema import Draft4Validator

from botfakes.fakes.deriv import schema

DOCUMENT = json.loads(
    resources.files("botfakes.fakes.deriv").joinpath("send_schemas.json").read_text("utf-8"))


def test_the_document_says_it_is_our_own_transcription():
    note = DOCUMENT["_source"]
    assert note.startswith("botfakes' own transcription")
    assert "://" not in note and "github" not in note.lower()


@pytest.mark.parametrize("name", schema.CALL_ORDER)
def test_every_served_call_has_a_closed_draft4_schema(name):
    document = DOCUMENT[name]
    Draft4Validator.check_schema(document)
    assert document["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert document["additionalProperties"] is False
    assert document["required"][0] == name
    assert set(document["required"]) <= set(document["properties"])


def test_the_document_holds_only_served_calls():
    assert set(DOCUMENT) - {"_source"} == set(schema.CALL_ORDER)


BUY = {"buy": "1", "price": 10,
       "parameters": {"contract_type": "CALL", "currency": "USD", "symbol": "R_50"}}

# (call, request, the details the server words, or None for a valid request)
CASES = [
    ("ping", {"ping": 1}, None),
    ("ping", {"ping": 1.0}, {"ping": "Expected integer - got number."}),
    ("ping", {"ping": True}, {"ping": "Expected integer - got boolean."}),
    ("ticks", {"ticks": ["R_50", "1HZ100V"], "subscribe": 1}, None),
    # \w is ASCII in ECMA-262 patterns, so a non-ASCII letter breaks ^\w{2,30}$
    ("ticks", {"ticks": "R_\u00e90"}, {"ticks": r"String does not match ^\w{2,30}$."}),
    ("ticks", {"ticks": ["R_50", "x"]}, {"ticks/1": r"String does not match ^\w{2,30}$."}),
    ("forget_all", {"forget_all": ["ticks", "balance"]}, None),
    ("forget_all", {"forget_all": 3}, {"forget_all": "Expected string/array - got integer."}),
    ("ticks_history", {"ticks_history": "R_50", "end": "latest", "granularity": 60,
                       "style": "candles"}, None),
    ("ticks_history", {"ticks_history": "R_50", "end": "latest", "start": -1},
     {"start": "-1 < minimum(0)"}),
    ("balance", {"balance": 1, "account": "all", "subscribe": 0}, None),
    ("buy", BUY, None),
    ("buy", {**BUY, "parameters": {**BUY["parameters"], "limit_order": {"stop_loss": 1, "x": 2}}},
     {"parameters/limit_order": "Properties not allowed: x."}),
    ("buy", {**BUY, "parameters": {**BUY["parameters"], "duration_unit": "w"}},
     {"parameters/duration_unit": "Not in enum list: d, m, s, h, t."}),
    ("authorize", {"authorize": "a" * 129},
     {"authorize": r"String does not match ^[\w\-]{1,128}$."}),
    ("authorize", {"authorize": "tok", "tokens": ["t"] * 26}, {"tokens": "Too many items: 26/25."}),
]


@pytest.mark.parametrize(("name", "request_", "details"), CASES)
def test_fast_path_and_jsonschema_agree_and_findings_are_worded(name, request_, details):
    spec = schema.CALLS[name]
    try:
        spec.fast_check(request_)
        fast_valid = True
    except fastjsonschema.JsonSchemaException:
        fast_valid = False
    assert fast_valid == spec.validator.is_valid(request_) == (details is None)
    found = schema.validate(spec, request_)
    assert (found and found[0]) == details
