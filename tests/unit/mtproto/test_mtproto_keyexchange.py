"""The server's key exchange and message crypto, checked against Telethon's own client code."""

from __future__ import annotations

import logging
import os
import struct
from collections import defaultdict
from io import BytesIO

import pytest
from telethon.crypto import AuthKey
from telethon.errors import SecurityError
from telethon.extensions import BinaryReader
from telethon.network import authenticator
from telethon.network.mtprotostate import MTProtoState
from telethon.tl import functions

from botfakes.fakes.mtproto import crypto
from botfakes.fakes.mtproto.keyexchange import KeyExchange, KeyExchangeError, trust_test_key
from botfakes.fakes.mtproto.session import read_object

LOGGERS = defaultdict(lambda: logging.getLogger("test"))


class WireSender:
    """Telethon's MTProtoPlainSender stand-in that carries each step over real TL bytes."""

    def __init__(self, exchange: KeyExchange) -> None:
        self.exchange = exchange
        self.steps = []

    async def send(self, request):
        received = read_object(bytes(request))  # what the server parses off the wire
        self.steps.append(type(received).__name__)
        answer = self.exchange.handle(received)
        with BinaryReader(bytes(answer)) as reader:
            return reader.tgread_object()


@pytest.mark.asyncio
async def test_telethon_authenticator_completes_against_the_server():
    trust_test_key()
    exchange = KeyExchange()
    sender = WireSender(exchange)
    auth_key, _offset = await authenticator.do_authentication(sender)
    assert sender.steps == ["ReqPqMultiRequest", "ReqDHParamsRequest", "SetClientDHParamsRequest"]
    assert auth_key.key == exchange.auth_key  # same bytes, so the same key id on both sides
    assert auth_key.key_id == crypto.auth_key_id(exchange.auth_key)


@pytest.mark.asyncio
async def test_untrusted_key_is_refused_by_telethon():
    from telethon.crypto import rsa
    exchange = KeyExchange()
    fingerprint = trust_test_key()
    saved = rsa._server_keys.pop(fingerprint)
    try:
        with pytest.raises(SecurityError, match="could not find a valid key"):
            await authenticator.do_authentication(WireSender(exchange))
    finally:
        rsa._server_keys[fingerprint] = saved


def test_tampered_or_out_of_order_steps_are_rejected():
    exchange = KeyExchange()
    with pytest.raises(KeyExchangeError, match="before req_pq_multi"):
        exchange.handle(functions.SetClientDHParamsRequest(1, 2, b"\x00" * 16))
    res_pq = exchange.handle(functions.ReqPqMultiRequest(nonce=7))
    p_q = (int.from_bytes(res_pq.pq, "big"),)
    assert p_q[0] > 2 ** 60
    with pytest.raises(KeyExchangeError, match="nonce"):
        exchange.handle(functions.ReqDHParamsRequest(8, res_pq.server_nonce, b"", b"", 0, b""))
    with pytest.raises(KeyExchangeError, match="fingerprint"):
        exchange.handle(functions.ReqDHParamsRequest(7, res_pq.server_nonce, b"", b"", 1, b""))


def test_server_messages_decrypt_with_telethons_state():
    key = os.urandom(256)
    state = MTProtoState(AuthKey(key), loggers=LOGGERS)
    body = bytes(functions.PingRequest(ping_id=5))  # any TL object
    import time
    msg_id = (int(time.time() * 2 ** 32) & ~3) | 1
    plaintext = struct.pack("<qqqii", 0, state.id, msg_id, 1, len(body)) + body
    message = state.decrypt_message_data(crypto.encrypt_server_message(key, crypto.auth_key_id(key), plaintext))
    assert message.msg_id == msg_id and message.obj.ping_id == 5


def test_client_messages_from_telethon_decrypt_and_wrong_msg_key_fails():
    key = os.urandom(256)
    state = MTProtoState(AuthKey(key), loggers=LOGGERS)
    buffer = BytesIO()
    state.write_data_as_message(buffer, bytes(functions.PingRequest(ping_id=9)), True)
    packet = state.encrypt_message_data(buffer.getvalue())
    plaintext = crypto.decrypt_client_message(key, packet)
    assert read_object(plaintext[32:]).ping_id == 9
    broken = bytearray(packet)
    broken[10] ^= 1
    with pytest.raises(crypto.DecryptError, match="msg_key"):
        crypto.decrypt_client_message(key, bytes(broken))
