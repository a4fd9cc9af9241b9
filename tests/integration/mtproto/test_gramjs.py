"""Unmodified GramJS 2.26 (npm `telegram`, layer 198) against the MTProto fake.

GramJS decodes every answer with its own layer-198 deserializer: a constructor from another
layer would fail it (`TypeNotFoundError`). The fake's address and RSA key reach GramJS only
through botfakes' preload (NODE_OPTIONS=--require), never through client options.
"""

from __future__ import annotations

import pytest

from .gramjs_support import NodeClient, needs_gramjs

pytestmark = [pytest.mark.asyncio, pytest.mark.slow, needs_gramjs]


async def test_minted_session_get_me_send_history_and_a_new_post(mtproto):
    minted = await mtproto.aio.mint_session(format="gramjs")
    assert minted["session"].startswith("1") and minted["port"] <= 32767
    client = await NodeClient.start(mtproto, "session", {"session": minted["session"]})
    try:
        me = (await client.step())["user"]
        assert me == {"className": "User", "id": str(minted["user"]["id"]), "firstName": "User",
                      "username": None, "bot": False, "self": True}
        sent = await client.step()
        assert sent == {"step": "sendMessage", "id": 1, "out": True, "text": "hello from GramJS"}
        history = await client.step()
        assert history["ids"] == list(range(40, 0, -1)) and history["total"] == 40
        assert history["className"] == "Message" and history["channel"] == "PeerChannel"
        assert all("$" in t and "#" in t for t in history["texts"])
        assert (await client.step())["step"] == "listening"

        stats = await mtproto.plane.aio.stats()
        assert stats["fakes"]["mtproto"]["layers_in_use"] == {"198": 1}
        posted = await mtproto.aio.post("crypto_signals", "$BTC breaks out, #ETF flows")
        assert posted["delivered"] == 1
        update = await client.step()
        assert update == {"step": "update", "id": posted["id"], "text": "$BTC breaks out, #ETF flows",
                          "peer": "PeerChannel", "channelId": str(posted["channel_id"])}
        assert await client.finish() == 0
    finally:
        client.kill()
    requests = await mtproto.plane.aio.journal(fake="mtproto", kind="request")
    assert requests[0]["method"] == "invokeWithLayer"
    assert requests[0]["data"]["params"]["layer"] == 198
    assert await mtproto.plane.aio.journal(fake="mtproto", kind="response", ok=False) == []


async def test_fresh_bot_sign_in_through_the_key_exchange(mtproto):
    bot = await mtproto.aio.create_bot("signals_bot", "Signals")
    client = await NodeClient.start(mtproto, "bot-login", {"token": bot["token"]})
    try:
        me = (await client.step())["user"]
        assert me["bot"] and me["username"] == "signals_bot" and me["id"] == str(bot["id"])
        assert (await client.step())["session"].startswith("1")
        assert await client.finish() == 0
    finally:
        client.kill()
    steps = [e["method"] for e in await mtproto.plane.aio.journal(fake="mtproto", kind="response")]
    # GramJS pads its inner data with RSA_PAD (Telethon and Pyrogram do not): both are accepted
    assert steps[:4] == ["req_pq_multi", "req_DH_params", "set_client_DH_params", "invokeWithLayer"]
    assert "auth.importBotAuthorization" in steps
    keys = [k for k in await mtproto.aio.keys() if not k["minted"]]
    assert [k["user_id"] for k in keys] == [bot["id"]]
