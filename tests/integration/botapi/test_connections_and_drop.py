"""Connections in the journal (connect/disconnect per TCP connection, across a reset) and the
"drop" rule: the request is received and never answered while the connection stays open."""

from __future__ import annotations

import http.client
import json
import socket

BOUND = 10.0  # bounds a broken run


def raw_request(sock: socket.socket, path: str) -> None:
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())


def is_open(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(1) != b""  # data would mean an answer; b"" means closed
    except BlockingIOError:
        return True  # nothing to read, not closed
    except OSError:
        return False
    finally:
        sock.setblocking(True)


def connect(botapi) -> socket.socket:
    host, port = botapi.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=BOUND)


def round_trip(botapi, token: str) -> None:
    """A request on another connection: everything the fake did before it has happened."""
    conn = http.client.HTTPConnection(botapi.url.removeprefix("http://"), timeout=BOUND)
    conn.request("GET", f"/bot{token}/getMe")
    assert conn.getresponse().status == 200
    conn.close()


def test_connect_and_disconnect_share_the_conn_id(botapi):
    token = botapi.new_bot()
    sock = connect(botapi)
    raw_request(sock, f"/bot{token}/getMe")
    assert b" 200 " in sock.recv(100)
    [connect_event] = botapi.wait(kind="connect")
    assert connect_event["data"] == {"peer": "%s:%d" % sock.getsockname()}
    sock.close()
    [gone] = botapi.wait(kind="disconnect", conn=connect_event["conn"])
    assert gone["data"]["peer"] == connect_event["data"]["peer"]


def test_drop_holds_the_request_and_keeps_the_connection_open(botapi):
    token = botapi.new_bot()
    rule = botapi.control.add_fault("botapi", "getMe", "drop", times=1)
    sock = connect(botapi)
    raw_request(sock, f"/bot{token}/getMe")
    [dropped] = botapi.wait(kind="response", method="getMe")
    assert dropped["outcome"] == {"ok": False, "code": "drop", "text": f"fault rule {rule['id']}"}
    round_trip(botapi, token)
    assert is_open(sock)  # unanswered, not cut ("close" cuts)
    sock.close()  # the client gives up: the hold ends with the connection
    botapi.wait(kind="disconnect", conn=dropped["conn"])


def test_close_cuts_the_connection(botapi):
    token = botapi.new_bot()
    rule = botapi.control.add_fault("botapi", "getMe", "close", times=1)
    sock = connect(botapi)
    raw_request(sock, f"/bot{token}/getMe")
    assert sock.recv(100) == b""
    [cut] = botapi.wait(kind="response", method="getMe")
    assert cut["outcome"] == {"ok": False, "code": "close", "text": f"fault rule {rule['id']}"}
    botapi.wait(kind="disconnect", conn=cut["conn"])
    sock.close()


def test_reset_lets_a_dropped_request_go_and_journals_nothing_of_it(botapi):
    token = botapi.new_bot()
    botapi.control.add_fault("botapi", "getMe", "drop", times=1)
    sock = connect(botapi)
    raw_request(sock, f"/bot{token}/getMe")
    [dropped] = botapi.wait(kind="response", method="getMe")
    botapi.control.reset()
    assert sock.recv(100) == b""  # let go without an answer
    sock.close()
    round_trip(botapi, "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw")  # the default bot
    assert [e for e in botapi.control.journal(fake="botapi") if e["conn"] == dropped["conn"]] == []


def test_a_kept_alive_connection_is_announced_again_after_a_reset(botapi):
    token = "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"  # registered again by every reset
    conn = http.client.HTTPConnection(botapi.url.removeprefix("http://"), timeout=BOUND)
    conn.request("GET", f"/bot{token}/getMe")
    assert json.loads(conn.getresponse().read())["ok"] is True
    [before] = botapi.wait(kind="connect")
    botapi.control.reset()
    conn.request("GET", f"/bot{token}/getMe")  # same TCP connection (keep-alive)
    assert json.loads(conn.getresponse().read())["ok"] is True
    [again] = botapi.wait(kind="connect")
    assert again["conn"] == before["conn"] and again["data"]["peer"] == before["data"]["peer"]
    [request] = botapi.control.journal(fake="botapi", kind="request")
    assert request["conn"] == before["conn"] and request["seq"] > again["seq"]
    conn.close()
    botapi.wait(kind="disconnect", conn=before["conn"])
