"""Black-box clients and checks for the hostile-input suite: raw HTTP, Deriv WebSocket, raw MTProto.

Everything here talks to the fakes over their wire protocols only (plus the control API), so the
suite does not depend on how a fake is built inside. The checks are the suite's invariants:
strict JSON (no NaN/Infinity, valid UTF-8), the real error shape of each fake, and a fake that
still serves a valid request afterwards.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import struct
import time
from dataclasses import dataclass, field
from hashlib import sha1, sha256
from typing import Any

from telethon.crypto import AES
from telethon.extensions import BinaryReader
from telethon.sessions import StringSession
from telethon.tl import functions as F
from telethon.tl import types as T


HTTP_TIMEOUT = 10.0


class NotStrictJson(AssertionError):
    pass


def _reject_constant(name: str) -> Any:
    raise NotStrictJson(f"{name} is not JSON")


def strict_loads(data: bytes | str) -> Any:
    """json.loads that refuses NaN/Infinity and bytes that are not UTF-8 (what real clients do)."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NotStrictJson(f"not UTF-8: {exc}") from None
    return json.loads(data, parse_constant=_reject_constant)


# ---- HTTP ------------------------------------------------------------------------------------

@dataclass
class HttpAnswer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return strict_loads(self.body)


def http_exchange(port: int, raw: bytes, timeout: float = HTTP_TIMEOUT) -> HttpAnswer | None:
    """Send raw request bytes on a fresh connection; the answer, or None if the server closed
    the connection without one."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may refuse and close before reading everything; read its answer
        response = http.client.HTTPResponse(sock)
        try:
            response.begin()
            body = response.read()
        except (http.client.RemoteDisconnected, ConnectionResetError):
            return None
        except http.client.IncompleteRead as exc:
            body = exc.partial
        return HttpAnswer(response.status, {k.lower(): v for k, v in response.getheaders()}, body)


def build_request(method: str, target: str, headers: list[tuple[str, str]] | None = None,
                  body: bytes = b"", *, content_length: bool = True) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    for name, value in headers or []:
        lines.append(f"{name}: {value}")
    if content_length and (body or method in ("POST", "PUT", "PATCH")):
        lines.append(f"Content-Length: {len(body)}")
    head = "\r\n".join(lines) + "\r\n\r\n"
    return head.encode("utf-8", "surrogateescape") + body


def http_call(port: int, method: str, target: str, headers: list[tuple[str, str]] | None = None,
              body: bytes = b"", timeout: float = HTTP_TIMEOUT) -> HttpAnswer | None:
    return http_exchange(port, build_request(method, target, headers, body), timeout)


def port_of(url: str) -> int:
    return int(url.rstrip("/").rsplit(":", 1)[1].split("/")[0])


# ---- the real error shapes -------------------------------------------------------------------

def check_botapi_envelope(answer: HttpAnswer) -> Any:
    """A Bot API answer: JSON {"ok": true, "result"} or {"ok": false, "error_code" = status,
    "description"}, or a reader-level refusal with an empty body (what tdlib's HTTP reader sends
    for 4xx/5xx framing errors: a bare status line, then it closes)."""
    assert answer.status < 500 or answer.status in (501, 505), f"HTTP {answer.status}: {answer.body[:300]!r}"
    if not answer.body and answer.status >= 400:
        return None
    body = answer.json()
    assert isinstance(body, dict), body
    if body.get("ok") is True:
        assert answer.status == 200 and "result" in body, body
    else:
        assert body.get("ok") is False, body
        assert body.get("error_code") == answer.status, (answer.status, body)
        assert isinstance(body.get("description"), str) and body["description"], body
        assert set(body) <= {"ok", "error_code", "description", "parameters"}, body
    return body


def check_control_envelope(answer: HttpAnswer) -> Any:
    assert answer.status < 500, f"control HTTP {answer.status}: {answer.body[:500]!r}"
    assert answer.headers.get("content-type", "").startswith("application/json"), answer.headers
    body = answer.json()
    assert isinstance(body, dict) and isinstance(body.get("ok"), bool), body
    if body["ok"]:
        assert answer.status == 200 and "result" in body, body
    else:
        assert body.get("error_code") == answer.status, (answer.status, body)
        assert isinstance(body.get("description"), str) and body["description"], body
    return body


def check_deriv_reply(message: Any) -> dict:
    assert isinstance(message, dict), message
    assert "echo_req" in message and isinstance(message.get("msg_type"), str), message
    if "error" in message:
        error = message["error"]
        assert isinstance(error.get("code"), str) and isinstance(error.get("message"), str), error
        assert set(error) <= {"code", "message", "details"}, error
    return message


# ---- Deriv -----------------------------------------------------------------------------------

def deriv_connect(endpoint: str, timeout: float = 5.0):
    from websockets.sync.client import connect

    # no keepalive pings: websockets draws their payload from the global random module, which
    # hypothesis (rightly) reports when it changes while an example is generated
    return connect(endpoint, open_timeout=timeout, close_timeout=1.0, max_size=None,
                   compression=None, ping_interval=None)


def deriv_recv_json(ws, timeout: float = 5.0) -> Any:
    frame = ws.recv(timeout=timeout)
    return strict_loads(frame)


def deriv_alive(endpoint: str) -> None:
    with deriv_connect(endpoint) as ws:
        ws.send(json.dumps({"ping": 1, "req_id": 424242}))
        deadline = time.monotonic() + 5
        while True:
            message = check_deriv_reply(deriv_recv_json(ws, max(0.1, deadline - time.monotonic())))
            if message.get("req_id") == 424242:
                assert message.get("ping") == "pong", message
                return


# ---- Bot API ---------------------------------------------------------------------------------

def botapi_alive(port: int, token: str) -> None:
    answer = http_call(port, "GET", f"/bot{token}/getMe")
    assert answer is not None, "no answer to getMe"
    body = check_botapi_envelope(answer)
    assert body and body["ok"] is True, body


# ---- MTProto ---------------------------------------------------------------------------------
# MTProto 2.0 on the client's side (x = 0 out, x = 8 in), written from the protocol description
# (https://core.telegram.org/mtproto/description) so the suite does not lean on the fake's code.

def _kdf(auth_key: bytes, msg_key: bytes, x: int) -> tuple[bytes, bytes]:
    a = sha256(msg_key + auth_key[x:x + 36]).digest()
    b = sha256(auth_key[x + 40:x + 76] + msg_key).digest()
    return a[:8] + b[8:24] + a[24:32], b[:8] + a[8:24] + b[24:32]


def encrypt_client_message(auth_key: bytes, plaintext: bytes) -> bytes:
    data = plaintext + os.urandom(-(len(plaintext) + 12) % 16 + 12)
    msg_key = sha256(auth_key[88:120] + data).digest()[8:24]
    key, iv = _kdf(auth_key, msg_key, 0)
    key_id = sha1(auth_key).digest()[12:20]
    return key_id + msg_key + AES.encrypt_ige(data, key, iv)


def decrypt_server_message(auth_key: bytes, packet: bytes) -> bytes:
    msg_key = packet[8:24]
    key, iv = _kdf(auth_key, msg_key, 8)
    plaintext = AES.decrypt_ige(packet[24:], key, iv)
    assert sha256(auth_key[96:128] + plaintext).digest()[8:24] == msg_key, "server msg_key mismatch"
    return plaintext


INTERMEDIATE = b"\xee\xee\xee\xee"


class TransportError(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class Closed(Exception):
    pass


def _tl_read(body: bytes) -> Any:
    with BinaryReader(body) as reader:
        return reader.tgread_object()


@dataclass
class ServerMessage:
    msg_id: int
    seqno: int
    obj: Any = None
    rpc_result_of: int | None = None  # req_msg_id when this is an rpc_result
    result_body: bytes = b""
    error: Any = None  # an RpcError inside rpc_result


class MTProtoRaw:
    """A minimal MTProto 2.0 client over the intermediate transport, with a key the fake minted."""

    def __init__(self, host: str, port: int, key: bytes, timeout: float = 5.0) -> None:
        self.key = key
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.sendall(INTERMEDIATE)
        self.session_id = struct.unpack("<q", os.urandom(8))[0]
        self.salt = 0
        self._last_msg_id = 0
        self._seq = 0
        self._buf = b""

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self) -> "MTProtoRaw":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def next_msg_id(self) -> int:
        msg_id = int(time.time() * 2 ** 32) & ~3
        if msg_id <= self._last_msg_id:
            msg_id = self._last_msg_id + 4
        self._last_msg_id = msg_id
        return msg_id

    def next_seqno(self, content: bool) -> int:
        if content:
            self._seq += 1
            return self._seq * 2 - 1
        return self._seq * 2

    def send_packet(self, payload: bytes) -> None:
        self.sock.sendall(struct.pack("<i", len(payload)) + payload)

    def send_body(self, body: bytes, *, content: bool = True, msg_id: int | None = None,
                  seqno: int | None = None, salt: int | None = None) -> int:
        msg_id = self.next_msg_id() if msg_id is None else msg_id
        seqno = self.next_seqno(content) if seqno is None else seqno
        plaintext = struct.pack("<qqqii", self.salt if salt is None else salt, self.session_id,
                                msg_id, seqno, len(body)) + body
        self.send_packet(encrypt_client_message(self.key, plaintext))
        return msg_id

    def _read_exact(self, n: int) -> bytes:
        while len(self._buf) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise Closed("the server closed the connection")
            self._buf += chunk
        data, self._buf = self._buf[:n], self._buf[n:]
        return data

    def recv_packet(self) -> bytes:
        (length,) = struct.unpack("<i", self._read_exact(4))
        assert 0 < length <= (1 << 24), length
        return self._read_exact(length)

    def recv_message(self) -> ServerMessage:
        packet = self.recv_packet()
        if len(packet) == 4:
            raise TransportError(struct.unpack("<i", packet)[0])
        plaintext = decrypt_server_message(self.key, packet)
        salt, session_id, msg_id, seqno, length = struct.unpack_from("<qqqii", plaintext)
        assert session_id == self.session_id, "the server answered on another session"
        assert msg_id % 2 == 1, f"server msg_id {msg_id} is even"
        body = plaintext[32:32 + length]
        (constructor,) = struct.unpack_from("<I", body)
        if constructor == 0xF35C6D01:  # rpc_result: no Telethon reader for the result itself
            (req_msg_id,) = struct.unpack_from("<q", body, 4)
            inner = body[12:]
            message = ServerMessage(msg_id, seqno, rpc_result_of=req_msg_id, result_body=inner)
            (inner_id,) = struct.unpack_from("<I", inner)
            if inner_id == T.RpcError.CONSTRUCTOR_ID:
                message.error = _tl_read(inner)
            elif inner_id == 0x3072CFA1:  # gzip_packed
                message.result_body = _tl_read(inner).data
            return message
        return ServerMessage(msg_id, seqno, obj=_tl_read(body))

    def until(self, predicate, limit: int = 20) -> ServerMessage:
        """Read messages (adopting a new salt on bad_server_salt) until one satisfies predicate."""
        for _ in range(limit):
            message = self.recv_message()
            if isinstance(message.obj, T.BadServerSalt):
                self.salt = message.obj.new_server_salt
            if predicate(message):
                return message
        raise AssertionError("no matching answer")

    def ping(self) -> None:
        ping_id = struct.unpack("<q", os.urandom(8))[0]
        for _attempt in range(2):  # the first may only teach us the salt
            msg_id = self.send_body(bytes(F.PingRequest(ping_id)))
            message = self.until(lambda m: isinstance(m.obj, (T.Pong, T.BadServerSalt))
                                 and getattr(m.obj, "bad_msg_id", msg_id) == msg_id
                                 or isinstance(m.obj, T.Pong))
            if isinstance(message.obj, T.Pong):
                assert message.obj.ping_id == ping_id
                return
        raise AssertionError("no pong")

    def invoke(self, request: Any) -> Any:
        """Send a request (after ping() learned the salt); the result object or the RpcError."""
        msg_id = self.send_body(bytes(request))
        message = self.until(lambda m: m.rpc_result_of == msg_id)
        if message.error is not None:
            return message.error
        with BinaryReader(message.result_body) as reader:
            return request.read_result(reader)


def minted_key(control_post, **body: Any) -> tuple[bytes, dict]:
    minted = control_post("/mtproto/sessions", body)
    return StringSession(minted["session"]).auth_key.key, minted


def mtproto_alive(host: str, port: int, control_post) -> None:
    key, minted = minted_key(control_post)
    with MTProtoRaw(host, port, key) as client:
        client.ping()
        users = client.invoke(F.users.GetUsersRequest([T.InputUserSelf()]))
        assert isinstance(users, list) and users and users[0].id == minted["user"]["id"], users
        dialogs = client.invoke(F.messages.GetDialogsRequest(None, 0, T.InputPeerEmpty(), 20, 0))
        assert not isinstance(dialogs, T.RpcError), dialogs


# ---- process -----------------------------------------------------------------------------------

def rss_bytes() -> int:
    import psutil

    return psutil.Process().memory_info().rss


@dataclass
class FuzzStats:
    """Counts per target, printed at the end of a run (the long run's report)."""

    examples: dict[str, int] = field(default_factory=dict)
    rss: dict[str, tuple[int, int]] = field(default_factory=dict)

    def count(self, target: str) -> None:
        self.examples[target] = self.examples.get(target, 0) + 1
