"""Free TCP ports on 127.0.0.1, for servers whose address must be known before they bind."""

from __future__ import annotations

import random
import socket

LOOPBACK = "127.0.0.1"


def _bind(port: int) -> int | None:
    with socket.socket() as s:
        try:
            s.bind((LOOPBACK, port))
        except OSError:
            return None
        return s.getsockname()[1]


def free_port(max_port: int | None = None) -> int:
    """A port nothing listens on right now (the OS's pick), at most `max_port` if given.

    Only for a server that must be told its port before it binds (a webhook bot whose WEBHOOK_URL
    names it); anything that can bind port 0 itself should. `max_port` is for clients that cannot
    handle high ports (some store the port in 15 bits).
    """
    port = _bind(0)
    if port is not None and (max_port is None or port <= max_port):
        return port
    if max_port is None or max_port < 1024:
        raise OSError(f"no free port on {LOOPBACK}" + (f" at or below {max_port}" if max_port else ""))
    # The OS picks from its ephemeral range; below that, try ports the OS does not hand out.
    candidates = random.Random().sample(range(1024, max_port + 1), min(500, max_port - 1023))
    for candidate in candidates:
        port = _bind(candidate)
        if port is not None:
            return port
    raise OSError(f"no free port on {LOOPBACK} at or below {max_port}")
