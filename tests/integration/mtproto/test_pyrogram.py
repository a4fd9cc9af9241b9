"""Unmodified Pyrogram (Kurigram 2.2.26, layer 229) against the MTProto fake.

Kurigram decodes every answer with its own raw types. A session string holds no address, so the
client dials DC 2's production address: botfakes' Pyrogram preload (a sitecustomize on
PYTHONPATH) sends that connection to the fake and trusts the fake's RSA key; a minted .session
file names the fake itself.
"""

from __future__ import annotations

import pytest

from .pyrogram_support import KurigramClient, needs_kurigram

pytestmark = [pytest.mark.asyncio, pytest.mark.slow, needs_kurigram]


async def _flow(mtproto, client: KurigramClient, user: dict) -> None:
    me = await client.step()
    assert me == {"step": "get_me", "id": user["id"], "first_name": "User", "is_bot": False,
                  "username": None}
    sent = await client.step()
    assert sent == {"step": "send_message", "id": 1, "text": "hello from Kurigram", "outgoing": True}
    history = await client.step()
    assert history["ids"] == list(range(40, 0, -1)) and history["chat"] == "crypto_signals"
    assert all("$" in t and "#" in t for t in history["texts"])
    assert (await client.step())["step"] == "listening"
    posted = await mtproto.aio.post("crypto_signals", "$SOL airdrop season, #airdrop")
    assert posted["delivered"] == 1
    assert await client.step() == {"step": "update", "id": posted["id"],
                                   "text": "$SOL airdrop season, #airdrop", "chat": "crypto_signals"}
    assert await client.finish() == 0, client.other


async def test_minted_session_string(mtproto):
    minted = await mtproto.aio.mint_session(format="pyrogram")
    client = await KurigramClient.start(mtproto, "string", {"session": minted["session"]})
    try:
        await _flow(mtproto, client, minted["user"])
    finally:
        client.kill()
    requests = await mtproto.plane.aio.journal(fake="mtproto", kind="request", method="invokeWithLayer")
    assert [e["data"]["params"]["layer"] for e in requests] == [229]
    assert await mtproto.plane.aio.journal(fake="mtproto", kind="response", ok=False) == []


async def test_minted_session_file(mtproto, tmp_path):
    minted = await mtproto.aio.mint_session(format="pyrogram-file", path=str(tmp_path / "bot.session"))
    assert minted["session"] == minted["path"] == str(tmp_path / "bot.session")
    client = await KurigramClient.start(mtproto, "file", {"path": minted["path"]})
    try:
        await _flow(mtproto, client, minted["user"])
    finally:
        client.kill()


async def test_fresh_bot_sign_in_through_the_key_exchange(mtproto):
    bot = await mtproto.aio.create_bot("signals_bot", "Signals")
    client = await KurigramClient.start(mtproto, "bot", {"token": bot["token"]})
    try:
        me = await client.step()
        assert me["is_bot"] and me["username"] == "signals_bot" and me["id"] == bot["id"]
        assert (await client.step())["step"] == "saved"
        assert await client.finish() == 0, client.other
    finally:
        client.kill()
    steps = [e["method"] for e in await mtproto.plane.aio.journal(fake="mtproto", kind="response")]
    assert steps[:3] == ["req_pq_multi", "req_DH_params", "set_client_DH_params"]
    assert "auth.importBotAuthorization" in steps
