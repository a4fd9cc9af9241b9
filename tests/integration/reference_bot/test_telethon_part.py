"""The reference bot's Telethon side (seeds 000, 002) against the MTProto fake, real Telethon inside."""

from __future__ import annotations

import concurrent.futures

import pytest

from .conftest import get_json, needs_mtproto

pytestmark = [pytest.mark.slow, needs_mtproto]
KINDS = ("channels", "coins", "topics")



def all_at_once(bot) -> list[tuple[int, dict]]:
    with concurrent.futures.ThreadPoolExecutor(len(KINDS)) as pool:
        return list(pool.map(lambda kind: get_json(f"{bot.url}/trending-{kind}"), KINDS))


@pytest.fixture
def telethon_env(mtproto, bot_env):
    return {**bot_env, "TELEGRAM_API_ID": str(mtproto.api_id), "TELEGRAM_API_HASH": mtproto.api_hash,
            "TELETHON_SESSION": mtproto.string_session(),
            "TRENDING_CHANNELS": "crypto_signals,defi_daily,altcoin_radar"}


def hold_connects(mtproto, count: int) -> dict:
    """A gate that holds every client's first call (invokeWithLayer) until `count` are in: the
    connections are then certainly open at the same time."""
    return mtproto.plane.add_gate(fake="mtproto", method="invokeWithLayer", count=count)


def test_concurrent_trending_requests_share_one_connection(mtproto, telethon_env, run_bot):
    bot = run_bot(telethon_env)
    results = all_at_once(bot)
    for kind, (status, body) in zip(KINDS, results):
        assert status == 200, body
        assert body[kind], body
    coins = results[1][1]["coins"]
    assert all(c["coin"].isupper() and c["mentions"] > 0 for c in coins), coins
    assert [c["mentions"] for c in coins] == sorted((c["mentions"] for c in coins), reverse=True)
    journal = mtproto.plane.journal(fake="mtproto", limit=None)
    assert len([e for e in journal if e["kind"] == "connect"]) == 1
    assert [e for e in journal if e["kind"] == "response" and e["outcome"].get("code") == 406] == []
    # Cached: a second round reads no history.
    requests_before = len(mtproto.plane.journal(fake="mtproto", kind="request", limit=None))
    assert all(body["cached"] for _, body in all_at_once(bot))
    assert len(mtproto.plane.journal(fake="mtproto", kind="request", limit=None)) == requests_before


def test_trending_command_in_private_chat_and_group(botapi, telethon_env, run_bot):
    token = telethon_env["TELEGRAM_BOT_TOKEN"]
    run_bot(telethon_env)
    private = botapi.send_message(token, "/trending", user={"id": 3001})["message"]["chat"]["id"]
    group = botapi.send_message(token, "/trending@trader_ref_bot", user={"id": 3002},
                                chat={"type": "supergroup", "id": -3003})["message"]["chat"]["id"]
    botapi.wait_sent(token, count=2, timeout=20)
    sent = botapi.sent(token)
    for chat in (private, group):
        (entry,) = sent[chat]
        assert entry["text"].startswith("Trending now") and "Coins:" in entry["text"], entry


def test_session_file_works_and_one_client_connects(mtproto, telethon_env, run_bot, tmp_path):
    path = mtproto.session_file(str(tmp_path / "trader.session"))
    bot = run_bot({**telethon_env, "TELETHON_SESSION": path})
    assert [status for status, _ in all_at_once(bot)] == [200, 200, 200]
    assert len(mtproto.plane.journal(fake="mtproto", kind="connect", limit=None)) == 1


def test_naive_client_per_request_gets_auth_key_duplicated(mtproto, telethon_env, run_bot):
    """Seed 000's bug, forced: three requests, three clients, all connected at once."""
    hold_connects(mtproto, count=3)
    bot = run_bot({**telethon_env, "BOT_VARIANT": "naive_client_per_request"})
    results = all_at_once(bot)
    assert any(status == 503 and body["error"] == "AuthKeyDuplicatedError" for status, body in results), results
    assert mtproto.plane.journal(fake="mtproto", kind="response", code=406)


def test_reference_survives_the_same_forced_race(mtproto, telethon_env, run_bot):
    """The gate that breaks the naive variant would wait for three connections: the reference
    opens one, so release it by hand once that one is held, and everything succeeds."""
    gate = hold_connects(mtproto, count=None)
    bot = run_bot(telethon_env)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pending = pool.submit(all_at_once, bot)
        mtproto.plane.wait_held(gate["id"], count=1)
        mtproto.plane.release_gate(gate["id"])
        results = pending.result(timeout=30)
    assert [status for status, _ in results] == [200, 200, 200]
    assert mtproto.plane.gate(gate["id"])["total_held"] == 1


def test_naive_shared_session_file_hits_database_is_locked(mtproto, telethon_env, run_bot, tmp_path):
    """Seed 002's bug: two clients on one .session file, unserialized. SQLite's 5 s busy
    timeout is part of the bug, so this test takes that long."""
    path = mtproto.session_file(str(tmp_path / "shared.session"))
    bot = run_bot({**telethon_env, "TELETHON_SESSION": path, "BOT_VARIANT": "naive_shared_session_file"})
    # One request per worker, one after the other: the first worker keeps its write transaction
    # open (Telethon commits on its next save), the second waits for the file and gives up.
    status, body = get_json(f"{bot.url}/trending-coins")
    assert status == 200, body
    status, body = get_json(f"{bot.url}/trending-topics")
    assert status == 503, body
    assert body["error"] == "OperationalError" and "database is locked" in body["detail"], body


def test_a_second_process_on_the_same_session_file_is_refused(mtproto, telethon_env, run_bot, tmp_path):
    """Seed 002: "no second client on the same session", across processes too (own DATA_DIRs,
    so the instance guard does not stop it first)."""
    path = mtproto.session_file(str(tmp_path / "one.session"))
    run_bot({**telethon_env, "TELETHON_SESSION": path})
    second = run_bot({**telethon_env, "TELETHON_SESSION": path, "DATA_DIR": str(tmp_path / "other")}, wait=False)
    assert second.wait(20) == 3
    assert "is in use by another process" in second.output()
