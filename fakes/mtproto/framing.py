"""MTProto TCP transports, sans-I/O: feed the bytes a socket produced, get whole packets back.

A client picks the transport with its first bytes (https://core.telegram.org/mtproto/mtproto-transports):
  0xef                 abridged      len/4 in 1 byte (or 0x7f + 3 bytes) | payload
  0xeeeeeeee           intermediate  len (4 bytes LE) | payload
  0xdddddddd           padded        intermediate with 0-15 random bytes after the payload
  anything else        full          len | seq | payload | crc32, len counting all four parts
Telethon's default ConnectionTcpFull sends no tag, so "anything else" is parsed as the full
transport and must then make sense (sane length, sequence number 0, right CRC).

The server answers in the same transport. A transport error (-404 for an unknown auth key) is a
4-byte payload holding the negative code, framed like any other packet.
"""

from __future__ import annotations

import struct
import zlib
from zlib import crc32

INTERMEDIATE_TAG = b"\xee\xee\xee\xee"
PADDED_TAG = b"\xdd\xdd\xdd\xdd"

# Telegram's own limit for one packet is about 1 MiB (the container maximum plus headers).
MAX_PACKET = 1 << 20
# Telegram documents no limit for gzip_packed; the fake's: one gzip_packed inflates to at most a
# packet's size (what the client could have sent unpacked), and all of one packet's together to
# at most MAX_INFLATED_PER_PACKET. Past either, the message does not parse.
MAX_INFLATED = MAX_PACKET
MAX_INFLATED_PER_PACKET = 4 * MAX_PACKET


def inflate(packed: bytes, limit: int = MAX_INFLATED) -> bytes:
    """gzip_packed's data inflated, refusing (ValueError) to produce more than `limit` bytes."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # gzip framing, as clients send it
    try:
        data = inflater.decompress(packed, max(0, limit) + 1)
    except zlib.error as exc:
        raise ValueError(f"gzip_packed does not decompress: {exc}") from None
    if len(data) > limit or inflater.unconsumed_tail:
        raise ValueError(f"gzip_packed inflates past {limit} bytes")
    if not inflater.eof:
        raise ValueError("gzip_packed does not decompress: truncated data")
    return data

# First bytes of HTTP requests: the HTTP transport is not served, say so instead of misparsing.
_HTTP_STARTS = (b"GET ", b"POST", b"HEAD", b"OPTI", b"PUT ")


class FramingError(Exception):
    """The byte stream cannot be a valid packet stream; the connection must be closed."""


class FrameCodec:
    """One connection's transport: decodes the client's stream and encodes the server's packets."""

    def __init__(self, max_packet: int = MAX_PACKET) -> None:
        self.mode: str | None = None  # "abridged" | "intermediate" | "padded" | "full"
        self.max_packet = max_packet
        self._buf = bytearray()
        self._recv_seq = 0  # full transport: the client's next expected sequence number
        self._send_seq = 0

    @property
    def pending(self) -> int:
        """Bytes received that do not yet form a whole packet (non-zero at EOF = truncated)."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return every packet payload now complete. Raises FramingError."""
        self._buf += data
        if self.mode is None and not self._detect():
            return []
        packets = []
        while True:
            packet = self._next_packet()
            if packet is None:
                return packets
            packets.append(packet)

    def encode(self, payload: bytes) -> bytes:
        if self.mode == "abridged":
            words = len(payload) >> 2
            head = bytes([words]) if words < 127 else b"\x7f" + words.to_bytes(3, "little")
            return head + payload
        if self.mode in ("intermediate", "padded"):
            return struct.pack("<i", len(payload)) + payload
        head = struct.pack("<ii", len(payload) + 12, self._send_seq)
        self._send_seq += 1
        body = head + payload
        return body + struct.pack("<I", crc32(body))

    def encode_error(self, code: int) -> bytes:
        """A transport error packet, e.g. encode_error(404) -> the 4 bytes of int32 -404."""
        return self.encode(struct.pack("<i", -abs(code)))

    # -- decoding ---------------------------------------------------------------------------

    def _detect(self) -> bool:
        buf = self._buf
        if not buf:
            return False
        if buf[0] == 0xEF:
            self.mode = "abridged"
            del buf[:1]
            return True
        if len(buf) < 4:
            # 0xee.. / 0xdd.. need 4 bytes to tell (as a full-transport length they would be odd,
            # so no valid full packet starts that way); any other first byte is the full transport
            if buf[0] in (0xEE, 0xDD):
                return False
            self.mode = "full"
            return True
        head = bytes(buf[:4])
        if head == INTERMEDIATE_TAG:
            self.mode = "intermediate"
            del buf[:4]
        elif head == PADDED_TAG:
            self.mode = "padded"
            del buf[:4]
        elif head in _HTTP_STARTS:
            raise FramingError("the HTTP transport is not served")
        else:
            self.mode = "full"
        return True

    def _next_packet(self) -> bytes | None:
        buf = self._buf
        if self.mode == "abridged":
            if not buf:
                return None
            words = buf[0] & 0x7F  # the top bit asks for a quick ack, which the fake does not send
            head = 1
            if words == 0x7F:
                if len(buf) < 4:
                    return None
                words = int.from_bytes(buf[1:4], "little")
                head = 4
            size = words * 4
            self._check_size(size)
            if len(buf) < head + size:
                return None
            packet = bytes(buf[head:head + size])
            del buf[:head + size]
            return packet
        if self.mode in ("intermediate", "padded"):
            if len(buf) < 4:
                return None
            size = struct.unpack_from("<I", buf)[0] & 0x7FFFFFFF  # top bit: quick ack request
            self._check_size(size, aligned=self.mode == "intermediate")
            if len(buf) < 4 + size:
                return None
            packet = bytes(buf[4:4 + size])
            del buf[:4 + size]
            if self.mode == "padded":
                packet = packet[:len(packet) - len(packet) % 4]
            return packet
        # full
        if len(buf) < 8:
            return None
        total, seq = struct.unpack_from("<ii", buf)
        if total < 12 or total % 4:
            raise FramingError(f"invalid packet length {total}")
        self._check_size(total - 12)
        if seq != self._recv_seq:
            raise FramingError(f"packet sequence number {seq}, expected {self._recv_seq}")
        if len(buf) < total:
            return None
        body = bytes(buf[:total - 4])
        (checksum,) = struct.unpack_from("<I", buf, total - 4)
        if crc32(body) != checksum:
            raise FramingError("packet CRC32 mismatch")
        del buf[:total]
        self._recv_seq += 1
        return body[8:]

    def _check_size(self, size: int, aligned: bool = True) -> None:
        if size > self.max_packet:
            raise FramingError(f"packet of {size} bytes exceeds {self.max_packet}")
        if aligned and size % 4:
            raise FramingError(f"packet length {size} is not a multiple of 4")
