"""The TCP transports, sans-I/O: detection, packet boundaries, and what makes a stream invalid."""

from __future__ import annotations

import struct
from zlib import crc32

import pytest

from botfakes.fakes.mtproto.framing import FrameCodec, FramingError


def full(payload: bytes, seq: int) -> bytes:
    body = struct.pack("<ii", len(payload) + 12, seq) + payload
    return body + struct.pack("<I", crc32(body))


def test_full_transport_byte_by_byte_and_answers_with_own_sequence():
    codec = FrameCodec()
    stream = full(b"A" * 8, 0) + full(b"B" * 12, 1)
    got = []
    for i in range(len(stream)):
        got += codec.feed(stream[i:i + 1])
    assert got == [b"A" * 8, b"B" * 12] and codec.mode == "full" and codec.pending == 0
    first, second = codec.encode(b"x" * 4), codec.encode(b"y" * 4)
    assert first == full(b"x" * 4, 0) and second == full(b"y" * 4, 1)


def test_abridged_short_and_long_lengths():
    codec = FrameCodec()
    long_payload = bytes(range(256)) * 2  # 512 bytes = 128 words: needs the 0x7f form
    stream = b"\xef" + bytes([2]) + b"12345678" + b"\x7f" + (128).to_bytes(3, "little") + long_payload
    assert codec.feed(stream) == [b"12345678", long_payload]
    assert codec.encode(b"abcd") == b"\x01abcd"
    assert codec.encode(long_payload)[:4] == b"\x7f\x80\x00\x00"


def test_intermediate_and_padded():
    codec = FrameCodec()
    assert codec.feed(b"\xee\xee\xee\xee" + struct.pack("<i", 4) + b"ping") == [b"ping"]
    assert codec.mode == "intermediate" and codec.encode(b"pong") == struct.pack("<i", 4) + b"pong"
    padded = FrameCodec()
    assert padded.feed(b"\xdd\xdd\xdd\xdd" + struct.pack("<i", 7) + b"pingXYZ") == [b"ping"]


def test_transport_error_packet_is_the_negative_code():
    codec = FrameCodec()
    codec.feed(full(b"\x00" * 8, 0))
    assert codec.encode_error(404) == full(struct.pack("<i", -404), 0)


@pytest.mark.parametrize("stream, message", [
    (b"GARBAGE!" * 4, "invalid packet length"),
    (struct.pack("<ii", 1 << 24, 0), "exceeds"),
    (struct.pack("<ii", 10, 0) + b"\x00" * 8, "invalid packet length 10"),
    (full(b"A" * 8, 5), "sequence number 5"),
    (full(b"A" * 8, 0)[:-1] + b"\x00", "CRC32"),
    (b"POST / HTTP/1.1\r\n", "HTTP transport"),
    (b"\xee\xee\xee\xee" + struct.pack("<i", 6) + b"abcdef", "multiple of 4"),
])
def test_invalid_streams(stream, message):
    with pytest.raises(FramingError, match=message):
        FrameCodec().feed(stream)


def test_truncated_packet_stays_pending():
    codec = FrameCodec()
    assert codec.feed(full(b"A" * 40, 0)[:30]) == []
    assert codec.pending == 30
