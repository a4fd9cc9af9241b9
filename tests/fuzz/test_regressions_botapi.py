"""Issue 13's Bot API findings, one test each, answered the way tdlib/telegram-bot-api does.

Where the real server's reader refuses a request (HttpReader: 431 headers too large, 501 method
not implemented, 400 for a body it cannot decode) it writes a bare status line with an empty body
and closes the connection; the method-level errors are the usual JSON envelope."""

from __future__ import annotations

import gzip
import json
from urllib.parse import quote

import pytest

from .support import botapi_alive, build_request, check_botapi_envelope, http_call, http_exchange, port_of

TOKEN = "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


@pytest.fixture
def api(fakes):
    port = port_of(fakes.url("botapi"))
    fakes.control.botapi.configure(rate_limits={"enabled": False})
    chat_id = fakes.control.botapi.send_message(TOKEN, "/start")["message"]["chat"]["id"]
    yield port, chat_id
    botapi_alive(port, TOKEN)


def post_json(port, method, body: str | bytes, headers=()):
    data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    return http_call(port, "POST", f"/bot{TOKEN}/{method}", [("Content-Type", "application/json"), *headers], data)


def test_deep_json_value_ends_the_parse_and_the_fields_before_it_count(api):
    port, chat_id = api
    deep = "[" * 1000 + "]" * 1000
    answer = post_json(port, "sendMessage", f'{{"chat_id": {chat_id}, "text": "hi", "reply_markup": {deep}}}')
    body = check_botapi_envelope(answer)
    assert answer.status == 200 and body["result"]["text"] == "hi"


def test_json_nesting_limit_is_100(api):
    port, chat_id = api
    for depth, sent in ((100, True), (101, False)):
        value = "[" * depth + "]" * depth
        answer = post_json(port, "sendMessage", f'{{"chat_id": {chat_id}, "x": {value}, "text": "hi"}}')
        body = check_botapi_envelope(answer)
        assert body["ok"] is sent, (depth, body)  # past the limit the parse stops before "text"


@pytest.mark.parametrize("name,depth", [("commands", 101), ("commands", 1000), ("scope", 1000)])
def test_deep_json_text_parameter_is_a_400(api, name, depth):
    port, _ = api
    params = {name: "[" * depth + "]" * depth}
    if name == "scope":
        params["commands"] = '[{"command": "a", "description": "b"}]'
    answer = http_call(port, "POST", f"/bot{TOKEN}/setMyCommands",
                       [("Content-Type", "application/x-www-form-urlencoded")],
                       "&".join(f"{k}={quote(v)}" for k, v in params.items()).encode())
    body = check_botapi_envelope(answer)
    assert answer.status == 400 and body["description"].startswith("Bad Request: can't parse"), body


def test_deep_allowed_updates_leave_the_setting_alone(api):
    # Client::update_allowed_update_types ignores a list it cannot parse; the poll goes on
    port, _ = api
    deep = quote("[" * 1000 + "]" * 1000)
    answer = http_call(port, "GET", f"/bot{TOKEN}/getUpdates?timeout=0&allowed_updates={deep}")
    assert check_botapi_envelope(answer)["ok"] is True


def test_lone_surrogate_is_a_string_that_does_not_parse(api):
    port, chat_id = api
    answer = post_json(port, "sendMessage", f'{{"chat_id": {chat_id}, "text": "\\ud800"}}')
    body = check_botapi_envelope(answer)
    assert (answer.status, body["description"]) == (400, "Bad Request: message text is empty")


@pytest.mark.parametrize("url", ["http://[x", "https://[::1", "["])
def test_unparseable_webhook_url_is_invalid(api, url):
    port, _ = api
    answer = http_call(port, "GET", f"/bot{TOKEN}/setWebhook?url={quote(url)}")
    body = check_botapi_envelope(answer)
    assert (answer.status, body["description"]) == (400, "Bad Request: invalid webhook URL specified")


def test_gzip_header_on_a_body_that_is_not_gzip(api):
    port, _ = api
    answer = post_json(port, "getMe", b"not gzip at all", headers=[("Content-Encoding", "gzip")])
    assert answer.status == 400 and answer.body == b""


def test_gzip_body_is_read(api):
    port, chat_id = api
    answer = post_json(port, "sendMessage", gzip.compress(json.dumps({"chat_id": chat_id, "text": "zip"}).encode()),
                       headers=[("Content-Encoding", "gzip")])
    assert check_botapi_envelope(answer)["result"]["text"] == "zip"


def test_long_get_request_line_is_legal(api):
    port, chat_id = api
    text = "Привет" * 500  # 3000 Cyrillic characters: an 18 KB request line
    answer = http_call(port, "GET", f"/bot{TOKEN}/sendMessage?chat_id={chat_id}&text={quote(text)}")
    assert len(quote(text)) > 16_000
    assert check_botapi_envelope(answer)["result"]["text"] == text


def test_many_and_long_headers_are_legal_up_to_256_kib(api):
    port, _ = api
    headers = [(f"X-Header-{i}", "v" * 100) for i in range(300)] + [("X-Long", "a" * 20_000)]
    answer = http_call(port, "GET", f"/bot{TOKEN}/getMe", headers)
    assert check_botapi_envelope(answer)["ok"] is True


def test_headers_over_256_kib_are_431(api):
    port, _ = api
    headers = [(f"X-Big-{i}", "a" * (70 << 10)) for i in range(4)]  # 280 KiB in all
    answer = http_call(port, "GET", f"/bot{TOKEN}/getMe", headers)
    assert answer is not None and answer.status == 431 and answer.body == b""


@pytest.mark.parametrize("verb", ["PUT", "DELETE", "OPTIONS", "PATCH", "TRACE"])
def test_other_http_methods_are_not_implemented(api, verb):
    port, _ = api
    answer = http_call(port, verb, f"/bot{TOKEN}/getMe")
    assert answer.status == 501 and answer.body == b""


def test_text_over_4096_characters_is_too_long(api):
    port, chat_id = api
    answer = post_json(port, "sendMessage", json.dumps({"chat_id": chat_id, "text": "я" * 4097}))
    body = check_botapi_envelope(answer)
    assert (answer.status, body["description"]) == (400, "Bad Request: message is too long")
    answer = post_json(port, "sendMessage", json.dumps({"chat_id": chat_id, "text": "я" * 4096}))
    assert check_botapi_envelope(answer)["ok"] is True


def test_malformed_http_logs_no_traceback(api, no_tracebacks):
    port, _ = api
    for raw in (b"GARBAGE\r\n\r\n", b"GET /x HTTP/9.9\r\n\r\n", b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
                build_request("POST", f"/bot{TOKEN}/getMe", [("Content-Encoding", "gzip")], b"xx")):
        answer = http_exchange(port, raw)
        assert answer is None or answer.status in (400, 505), answer
    assert no_tracebacks.take() == []
