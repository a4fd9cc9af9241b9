"""The MTProto session layer, server side (https://core.telegram.org/mtproto/description).

Sans-I/O helpers the connection protocol (core.py) is built from:
- parsing a decrypted plaintext: salt | session_id | msg_id | seqno | length | body;
- checking the client's msg_id (multiple of 4, within 300 s back / 30 s ahead of server time);
- splitting msg_container and gzip_packed into single messages (as bytes: their bodies are read
  in the connection's layer, see connection.py);
- the server's own msg_ids (time based, odd: x1 for answers, x3 for unsolicited messages) and
  seqnos (2n+1 for content-related messages, 2n for service ones);
- packing answers: rpc_result#f35c6d01 req_msg_id:long result:Object has no serializer in
  Telethon, so it is built here around the TL bytes of the result (gzip_packed when smaller).
"""

from __future__ import annotations

import gzip
import struct
from collections import deque
from dataclasses import dataclass
from typing import Any

from telethon.extensions import BinaryReader
from telethon.tl import TLObject
from telethon.tl.core import GzipPacked
from telethon.tl.types import RpcError

from .framing import MAX_INFLATED, MAX_INFLATED_PER_PACKET, inflate

RPC_RESULT_ID = 0xF35C6D01
VECTOR_ID = 0x1CB5C415
BOOL_TRUE = struct.pack("<I", 0x997275B5)
BOOL_FALSE = struct.pack("<I", 0xBC799737)

MSG_TOO_OLD = 300  # seconds; https://core.telegram.org/mtproto/description#message-identifier-msg-id
MSG_TOO_NEW = 30

# bad_msg_notification error codes (https://core.telegram.org/mtproto/service_messages_about_messages)
BAD_MSG_ID_TOO_LOW = 16
BAD_MSG_ID_TOO_HIGH = 17
BAD_MSG_ID_NOT_MULTIPLE_OF_4 = 18
BAD_MSG_DUPLICATE_ID = 19
# 34: "an even msg_seqno expected (irrelevant message), but odd received";
# 35: "odd msg_seqno expected (relevant message), but even received"
BAD_SEQNO_ODD_FOR_SERVICE = 34
BAD_SEQNO_EVEN_FOR_CONTENT = 35
BAD_SERVER_SALT = 48
BAD_CONTAINER = 64

# Client messages that are not content-related, so they carry even seqnos.
_SERVICE_IDS = {0x62D6B459, 0x73F1F8DC}  # msgs_ack, msg_container

# Names for the MTProto service functions, whose TL names are not camelCase.
_SERVICE_NAMES = {
    "ReqPqRequest": "req_pq", "ReqPqMultiRequest": "req_pq_multi",
    "ReqDHParamsRequest": "req_DH_params", "SetClientDHParamsRequest": "set_client_DH_params",
    "PingRequest": "ping", "PingDelayDisconnectRequest": "ping_delay_disconnect",
    "DestroySessionRequest": "destroy_session", "GetFutureSaltsRequest": "get_future_salts",
    "DestroyAuthKeyRequest": "destroy_auth_key", "RpcDropAnswerRequest": "rpc_drop_answer",
}


def tl_name(obj: object) -> str:
    """The TL schema name of a Telethon request, the journal's method name.

    SendMessageRequest in telethon.tl.functions.messages -> "messages.sendMessage";
    InvokeWithLayerRequest -> "invokeWithLayer"; ReqPqMultiRequest -> "req_pq_multi".
    """
    cls = type(obj).__name__
    if cls in _SERVICE_NAMES:
        return _SERVICE_NAMES[cls]
    base = cls[:-len("Request")] if cls.endswith("Request") else cls
    name = base[:1].lower() + base[1:]
    namespace = type(obj).__module__.rsplit(".", 1)[-1]
    return name if namespace == "functions" else f"{namespace}.{name}"


@dataclass
class Plaintext:
    salt: int
    session_id: int
    msg_id: int
    seqno: int
    body: bytes


def parse_plaintext(plaintext: bytes) -> Plaintext:
    salt, session_id, msg_id, seqno, length = struct.unpack_from("<qqqii", plaintext)
    return Plaintext(salt, session_id, msg_id, seqno, plaintext[32:32 + length])


def read_object(body: bytes) -> Any:
    """Parse one TL object (request, container, gzip) with Telethon's own readers."""
    with BinaryReader(body) as reader:
        return reader.tgread_object()


MSG_CONTAINER_ID = 0x73F1F8DC
GZIP_PACKED_ID = 0x3072CFA1


@dataclass
class RawMessage:
    """One message of the session layer as bytes, after container/gzip unwrapping: its body is
    decoded later, in the layer of the connection (an API call) or as a service message."""

    msg_id: int
    seqno: int
    body: bytes
    container_id: int | None = None

    @property
    def constructor_id(self) -> int:
        return struct.unpack_from("<I", self.body)[0]

    @property
    def content_related(self) -> bool:
        return self.constructor_id not in _SERVICE_IDS


def _tl_bytes_at(data: bytes, pos: int) -> tuple[bytes, int]:
    first = data[pos]
    if first == 254:
        size, start = int.from_bytes(data[pos + 1:pos + 4], "little"), pos + 4
        end = start + size + (-size % 4)
    else:
        size, start = first, pos + 1
        end = start + size + (-(size + 1) % 4)
    if end > len(data):
        raise ValueError("gzip_packed data is truncated")
    return data[start:start + size], end


