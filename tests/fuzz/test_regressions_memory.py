"""Issue 13's memory findings: the journal is bounded by bytes as well as events, a large payload
is kept as a prefix plus its size and digest, gzip_packed inflation is bounded, a refused
packet's close reason does not carry the packet, and MTProto connections time out when idle."""

from __future__ import annotations

import json
import socket
import struct
import time
from urllib.parse import quote


from botfakes.fakes.runtime import FakesRuntime

from .strategies import bomb
from .support import MTProtoRaw, check_botapi_envelope, http_call, minted_key, port_of, rss_bytes

TOKEN = "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
MiB = 1 << 20


def test_large_request_bodies_are_journaled_as_prefix_size_and_digest(fakes):
    port = port_of(fakes.url("botapi"))
    fakes.control.botapi.configure(rate_limits={"enabled": False})
    text = "x" * (MiB - 100)
    body = f"chat_id=1&text={quote(text)}".encode()
    before = rss_bytes()
    for _ in range(30):
        check_botapi_envelope(http_call(port, "POST", f"/bot{TOKEN}/sendMessage",
                                        [("Content-Type", "application/x-www-form-urlencoded")], body))
    grown = rss_bytes() - before
    assert grown < 15 * MiB, f"RSS grew {grown / MiB:.1f} MiB for 30 journaled 1 MiB bodies"
    event = fakes.control.journal(fake="botapi", kind="request", method="sendMessage")[-1]
    kept = event["data"]["params"]["text"]
    assert isinstance(kept, dict) and kept["size"] == len(text) and len(kept["sha256"]) == 64, kept
    assert text.startswith(kept["prefix"]) and len(kept["prefix"]) < 10_000


def test_journal_is_capped_by_bytes(fakes):
    from botfakes.fakes.control.journal import Journal

    journal = Journal(max_bytes=1 * MiB)
    for i in range(2000):
        journal.record("botapi", "request", method="sendMessage", data={"params": {"text": "y" * 4000, "i": i}})
    assert journal.bytes <= journal.max_bytes and journal.dropped > 0
    assert journal.events()[-1].data["params"]["i"] == 1999 and journal.get(journal.last_seq) is not None
    stats = fakes.control.get("/stats")["journal"]
    assert stats["max_bytes"] and 0 <= stats["bytes"] <= stats["max_bytes"], stats


def test_journal_keeps_odd_payloads_as_json(fakes):
    from botfakes.fakes.control.journal import Journal

    journal = Journal()
    event = journal.record("deriv", "request", data={"nan": float("nan"), "raw": b"\x00" * 10,
                                                     "bad": "\ud800", "deep": _nested(200)})
    json.dumps(event.to_json(), allow_nan=False).encode("utf-8")  # strict JSON, valid UTF-8


def _nested(depth):
    value = 1
    for _ in range(depth):
        value = [value]
    return value


def _mtproto_client(fakes):
    fake = fakes.fakes["mtproto"]
    key, _ = minted_key(fakes.control.post)
    client = MTProtoRaw(fake.host, fake.port, key, timeout=10)
    client.ping()
    return client


def test_gzip_bombs_do_not_inflate_without_bound(fakes):
    client = _mtproto_client(fakes)
    before = rss_bytes()
    try:
        for _ in range(3):
            client.send_body(bomb(16 * MiB))
        client.ping()  # the connection still answers
    finally:
        client.close()
    grown = rss_bytes() - before
    assert grown < 40 * MiB, f"RSS grew {grown / MiB:.0f} MiB for three 16 MiB gzip bombs"
    notes = [e for e in fakes.control.journal(fake="mtproto") if "gzip" in json.dumps(e.get("data", {}))]
    assert notes, "the refused bomb is journaled"


def test_refused_packet_is_not_kept_in_the_close_reason(fakes):
    fake = fakes.fakes["mtproto"]
    for _ in range(3):
        with socket.create_connection((fake.host, fake.port), timeout=10) as sock:
            body = struct.pack("<I", 0x12345678) + b"\x00" * (MiB - 64)
            payload = struct.pack("<qqi", 0, 4, len(body)) + body
            sock.sendall(b"\xee\xee\xee\xee" + struct.pack("<i", len(payload)) + payload)
            sock.shutdown(socket.SHUT_WR)
            while sock.recv(1 << 16):
                pass
    for event in fakes.control.journal(fake="mtproto"):
        assert len(json.dumps(event)) < 4096, json.dumps(event)[:300]


def test_idle_mtproto_connection_is_closed():
    with FakesRuntime(["mtproto"], options={"mtproto": {"idle_timeout": 0.5}}) as runtime:
        fake = runtime.fakes["mtproto"]
        with socket.create_connection((fake.host, fake.port), timeout=10) as sock:
            sock.sendall(b"\xee\xee\xee\xee")
            started = time.monotonic()
            assert sock.recv(1) == b""  # the server ends the connection
            assert time.monotonic() - started < 8
        events = runtime.control.wait(fake="mtproto", kind="disconnect", count=1, timeout=5)
        assert "idle" in json.dumps(events[-1]["data"])
