"""MTProto 2.0 message encryption, server side, on Telethon's own AES-IGE.

https://core.telegram.org/mtproto/description#defining-aes-key-and-initialization-vector
  msg_key_large = SHA256(substr(auth_key, 88+x, 32) + plaintext + padding)
  msg_key       = substr(msg_key_large, 8, 16)
with x = 0 for client-to-server and x = 8 for server-to-client messages. The same key derivation
as Telethon's MTProtoState, mirrored: the server decrypts with x=0 and encrypts with x=8.
"""

from __future__ import annotations

import os
import struct
from hashlib import sha1, sha256

from telethon.crypto import AES

CLIENT_X = 0
SERVER_X = 8


class DecryptError(Exception):
    """An encrypted packet that does not decrypt to a well-formed message under its auth key."""


def auth_key_id(auth_key: bytes) -> int:
    """The 64 lower-order bits of SHA1(auth_key), as an unsigned int (what the packet carries)."""
    return struct.unpack("<Q", sha1(auth_key).digest()[12:20])[0]


def aux_hash(auth_key: bytes) -> int:
    """The 64 higher-order bits of SHA1(auth_key), used for new_nonce_hash in the key exchange."""
    return struct.unpack("<Q", sha1(auth_key).digest()[:8])[0]


def _kdf(auth_key: bytes, msg_key: bytes, x: int) -> tuple[bytes, bytes]:
    sha256a = sha256(msg_key + auth_key[x:x + 36]).digest()
    sha256b = sha256(auth_key[x + 40:x + 76] + msg_key).digest()
    aes_key = sha256a[:8] + sha256b[8:24] + sha256a[24:32]
    aes_iv = sha256b[:8] + sha256a[8:24] + sha256b[24:32]
    return aes_key, aes_iv


def msg_key_for(auth_key: bytes, plaintext: bytes, x: int) -> bytes:
    return sha256(auth_key[88 + x:120 + x] + plaintext).digest()[8:24]


def decrypt_client_message(auth_key: bytes, packet: bytes) -> bytes:
    """packet = auth_key_id(8) | msg_key(16) | encrypted; returns the padded plaintext.

    The plaintext is salt | session_id | msg_id | seqno | length | body | padding; callers parse.
    """
    encrypted = packet[24:]
    if len(encrypted) < 32 or len(encrypted) % 16:
        raise DecryptError(f"encrypted data of {len(encrypted)} bytes is not whole AES blocks")
    msg_key = packet[8:24]
    aes_key, aes_iv = _kdf(auth_key, msg_key, CLIENT_X)
    plaintext = AES.decrypt_ige(encrypted, aes_key, aes_iv)
    if msg_key_for(auth_key, plaintext, CLIENT_X) != msg_key:
        raise DecryptError("msg_key does not match the decrypted data")
    (length,) = struct.unpack_from("<i", plaintext, 28)
    padding = len(plaintext) - 32 - length
    if length < 0 or length % 4 or not 12 <= padding <= 1024:
        raise DecryptError(f"message length {length} does not fit the {len(plaintext)}-byte packet")
    return plaintext


def encrypt_server_message(auth_key: bytes, key_id: int, plaintext: bytes) -> bytes:
    """plaintext = salt | session_id | msg_id | seqno | length | body; pads and encrypts it."""
    padding = os.urandom(-(len(plaintext) + 12) % 16 + 12)
    data = plaintext + padding
    msg_key = msg_key_for(auth_key, data, SERVER_X)
    aes_key, aes_iv = _kdf(auth_key, msg_key, SERVER_X)
    return struct.pack("<Q", key_id) + msg_key + AES.encrypt_ige(data, aes_key, aes_iv)


def encrypt_client_message(auth_key: bytes, plaintext: bytes) -> bytes:
    """The client's side, for tests that speak raw MTProto (Telethon does this itself)."""
    padding = os.urandom(-(len(plaintext) + 12) % 16 + 12)
    data = plaintext + padding
    msg_key = msg_key_for(auth_key, data, CLIENT_X)
    aes_key, aes_iv = _kdf(auth_key, msg_key, CLIENT_X)
    return struct.pack("<Q", auth_key_id(auth_key)) + msg_key + AES.encrypt_ige(data, aes_key, aes_iv)
