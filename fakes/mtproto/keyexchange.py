"""The server side of MTProto's authorization key exchange (https://core.telegram.org/mtproto/auth_key).

    client                                   server (this module)
    req_pq_multi(nonce)                  ->  resPQ(nonce, server_nonce, pq, [fingerprint])
    req_DH_params(p, q, fp, rsa(inner))  ->  server_DH_params_ok(aes(server_DH_inner_data))
    set_client_DH_params(aes(g_b))       ->  dh_gen_ok(new_nonce_hash1)

The RSA keypair is the test key shipped in this package (test_rsa_key.pem); a client must trust it
first (`trust_test_key()` adds it to Telethon's list). Telethon 1.45 encrypts the inner data the
old way, RSA(sha1(data) + data + random padding to 255 bytes) with no RSA_PAD, and that is what is
accepted here. The DH group is Telegram's published 2048-bit safe prime with g = 3.

Sans-I/O: `KeyExchange.handle(request_obj)` returns the TL object to send back or raises
`KeyExchangeError`; once `auth_key` is set the caller registers the key.
"""

from __future__ import annotations

import os
import random
import time
from functools import lru_cache
from hashlib import sha1, sha256
from importlib import resources
from typing import Callable

import rsa
from telethon import helpers
from telethon.crypto import AES
from telethon.crypto.rsa import _compute_fingerprint, add_key, get_byte_array
from telethon.extensions import BinaryReader
from telethon.tl import functions, types

from .crypto import aux_hash

# Telegram's dh_prime (https://core.telegram.org/mtproto/auth_key, "current value of dh_prime").
DH_PRIME = int(
    "C71CAEB9C6B1C9048E6C522F70F13F73980D40238E3E21C14934D037563D930F48198A0AA7C14058229493D22530F4DB"
    "FA336F6E0AC925139543AED44CCE7C3720FD51F69458705AC68CD4FE6B6B13ABDC9746512969328454F18FAF8C595F"
    "642477FE96BB2A941D5BCD1D4AC8CC49880708FA9B378E3C4F3A9060BEE67CF9A4A4A695811051907E162753B56B0F"
    "6B410DBA74D8A84B2A14B3144E0EF1284754FD17ED950D5965B4B9DD46582DB1178D169C6BC465B0D6FF9CA3928FEF"
    "5B9AE4E418FC15E83EBEA0F87FA9FF5EED70050DED2849F47BF959D956850CE929851F0D8115F635B105EE2E4E15D0"
    "4B2454BF6F4FADF034B10403119CD8E3B92FCC5B",
    16,
)
DH_G = 3
_SAFETY = 2 ** (2048 - 64)  # g_a, g_b must lie in (2^1984, dh_prime - 2^1984)
# The server's secret exponent: 320 bits instead of 2048 makes its two modular exponentiations
# ~6x cheaper in pure Python. Invisible to clients (g_a is still a full-size group element) and
# ample for a test server's throwaway keys.
_SECRET_BITS = 320

# pq = p*q with p < q primes just under 2^31, as Telegram sends (a ~62-bit number the client
# factorises); a few fixed pairs keep the server's side free of prime searching.
_PQ_PAIRS = (
    (1229739323, 1402015859),
    (1306470871, 1815657353),
    (1438213963, 1734102637),
    (1592335777, 2063391287),
)


class KeyExchangeError(Exception):
    """A key-exchange message the server cannot accept (bad nonce, RSA, hash, order)."""


@lru_cache(maxsize=1)
def test_private_key() -> rsa.PrivateKey:
    pem = resources.files(__package__).joinpath("test_rsa_key.pem").read_bytes()
    return rsa.PrivateKey.load_pkcs1(pem)


def test_public_key_pem() -> bytes:
    """The PKCS#1 public key of the shipped test keypair (what Telethon's add_key reads)."""
    key = test_private_key()
    return rsa.PublicKey(key.n, key.e).save_pkcs1()


def test_key_fingerprint() -> int:
    key = test_private_key()
    return _compute_fingerprint(rsa.PublicKey(key.n, key.e))


def trust_test_key() -> int:
    """Make this process's Telethon accept the fake's RSA key for a fresh key exchange.

    Only needed for sessions without an auth key (e.g. a bot signing in with a token); sessions
    minted by the fake already hold a key. Returns the key's fingerprint.
    """
    add_key(test_public_key_pem().decode(), old=False)
    return test_key_fingerprint()


