"""Bad input gets the real server's envelope, and the fake keeps serving everyone else."""

from __future__ import annotations

import json
import socket
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest

from botfakes.fakes.botapi import errors as E


def send(url: str, body: bytes | None = None, content_type: str | None = None, method: str | None = None
         ) -> tuple[int, dict]:
    request = Request(url, data=body, method=method)
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def bot(botapi):
    token = botapi.new_bot()
    botapi.configure(rate_limits={"enabled": False})  # several sends to one chat within a second
    botapi.send_message(token, "hi", {"id": 5})  # so chat 5 exists for the bot
    return botapi, token


def still_serving(botapi, token: str) -> None:
    status, body = send(botapi.api_url(token, "getMe"))
    assert status == 200 and body["ok"] is True


@pytest.mark.parametrize("body, description", [
    (b'{"chat_id": 5, "text": ', E.MESSAGE_TEXT_EMPTY),  # cut short: fields before the fault count
    (b'{"text": "hi", "chat_id": 5,,}', None),  # both fields parsed before the fault: it is sent
    (b"not json at all", E.MESSAGE_TEXT_EMPTY),
    (b"[1, 2, 3]", E.MESSAGE_TEXT_EMPTY),
    (b'{"chat_id": {"nested": true}, "text": "hi"}', E.CHAT_NOT_FOUND),  # wrong type: read as 0
    (b'{"chat_id": 5, "text": 12345}', None),  # a number where a string goes: its JSON text
])
def test_malformed_json_and_wrong_types(bot, body, description):
    botapi, token = bot
    status, reply = send(botapi.api_url(token, "sendMessage"), body, "application/json")
    if description is None:
        assert status == 200 and reply["ok"] is True
    else:
        assert (status, reply) == (400, {"ok": False, "error_code": 400, "description": description})
    still_serving(botapi, token)


@pytest.mark.parametrize("method, query, description", [
    ("sendMessage", "text=hi", E.CHAT_ID_EMPTY),
    ("sendMessage", "chat_id=5", E.MESSAGE_TEXT_EMPTY),
    ("editMessageText", "text=x", E.MESSAGE_IDENTIFIER_NOT_SPECIFIED),
    ("deleteMessage", "message_id=1", E.CHAT_IDENTIFIER_NOT_SPECIFIED),
    ("deleteMessage", "chat_id=5", E.MESSAGE_IDENTIFIER_NOT_SPECIFIED),
    ("sendChatAction", "chat_id=5", E.WRONG_CHAT_ACTION),
    ("answerCallbackQuery", "", E.QUERY_ID_INVALID),
    ("getChat", "chat_id=abc", E.CHAT_NOT_FOUND),
    ("setMyCommands", "commands=%7Bnope", "Bad Request: can't parse commands JSON object"),
])
def test_missing_parameters(bot, method, query, description):
    botapi, token = bot
    status, reply = send(botapi.api_url(token, method) + "?" + query)
    assert (status, reply) == (400, {"ok": False, "error_code": 400, "description": description})
    still_serving(botapi, token)


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_oversized_body(bot, content_type):
    botapi, token = bot
    status, reply = send(botapi.api_url(token, "sendMessage"), b"x" * ((1 << 20) + 1), content_type)
    assert (status, reply) == (413, {"ok": False, "error_code": 413, "description": "Request Entity Too Large"})
    still_serving(botapi, token)


def test_broken_multipart(bot):
    botapi, token = bot
    status, reply = send(botapi.api_url(token, "sendMessage"), b"--x\r\n\r\nhi\r\n--x--", "multipart/form-data")
    assert (status, reply) == (400, {"ok": False, "error_code": 400, "description": "Bad Request: boundary not found"})
    status, reply = send(botapi.api_url(token, "sendMessage"), b"--x\r\n\r\nhi\r\n--x--",
                         "multipart/form-data; boundary=x")
    assert reply["description"] == "Bad Request: headers in multipart/form-data are empty"
    status, reply = send(botapi.api_url(token, "sendMessage"),
                         b"--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n--x--", "multipart/form-data; boundary=x")
    assert (status, reply["description"]) == (400, "Bad Request: field name in multipart/form-data not found")
    still_serving(botapi, token)


@pytest.mark.parametrize("path, status, description", [
    ("/", 404, E.NOT_FOUND),
    ("/favicon.ico", 404, E.NOT_FOUND),
    ("/botTOKEN", 404, E.NOT_FOUND),
    ("/bot/getMe", 401, E.INVALID_TOKEN),
    ("/botnocolon/getMe", 401, E.INVALID_TOKEN),
    ("/bot123:unknown/getMe", 401, E.UNAUTHORIZED),
    ("/botabc:def/getMe", 421, "Misdirected Request: unallowed token specified"),
])
def test_garbage_paths(botapi, path, status, description):
    token = botapi.new_bot()
    got = send(botapi.url + path)
    assert got == (status, {"ok": False, "error_code": status, "description": description})
    still_serving(botapi, token)


@pytest.mark.botfakes_expect("unsupported")  # calls what the fake does not serve, on purpose
def test_unknown_method_and_any_case(botapi):
    token = botapi.new_bot()
    assert send(botapi.api_url(token, "getMeNot")) == (404, {"ok": False, "error_code": 404,
                                                              "description": E.METHOD_NOT_FOUND})
    assert send(botapi.api_url(token, "GETme"))[1]["result"]["id"] == int(token.split(":")[0])
    # The method can also come as a parameter when the path ends after the token's slash.
    assert send(botapi.url + f"/bot{token}/?method=getMe")[1]["ok"] is True


def test_garbage_bytes_on_the_socket(botapi):
    token = botapi.new_bot()
    host, port = botapi.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"\x00\xffNOT HTTP AT ALL\r\n\r\n")
        status_line = sock.recv(100).split(b"\r\n")[0]
    assert status_line.startswith(b"HTTP/1.") and b" 400 " in status_line
    still_serving(botapi, token)


def test_all_body_encodings_agree(bot):
    botapi, token = bot
    url = botapi.api_url(token, "sendMessage")
    by_query = send(url + "?chat_id=5&text=q")[1]["result"]["text"]
    by_form = send(url, b"chat_id=5&text=f+%C3%A9", "application/x-www-form-urlencoded")[1]["result"]["text"]
    by_json = send(url, json.dumps({"chat_id": 5, "text": "j"}).encode(), "application/json")[1]["result"]["text"]
    multipart = (b'--B\r\nContent-Disposition: form-data; name="chat_id"\r\n\r\n5\r\n'
                 b'--B\r\nContent-Disposition: form-data; name="text"\r\n\r\nm\r\n--B--\r\n')
    by_multipart = send(url, multipart, "multipart/form-data; boundary=B")[1]["result"]["text"]
    assert [by_query, by_form, by_json, by_multipart] == ["q", "f \u00e9", "j", "m"]


def test_refused_requests_are_journaled(botapi):
    send(botapi.url + "/wp-admin")
    [response] = botapi.control.journal(fake="botapi", kind="response", ok=False)
    assert response["outcome"] == {"ok": False, "code": 404, "text": "Not Found"}
