"""Issue 13's control API findings: each wrongly typed, NaN/Infinity, out-of-range or unknown
field is a 400 naming the field, and none of them breaks a fake afterwards."""

from __future__ import annotations

import json

import pytest

from .support import (
    botapi_alive, check_control_envelope, deriv_alive, http_call, mtproto_alive, port_of,
)

TOKEN = "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"

CASES = [
    ("/botapi/bots", {"token": 5}, "token"),
    ("/botapi/bots", {"first_name": ["x"]}, "first_name"),
    ("/botapi/bots", {"token": "0:0"}, "token"),
    ("/botapi/bots", {"token": "99999999999999999:abc"}, "token"),
    (f"/botapi/bots/{TOKEN}/messages", {"text": "hi", "user": {"id": "x"}}, "user.id"),
    (f"/botapi/bots/{TOKEN}/messages", {"text": "hi", "chat": {"type": 5}}, "chat.type"),
    (f"/botapi/bots/{TOKEN}/callback_queries", {"data": "x", "message_id": "7"}, "message_id"),
    ("/botapi/config", {"conflict_repeat_delay": "x"}, "conflict_repeat_delay"),
    ("/botapi/config", {"rate_limits": {"per_chat": "x"}}, "rate_limits.per_chat"),
    ("/deriv/accounts", {"balance": "x"}, "balance"),
    ("/deriv/accounts", {"balance": 1e308}, "balance"),
    ("/deriv/limits", {"classes": {"general": {"per_minute": "x"}}}, "classes.general.per_minute"),
    ("/deriv/latency", {"method": 5, "delay": 0.01}, "method"),
    ("/deriv/market/interval", {"seconds": 1e-6}, "seconds"),
    ("/deriv/config", {"idle_timeout": -1}, "idle_timeout"),
    ("/deriv/reset", {"tick_interval": -5}, "tick_interval"),
    ("/faults", {"fake": "botapi", "action": "error", "error": {"error_code": "abc"}}, "error.error_code"),
    ("/faults", {"fake": "botapi", "action": "error", "error": {"error_code": 99999}}, "error.error_code"),
    ("/faults", {"fake": "deriv", "action": "close", "close_code": 1005}, "close_code"),
    ("/faults", {"action": "delay", "delay": "1"}, "delay"),
    ("/faults", {"action": "delay", "delay": 1, "bogus": True}, "bogus"),
    ("/gates", {"count": "2"}, "count"),
    ("/mtproto/users", {"first_name": 5}, "first_name"),
    ("/mtproto/bots", {"first_name": 5}, "first_name"),
    ("/mtproto/channels", {"title": 5}, "title"),
    ("/mtproto/sessions", {"user_id": "x"}, "user_id"),
    ("/mtproto/revive", {"key_id": [1]}, "key_id"),
    ("/mtproto/reset", {"posts_per_channel": "5"}, "posts_per_channel"),
    ("/mtproto/messages", {"from": 1, "to": 2, "text": 5}, "text"),
    # null where the fake reads the value as given
    ("/botapi/config", {"conflict_repeat_delay": None}, "conflict_repeat_delay"),
    ("/faults", {"fake": "botapi", "action": "error", "error": {"error_code": None}}, "error.error_code"),
    ("/deriv/limits", {"classes": {"general": {"calls": None}}}, "classes.general.calls"),
    ("/deriv/limits", {"enabled": None}, "enabled"),
]


@pytest.fixture
def control(fakes):
    port = port_of(fakes.control_url)
    yield port
    # nothing that was refused may have changed a fake: all of them serve (and the next test's
    # reset shows that reset still works)
    botapi_alive(port_of(fakes.url("botapi")), TOKEN)
    deriv_alive(fakes.fakes["deriv"].endpoint)
    mtproto = fakes.fakes["mtproto"]

    def post(path, body):
        return check_control_envelope(http_call(port, "POST", "/_control" + path,
                                                [("Content-Type", "application/json")], json.dumps(body).encode()))["result"]

    mtproto_alive(mtproto.host, mtproto.port, post)


def _post(port, path, raw: bytes):
    return http_call(port, "POST", "/_control" + path, [("Content-Type", "application/json")], raw)


@pytest.mark.parametrize("path,body,field", CASES, ids=[f"{p}:{f}" for p, _, f in CASES])
def test_wrong_field_is_400_naming_it(control, path, body, field):
    answer = _post(control, path, json.dumps(body).encode())
    envelope = check_control_envelope(answer)
    assert answer.status == 400, envelope
    assert envelope["description"].startswith(f"Bad Request: {field}"), envelope


@pytest.mark.parametrize("path,raw", [
    ("/faults", b'{"action": "delay", "delay": NaN}'),
    ("/faults", b'{"action": "delay", "delay": Infinity}'),
    ("/deriv/accounts", b'{"balance": -Infinity}'),
    ("/mtproto/users", b'{"first_name": "\\ud800"}'),
    ("/botapi/bots", b"[" * 5000),
])
def test_non_json_numbers_and_strings_are_400(control, path, raw):
    answer = _post(control, path, raw)
    envelope = check_control_envelope(answer)
    assert answer.status == 400 and envelope["description"].startswith("Bad Request: "), envelope


@pytest.mark.parametrize("query,field", [("timeout=nan", "timeout"), ("timeout=inf", "timeout"),
                                         ("count=x", "count"), ("timeout=-1", "timeout")])
def test_journal_wait_query_is_checked(control, query, field):
    answer = http_call(control, "GET", f"/_control/journal/wait?{query}", timeout=5)
    envelope = check_control_envelope(answer)
    assert answer.status == 400 and envelope["description"].startswith(f"Bad Request: {field}"), envelope


def test_journal_limit_must_be_a_number(control):
    answer = http_call(control, "GET", "/_control/journal?limit=x")
    assert check_control_envelope(answer)["description"].startswith("Bad Request: limit")


def test_a_valid_fault_still_works(control, fakes):
    answer = _post(control, "/faults", json.dumps({"fake": "botapi", "method": "getMe", "action": "error", "times": 1,
                                                   "error": {"error_code": 429, "description": "Too Many Requests: retry after 3",
                                                             "parameters": {"retry_after": 3}}}).encode())
    assert check_control_envelope(answer)["ok"]
    got = http_call(port_of(fakes.url("botapi")), "GET", f"/bot{TOKEN}/getMe")
    assert got.status == 429 and got.json()["parameters"] == {"retry_after": 3}