def _rsa_decrypt(key: rsa.PrivateKey, value: int) -> int:
    """Raw RSA with the CRT (what `rsa` does inside, minus its PKCS#1 padding): ~3x pow(d, n)."""
    m1 = pow(value, key.exp1, key.p)
    m2 = pow(value, key.exp2, key.q)
    return m2 + (key.coef * (m1 - m2)) % key.p * key.q


def _signed(value: bytes) -> int:
    return int.from_bytes(value, "little", signed=True)


_INNER_DATA = (types.PQInnerData, types.PQInnerDataDc, types.PQInnerDataTemp, types.PQInnerDataTempDc)


def _read_inner(data: bytes) -> tuple[object, int]:
    with BinaryReader(data) as reader:
        try:
            inner = reader.tgread_object()
        except Exception as exc:  # any parse failure is a bad handshake, not a server bug
            raise KeyExchangeError(f"p_q_inner_data does not parse: {exc}") from None
        used = reader.tell_position()
    if not isinstance(inner, _INNER_DATA):
        raise KeyExchangeError(f"expected p_q_inner_data, got {type(inner).__name__}")
    return inner, used


def _p_q_inner_data(block: bytes) -> object:
    """p_q_inner_data from the RSA-decrypted 256 bytes, in either scheme clients use:
    - the old one (Telethon 1.45, Pyrogram): 0 | sha1(data) | data | random padding;
    - RSA_PAD (https://core.telegram.org/mtproto/auth_key, 4.1; GramJS 2.26):
      temp_key_xor(32) | AES256_IGE(reverse(data_with_padding) | sha256(temp_key |
      data_with_padding), temp_key, iv 0), with temp_key = temp_key_xor XOR sha256(aes part).
    Each scheme's hash decides which one it is."""
    plain = block[1:]
    if block[0] == 0 and plain[20:24] in _INNER_IDS:
        inner, used = _read_inner(plain[20:])
        if sha1(plain[20:20 + used]).digest() == plain[:20]:
            return inner
    aes_part = block[32:]
    temp_key = bytes(a ^ b for a, b in zip(block[:32], sha256(aes_part).digest()))
    data_with_hash = AES.decrypt_ige(aes_part, temp_key, bytes(32))
    data_with_padding = data_with_hash[:192][::-1]
    if sha256(temp_key + data_with_padding).digest() != data_with_hash[192:]:
        raise KeyExchangeError("encrypted_data is neither sha1-prefixed nor RSA_PAD (hash mismatch)")
    inner, _used = _read_inner(data_with_padding)
    return inner


_INNER_IDS = {cls.CONSTRUCTOR_ID.to_bytes(4, "little") for cls in _INNER_DATA}


