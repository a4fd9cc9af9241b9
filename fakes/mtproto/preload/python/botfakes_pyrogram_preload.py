"""Pyrogram/Kurigram against the MTProto fake, with no change to the bot (stdlib only: the bot's
environment need not have botfakes). Installed at start-up by the sitecustomize beside it.

1. Trust: the fake's test RSA key (test_rsa_key.pem in botfakes' package) is added to
   `pyrogram.crypto.rsa.server_public_keys`, the map Pyrogram looks fingerprints up in, so a fresh
   sign-in's key exchange finds it.
2. Address: a Pyrogram session string holds no address (the client dials DC 2's production
   address, port 443); asyncio.open_connection to ports 80/443 on Telegram's DC addresses or on
   the fake's host is sent to BOTFAKES_MTPROTO_HOST:BOTFAKES_MTPROTO_PORT. A .session file minted
   by the fake already names the fake, and other connections are left alone.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import re
import struct
from pathlib import Path

PEM = Path(__file__).resolve().parents[2] / "test_rsa_key.pem"
TELEGRAM_DC = re.compile(r"^(149\.154\.1(6[0-9]|7[0-5])\.|91\.108\.|2001:67c:4e8:|2001:b28:f23[df]:)")
CLIENT_PORTS = (80, 443)


def _der_integers(der: bytes) -> list[int]:
    """The INTEGERs of a DER SEQUENCE (an RSAPrivateKey: version, n, e, d, ...)."""

    def length(pos: int) -> tuple[int, int]:
        first = der[pos]
        if first < 0x80:
            return first, pos + 1
        count = first & 0x7F
        return int.from_bytes(der[pos + 1:pos + 1 + count], "big"), pos + 1 + count

    if der[0] != 0x30:
        raise ValueError("not a DER sequence")
    _, pos = length(1)
    out = []
    while pos < len(der) and der[pos] == 0x02:
        size, start = length(pos + 1)
        out.append(int.from_bytes(der[start:start + size], "big"))
        pos = start + size
    return out


def _tl_bytes(data: bytes) -> bytes:
    head = bytes([len(data)]) if len(data) < 254 else b"\xfe" + len(data).to_bytes(3, "little")
    return head + data + b"\x00" * (-(len(head) + len(data)) % 4)


def fake_public_key(pem_path: Path = PEM) -> tuple[int, int, int]:
    """(fingerprint, n, e) of the fake's test key, the fingerprint as Telegram computes it."""
    text = pem_path.read_text()
    body = "".join(line for line in text.splitlines() if line and not line.startswith("-----"))
    _version, n, e, *_ = _der_integers(base64.b64decode(body))
    as_bytes = [v.to_bytes((v.bit_length() + 7) // 8, "big") for v in (n, e)]
    digest = hashlib.sha1(_tl_bytes(as_bytes[0]) + _tl_bytes(as_bytes[1])).digest()
    return struct.unpack("<q", digest[-8:])[0], n, e


def trust_fake_key() -> int:
    from pyrogram.crypto import rsa

    fingerprint, n, e = fake_public_key()
    rsa.server_public_keys[fingerprint] = rsa.PublicKey(n, e)
    return fingerprint


def redirect(host: str, port: int) -> None:
    """Send the client's DC connections (ports 80/443) to the fake."""
    original = asyncio.open_connection
    if getattr(original, "botfakes_redirect", False):
        return

    async def open_connection(host_arg=None, port_arg=None, *args, **kwargs):
        target_host = kwargs.pop("host", host_arg)
        target_port = kwargs.pop("port", port_arg)
        if (target_port in CLIENT_PORTS and isinstance(target_host, str)
                and (target_host == host or TELEGRAM_DC.match(target_host))):
            target_host, target_port = host, port
            kwargs.pop("family", None)  # the fake listens on IPv4 loopback
        return await original(target_host, target_port, *args, **kwargs)

    open_connection.botfakes_redirect = True
    asyncio.open_connection = open_connection


def install_from_environment() -> bool:
    port = os.environ.get("BOTFAKES_MTPROTO_PORT")
    if not port:
        return False
    redirect(os.environ.get("BOTFAKES_MTPROTO_HOST", "127.0.0.1"), int(port))
    try:
        trust_fake_key()
    except ImportError:  # no Pyrogram in this interpreter: nothing to trust
        pass
    return True
