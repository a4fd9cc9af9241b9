"""Hostile bytes and messages against the fake MTProto server.

On the wire: whatever a connection sends, the server answers in its transport or closes it, and
a fresh connection still gets a pong. Inside an authorized session (a key the fake minted): every
server message decrypts and parses, no call gets the fake's internal error, a gzip bomb does not
inflate without bound, and the same connection answers a ping afterwards (or was closed with a
transport error, after which a new one works)."""

from __future__ import annotations

import socket

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telethon.tl import functions as F
from telethon.tl import types as T

from .conftest import examples, long_run
from .strategies import container, mtproto_bodies, mtproto_wire
from .support import Closed, MTProtoRaw, TransportError, minted_key, mtproto_alive

FUZZ = settings(max_examples=examples(20), deadline=None, derandomize=not long_run(), database=None,
                suppress_health_check=list(HealthCheck))
INTERNAL = "FAKE_INTERNAL_ERROR"


def _host_port(fakes):
    fake = fakes.fakes["mtproto"]
    return fake.host, fake.port


def test_hostile_mtproto_wire(fakes, no_tracebacks, fuzz_report):
    host, port = _host_port(fakes)

    @FUZZ
    @given(data=mtproto_wire())
    def one(data):
        fuzz_report.example()
        with socket.create_connection((host, port), timeout=5) as sock:
            try:
                sock.sendall(data)
                sock.shutdown(socket.SHUT_WR)  # EOF: the server must end this connection now
                while sock.recv(1 << 16):
                    pass
            except (ConnectionResetError, BrokenPipeError):
                pass
        found = no_tracebacks.take()
        assert not found, found

    one()
    mtproto_alive(host, port, fakes.control.post)


def test_hostile_mtproto_messages(fakes, no_tracebacks, fuzz_report):
    host, port = _host_port(fakes)
    key, _ = minted_key(fakes.control.post)
    state: dict = {"client": None}

    def client() -> MTProtoRaw:
        if state["client"] is None:
            state["client"] = MTProtoRaw(host, port, key)
            state["client"].ping()
        return state["client"]

    @FUZZ
    @given(bodies=st.lists(mtproto_bodies(), min_size=1, max_size=3),
           framing=st.sampled_from(["single", "single", "container", "nested", "bad-seqno", "bad-msg-id",
                                    "bad-salt"]))
    def one(bodies, framing):
        fuzz_report.example()
        raw = client()
        try:
            if framing == "container":
                raw.send_body(container([(raw.next_msg_id(), raw.next_seqno(True), b) for b in bodies]),
                              content=False)
            elif framing == "nested":
                inner = container([(raw.next_msg_id(), raw.next_seqno(True), b) for b in bodies])
                raw.send_body(container([(raw.next_msg_id(), raw.next_seqno(False), inner)]), content=False)
            else:
                for body in bodies:
                    if framing == "bad-seqno":
                        raw.send_body(body, seqno=2)
                    elif framing == "bad-msg-id":
                        raw.send_body(body, msg_id=raw.next_msg_id() + 1)
                    elif framing == "bad-salt":
                        raw.send_body(body, salt=12345)
                    else:
                        raw.send_body(body)
            ping_msg = raw.send_body(bytes(F.PingRequest(777)))
            for _ in range(64):
                message = raw.recv_message()
                if message.error is not None:
                    assert message.error.error_message != INTERNAL, (bodies, message.error)
                if isinstance(message.obj, T.BadServerSalt):
                    raw.salt = message.obj.new_server_salt
                if isinstance(message.obj, T.Pong) and message.obj.msg_id == ping_msg:
                    break
            else:
                raise AssertionError("no pong after the hostile message")
        except (TransportError, Closed, ConnectionResetError, BrokenPipeError, socket.timeout) as exc:
            if isinstance(exc, socket.timeout):
                raise AssertionError(f"the server went silent after {[b[:40] for b in bodies]}") from None
            raw.close()
            state["client"] = None
        found = no_tracebacks.take()
        assert not found, found

    try:
        one()
    finally:
        if state["client"] is not None:
            state["client"].close()
    mtproto_alive(host, port, fakes.control.post)