class KeyExchange:
    """One connection's unauthenticated handshake, answered step by step."""

    def __init__(self, private_key: rsa.PrivateKey | None = None, pq_index: int | None = None,
                 *, clock: Callable[[], float] = time.time, rng: random.Random | None = None) -> None:
        self._key = private_key or test_private_key()
        self._fingerprint = _compute_fingerprint(rsa.PublicKey(self._key.n, self._key.e))
        self._clock = clock  # the core's clock: server_time in server_DH_inner_data
        if pq_index is None:  # which pq to factor: the core's seeded generator picks it
            pq_index = (rng or random.Random(0)).randrange(len(_PQ_PAIRS))
        pair = _PQ_PAIRS[pq_index]
        self._p, self._q = pair
        self._nonce: int | None = None
        self._server_nonce: int | None = None
        self._new_nonce: int | None = None
        self._a: int | None = None
        self._g_a: int | None = None
        self._tmp_key: bytes | None = None
        self._tmp_iv: bytes | None = None
        self.auth_key: bytes | None = None
        self.time_offset = 0  # not used by the server; clients compute their own

    def handle(self, request) -> object:
        if isinstance(request, (functions.ReqPqMultiRequest, functions.ReqPqRequest)):
            return self._req_pq(request)
        if isinstance(request, functions.ReqDHParamsRequest):
            return self._req_dh_params(request)
        if isinstance(request, functions.SetClientDHParamsRequest):
            return self._set_client_dh_params(request)
        raise KeyExchangeError(f"{type(request).__name__} is not a key-exchange message")

    def _req_pq(self, request) -> types.ResPQ:
        self._nonce = request.nonce
        self._server_nonce = _signed(os.urandom(16))
        pq = self._p * self._q
        return types.ResPQ(
            nonce=request.nonce, server_nonce=self._server_nonce,
            pq=get_byte_array(pq), server_public_key_fingerprints=[self._fingerprint],
        )

    def _check_nonces(self, request) -> None:
        if self._server_nonce is None:
            raise KeyExchangeError("key-exchange message before req_pq_multi")
        if request.nonce != self._nonce or request.server_nonce != self._server_nonce:
            raise KeyExchangeError("nonce or server_nonce does not match this handshake")

    def _req_dh_params(self, request) -> types.ServerDHParamsOk:
        self._check_nonces(request)
        if request.public_key_fingerprint != self._fingerprint:
            raise KeyExchangeError(f"unknown RSA key fingerprint {request.public_key_fingerprint}")
        if int.from_bytes(request.p, "big") != self._p or int.from_bytes(request.q, "big") != self._q:
            raise KeyExchangeError("p and q are not the factors of pq")
        if len(request.encrypted_data) != 256:
            raise KeyExchangeError("encrypted_data must be 256 bytes")
        value = int.from_bytes(request.encrypted_data, "big")
        if value >= self._key.n:
            raise KeyExchangeError("encrypted_data is not below the RSA modulus")
        inner = _p_q_inner_data(_rsa_decrypt(self._key, value).to_bytes(256, "big"))
        if inner.nonce != self._nonce or inner.server_nonce != self._server_nonce:
            raise KeyExchangeError("nonces inside p_q_inner_data do not match")
        self._new_nonce = inner.new_nonce
        self._tmp_key, self._tmp_iv = helpers.generate_key_data_from_nonce(
            self._server_nonce, self._new_nonce)
        while True:
            self._a = int.from_bytes(os.urandom(_SECRET_BITS // 8), "big") | 1 << (_SECRET_BITS - 1)
            self._g_a = pow(DH_G, self._a, DH_PRIME)
            if _SAFETY <= self._g_a <= DH_PRIME - _SAFETY:
                break
        answer = bytes(types.ServerDHInnerData(
            nonce=self._nonce, server_nonce=self._server_nonce, g=DH_G,
            dh_prime=get_byte_array(DH_PRIME), g_a=get_byte_array(self._g_a),
            server_time=int(self._clock()),
        ))
        with_hash = sha1(answer).digest() + answer
        with_hash += os.urandom(-len(with_hash) % 16)
        return types.ServerDHParamsOk(
            nonce=self._nonce, server_nonce=self._server_nonce,
            encrypted_answer=AES.encrypt_ige(with_hash, self._tmp_key, self._tmp_iv),
        )

    def _set_client_dh_params(self, request) -> types.DhGenOk:
        self._check_nonces(request)
        if self._a is None:
            raise KeyExchangeError("set_client_DH_params before req_DH_params")
        if len(request.encrypted_data) % 16:
            raise KeyExchangeError("encrypted_data is not whole AES blocks")
        plain = AES.decrypt_ige(request.encrypted_data, self._tmp_key, self._tmp_iv)
        digest, data = plain[:20], plain[20:]
        if data[:4] != types.ClientDHInnerData.CONSTRUCTOR_ID.to_bytes(4, "little"):
            # checked before parsing: Telethon's reader would inflate a gzip_packed without bound
            raise KeyExchangeError("expected client_DH_inner_data")
        with BinaryReader(data) as reader:
            try:
                inner = reader.tgread_object()
            except Exception as exc:
                raise KeyExchangeError(f"client_DH_inner_data does not parse: {exc}") from None
            used = reader.tell_position()
        if not isinstance(inner, types.ClientDHInnerData):
            raise KeyExchangeError(f"expected client_DH_inner_data, got {type(inner).__name__}")
        if sha1(data[:used]).digest() != digest:
            raise KeyExchangeError("SHA1 of client_DH_inner_data does not match")
        if inner.nonce != self._nonce or inner.server_nonce != self._server_nonce:
            raise KeyExchangeError("nonces inside client_DH_inner_data do not match")
        g_b = int.from_bytes(inner.g_b, "big")
        if not _SAFETY <= g_b <= DH_PRIME - _SAFETY:
            raise KeyExchangeError("g_b is outside (2^1984, dh_prime - 2^1984)")
        # Telethon keeps the minimal big-endian bytes of g^ab (so ~1 key in 256 is 255 bytes);
        # the key id is a hash of exactly those bytes, so the server must keep the same form.
        self.auth_key = get_byte_array(pow(g_b, self._a, DH_PRIME))
        new_nonce = self._new_nonce.to_bytes(32, "little", signed=True)
        digest = sha1(new_nonce + bytes([1]) + aux_hash(self.auth_key).to_bytes(8, "little")).digest()
        return types.DhGenOk(
            nonce=self._nonce, server_nonce=self._server_nonce,
            new_nonce_hash1=int.from_bytes(digest[4:20], "little", signed=True),
        )
