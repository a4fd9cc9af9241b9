"""An auth key the server knows, with the sessions opened on it.

Its own module so that both the core (which owns the keys) and a connection (which encrypts with
one) can name it without importing each other.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from dataclasses import dataclass, field

from .session import ServerSession

MAX_SESSIONS_PER_KEY = 64


def random_signed64(rng: random.Random) -> int:
    """A signed 64-bit value (server salts, session unique ids) from the core's seeded generator."""
    return rng.getrandbits(64) - (1 << 63)


@dataclass
class AuthKeyRecord:
    key: bytes
    key_id: int
    salt: int
    user_id: int | None = None
    invalidated: bool = False  # by AUTH_KEY_DUPLICATED, until revived
    minted: bool = False  # created by the control API rather than a key exchange
    layer: int | None = None  # the last layer declared with invokeWithLayer on this key
    conns: dict[str, int] = field(default_factory=dict)  # open conn id -> opening order
    sessions: OrderedDict = field(default_factory=OrderedDict)  # session_id -> ServerSession

    def session(self, session_id: int, first_msg_id: int, rng: random.Random) -> tuple[ServerSession, bool]:
        existing = self.sessions.get(session_id)
        if existing is not None:
            self.sessions.move_to_end(session_id)
            return existing, False
        created = ServerSession(session_id, first_msg_id, random_signed64(rng))
        self.sessions[session_id] = created
        while len(self.sessions) > MAX_SESSIONS_PER_KEY:
            self.sessions.popitem(last=False)
        return created, True