def split_messages(msg_id: int, seqno: int, body: bytes,
                   container_id: int | None = None, budget: list[int] | None = None) -> list[RawMessage]:
    """Flatten msg_container and gzip_packed (one level of each) into the messages they carry.
    Raises ValueError for a container that does not add up (the caller answers BAD_CONTAINER)."""
    if len(body) < 4:
        raise ValueError(f"a message body of {len(body)} bytes")
    (ctor,) = struct.unpack_from("<I", body)
    if ctor == MSG_CONTAINER_ID:
        if container_id is not None:
            raise ValueError("a container inside a container")
        if len(body) < 8:
            raise ValueError("msg_container without a count")
        (count,) = struct.unpack_from("<i", body, 4)
        pos, out = 8, []
        for _ in range(count):
            if pos + 16 > len(body):
                raise ValueError(f"msg_container declares {count} messages, holds {len(out)}")
            inner_id, inner_seqno, size = struct.unpack_from("<qii", body, pos)
            pos += 16
            if size < 4 or size % 4 or pos + size > len(body):
                raise ValueError(f"a contained message of {size} bytes does not fit the container")
            out.extend(split_messages(inner_id, inner_seqno, body[pos:pos + size], container_id=msg_id,
                                      budget=budget))
            pos += size
        return out
    if ctor == GZIP_PACKED_ID:
        packed, _end = _tl_bytes_at(body, 4)
        # bounded (framing.inflate): one gzip_packed, and all of a packet's together
        budget = [MAX_INFLATED_PER_PACKET] if budget is None else budget
        data = inflate(packed, min(MAX_INFLATED, budget[0]))
        budget[0] -= len(data)
        return split_messages(msg_id, seqno, data, container_id, budget)
    return [RawMessage(msg_id, seqno, body, container_id)]


def check_msg_id(msg_id: int, now: float) -> int | None:
    """The bad_msg_notification code for a client msg_id, or None when it is acceptable."""
    if msg_id % 4:
        return BAD_MSG_ID_NOT_MULTIPLE_OF_4
    sent = msg_id / 2 ** 32
    if sent < now - MSG_TOO_OLD:
        return BAD_MSG_ID_TOO_LOW
    if sent > now + MSG_TOO_NEW:
        return BAD_MSG_ID_TOO_HIGH
    return None


class MsgIdClock:
    """Server msg_ids: unix time * 2^32, strictly increasing, low bits 01 (answer) / 11 (push)."""

    def __init__(self) -> None:
        self._last = 0

    def next(self, now: float, answer: bool = True) -> int:
        candidate = int(now * 2 ** 32) & ~3
        candidate |= 1 if answer else 3
        if candidate <= self._last:
            candidate = (self._last & ~3) + 4 + (1 if answer else 3)
        self._last = candidate
        return candidate


class ServerSession:
    """What the server remembers of one client session (session_id) on one auth key."""

    RECENT = 512  # msg_ids remembered to drop duplicates (resends the client did not mean)

    def __init__(self, session_id: int, first_msg_id: int, unique_id: int) -> None:
        self.session_id = session_id
        self.first_msg_id = first_msg_id
        self.unique_id = unique_id  # new_session_created's unique_id: the client only stores it
        self.clock = MsgIdClock()
        self._content_sent = 0
        self._recent: deque[int] = deque(maxlen=self.RECENT)
        self._recent_set: set[int] = set()

    def seen(self, msg_id: int) -> bool:
        """Remember msg_id; True if it was already received in this session."""
        if msg_id in self._recent_set:
            return True
        if len(self._recent) == self._recent.maxlen:
            self._recent_set.discard(self._recent[0])
        self._recent.append(msg_id)
        self._recent_set.add(msg_id)
        return False

    def next_seqno(self, content_related: bool) -> int:
        if content_related:
            self._content_sent += 1
            return self._content_sent * 2 - 1
        return self._content_sent * 2


def serialize(value: Any) -> bytes:
    """TL bytes of an answer: a TLObject, a list (Vector), a bool, or already-serialized bytes."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, bool):
        return BOOL_TRUE if value else BOOL_FALSE
    if isinstance(value, list):
        items = b"".join(serialize(v) for v in value)
        return struct.pack("<Ii", VECTOR_ID, len(value)) + items
    if isinstance(value, TLObject):
        return bytes(value)
    raise TypeError(f"cannot serialize {type(value).__name__} as a TL answer")


def gzip_if_smaller(body: bytes) -> bytes:
    if len(body) <= 512:
        return body
    packed = struct.pack("<I", GzipPacked.CONSTRUCTOR_ID) + TLObject.serialize_bytes(
        gzip.compress(body, compresslevel=6))
    return packed if len(packed) < len(body) else body


def rpc_result(req_msg_id: int, result: Any) -> bytes:
    return struct.pack("<Iq", RPC_RESULT_ID, req_msg_id) + gzip_if_smaller(serialize(result))


def rpc_error(req_msg_id: int, code: int, message: str) -> bytes:
    return struct.pack("<Iq", RPC_RESULT_ID, req_msg_id) + bytes(RpcError(code, message))
