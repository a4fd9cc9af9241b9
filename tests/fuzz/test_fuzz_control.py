"""Hostile bodies for every control route, generated from the route's own schema.

Invariant: never a 5xx, always the control envelope in strict JSON (400 naming the field for a
refused body), and nothing accepted breaks a fake: after each call (gates released, reset) every
fake still serves a valid request, and the reset itself still works."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from botfakes.fakes.botapi import schemas as botapi_schemas
from botfakes.fakes.control import schemas as plane_schemas
from botfakes.fakes.deriv import schemas as deriv_schemas
from botfakes.fakes.mtproto import schemas as mtproto_schemas

from .conftest import examples, long_run
from .schema_strategies import control_bodies
from .support import (
    botapi_alive, check_control_envelope, deriv_alive, http_call, mtproto_alive, port_of,
)

TOKEN = "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
FUZZ = settings(max_examples=examples(12), deadline=None, derandomize=not long_run(), database=None,
                suppress_health_check=list(HealthCheck))

PLANE_ROUTES = [
    ("POST", "/reset", plane_schemas.EmptyBody),
    ("POST", "/faults", plane_schemas.FaultBody),
    ("POST", "/faults", plane_schemas.FaultsBody),
    ("POST", "/gates", plane_schemas.GateBody),
    ("POST", "/gates/{gate}/release", plane_schemas.ReleaseBody),
    ("POST", "/journal/notes", plane_schemas.NoteBody),
    ("POST", "/connections/{conn}/close", plane_schemas.CloseConnectionBody),
    ("POST", "/deriv/connections/{conn}/close", plane_schemas.CloseConnectionBody),
    ("POST", "/mtproto/connections/{conn}/close", plane_schemas.CloseConnectionBody),
]
ROUTES = PLANE_ROUTES + [
    (method, f"/{name}{path}", model)
    for name, module in (("botapi", botapi_schemas), ("deriv", deriv_schemas), ("mtproto", mtproto_schemas))
    for method, path, model in module.ROUTE_SCHEMAS
]
GET_QUERIES = ["/journal", "/journal/wait", "/stats", "/faults", "/gates", "/fakes"]
QUERY_VALUES = ["", "1", "-1", "nan", "inf", "1e999", "abc", "0", "0.001", "99999999999999999999", "true"]
PATH_VALUES = {"{token}": [TOKEN, "1:x", "nope", "%00"], "{conn}": ["deriv#1", "mtproto#2", "x", "#"],
               "{channel}": ["1", "crypto_signals", "-5", "nope"], "{gate}": ["gate-1", "gate-999", "x"]}


def _fill(path: str, draw) -> str:
    for key, values in PATH_VALUES.items():
        if key in path:
            path = path.replace(key, draw(st.sampled_from(values)))
    return path


@st.composite
def control_calls(draw):
    if draw(st.integers(0, 5)) == 0:
        path = draw(st.sampled_from(GET_QUERIES))
        keys = draw(st.lists(st.sampled_from(["count", "timeout", "since", "limit", "kind", "fake", "ok",
                                              "code", "params.chat_id", "bogus"]), max_size=3, unique=True))
        query = "&".join(f"{k}={draw(st.sampled_from(QUERY_VALUES))}" for k in keys)
        if path == "/journal/wait" and "timeout" not in keys:
            query += ("&" if query else "") + "timeout=0"
        return "GET", path + ("?" + query if query else ""), b""
    method, path, model = draw(st.sampled_from(ROUTES))
    return method, _fill(path, draw), draw(control_bodies(model))


def _post(port):
    def post(path, body):
        answer = http_call(port, "POST", "/_control" + path, [("Content-Type", "application/json")],
                           json.dumps(body).encode())
        envelope = check_control_envelope(answer)
        assert envelope["ok"], envelope
        return envelope["result"]
    return post


def _lenient_probe(fakes, control_port) -> None:
    """With the call's rules still armed: whatever answers must be well-formed (a rule that
    drops or delays is skipped: not answering is what it is for)."""
    rules = check_control_envelope(http_call(control_port, "GET", "/_control/faults"))["result"]
    if any(r.get("action") in ("drop", "delay") or r.get("delay") or r.get("jitter") for r in rules):
        return
    botapi_port = port_of(fakes.url("botapi"))
    answer = http_call(botapi_port, "GET", f"/bot{TOKEN}/getMe", timeout=3)
    if answer is not None:
        assert answer.status < 600 and (not answer.body or answer.json()), answer


def test_hostile_control_bodies(fakes, no_tracebacks, fuzz_report):
    control_port = port_of(fakes.control_url)
    botapi_port = port_of(fakes.url("botapi"))
    deriv_endpoint = fakes.fakes["deriv"].endpoint
    mtproto = fakes.fakes["mtproto"]
    post = _post(control_port)

    @FUZZ
    @given(call=control_calls())
    def one(call):
        fuzz_report.example()
        method, path, body = call
        answer = http_call(control_port, method, "/_control" + path,
                           [("Content-Type", "application/json")] if body else [], body, timeout=15)
        assert answer is not None, f"no answer to {method} {path}"
        envelope = check_control_envelope(answer)
        if not envelope["ok"] and answer.status == 400:
            assert ":" in envelope["description"], envelope  # "Bad Request: <field>: <why>"
        check_control_envelope(http_call(control_port, "DELETE", "/_control/gates"))
        _lenient_probe(fakes, control_port)
        reset = check_control_envelope(http_call(control_port, "POST", "/_control/reset", timeout=15))
        assert reset["ok"], reset
        botapi_alive(botapi_port, TOKEN)
        deriv_alive(deriv_endpoint)
        mtproto_alive(mtproto.host, mtproto.port, post)
        found = no_tracebacks.take()
        assert not found, (method, path, body[:300], found)

    one()
