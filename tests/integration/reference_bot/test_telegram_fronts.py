"""The reference bot's Bot API side (seeds 001, 004) as a subprocess against the fake Bot API."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from botfakes.reference_bot.telegram.guard import EXIT_ANOTHER_INSTANCE

from .conftest import get_json, webhook_env

pytestmark = pytest.mark.slow
USERNAME = "trader_ref_bot"


def chat_of(injected: dict) -> int:
    return injected["message"]["chat"]["id"]


def texts(botapi, token: str, chat_id: int) -> list[str]:
    return [e["text"] for e in botapi.sent(token).get(chat_id, []) if e.get("method") == "sendMessage"]


def requests_of(botapi, method: str, bot_id: int) -> list[dict]:
    return [e for e in botapi.control.journal(fake="botapi", kind="request", method=method, limit=None)
            if e["data"].get("bot_id") == bot_id]


def bot_id(token: str) -> int:
    return int(token.split(":")[0])



def post_update(url: str, body: bytes, secret: str | None) -> int:
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    if secret is not None:
        req.add_header("X-Telegram-Bot-Api-Secret-Token", secret)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def send_commands(botapi, token: str) -> dict[str, int]:
    """/start and /help in private chats and groups (one chat each: no flood wait), plus one
    command addressed to another bot, which must stay unanswered. Returns name -> chat id."""
    chats = {
        "private /start": chat_of(botapi.send_message(token, "/start", user={"id": 501})),
        "private /help": chat_of(botapi.send_message(token, "/help", user={"id": 502})),
        "group /start": chat_of(botapi.send_message(token, f"/start@{USERNAME}", user={"id": 503},
                                                    chat={"type": "group", "id": -1001})),
        "group /help": chat_of(botapi.send_message(token, "/help", user={"id": 504},
                                                   chat={"type": "supergroup", "id": -1002})),
        "other bot": chat_of(botapi.send_message(token, "/help@some_other_bot", user={"id": 505},
                                                 chat={"type": "group", "id": -1003})),
    }
    return chats


def check_command_replies(botapi, token: str, chats: dict[str, int]) -> None:
    botapi.wait_sent(token, count=4, timeout=15)
    for name, chat_id in chats.items():
        got = texts(botapi, token, chat_id)
        if name == "other bot":
            assert got == [], got
        elif name.endswith("/start"):
            assert len(got) == 1 and got[0].startswith("Hello!"), (name, got)
        else:
            assert len(got) == 1 and got[0].startswith("Trading bot commands"), (name, got)


def test_polling_answers_commands_in_private_chats_and_groups(botapi, bot_env, run_bot):
    token = bot_env["TELEGRAM_BOT_TOKEN"]
    bot = run_bot(bot_env)
    assert bot.ready["mode"] == "polling"
    chats = send_commands(botapi, token)
    check_command_replies(botapi, token, chats)
    # deleteWebhook came before the first getUpdates (a leftover webhook would 409 every poll).
    first_delete = requests_of(botapi, "deleteWebhook", bot_id(token))[0]["seq"]
    first_poll = requests_of(botapi, "getUpdates", bot_id(token))[0]["seq"]
    assert first_delete < first_poll
    assert bot.stop() == 0
    assert texts(botapi, token, chats["other bot"]) == []
    assert botapi.control.journal(fake="botapi", kind="response", code=409) == []


def test_getme_failing_at_start_is_retried_with_backoff(botapi, bot_env, run_bot):
    """getMe answers 500 twice: the bot retries (backoff.retrying), learns its username, and so
    answers /cmd@its_name in a group and ignores /cmd@other_bot."""
    token = bot_env["TELEGRAM_BOT_TOKEN"]
    botapi.control.add_fault(fake="botapi", method="getMe", action="error", times=2,
                             error={"error_code": 500, "description": "Internal Server Error"})
    run_bot(bot_env)
    chats = send_commands(botapi, token)
    check_command_replies(botapi, token, chats)
    outcomes = [e["outcome"] for e in botapi.control.journal(fake="botapi", kind="response", method="getMe")]
    assert [o.get("code") for o in outcomes] == [500, 500, None] and outcomes[-1]["ok"], outcomes


def test_a_token_the_bot_api_refuses_stops_the_bot_with_exit_4(botapi, bot_env, run_bot):
    """401 is not retried: no backoff can fix a wrong token."""
    bot = run_bot({**bot_env, "TELEGRAM_BOT_TOKEN": "123456789:AAunknownTokenOfNoBotAtAll_000000000"}, wait=False)
    assert bot.wait(20) == 4, bot.output()
    assert "the Bot API refused this token" in bot.output()
    assert len(botapi.control.journal(fake="botapi", kind="response", method="getMe")) == 1


def test_429_retry_after_is_honoured(botapi, bot_env, run_bot):
    """The first reply is refused with 429 retry_after=1: the bot waits that long and retries."""
    token = bot_env["TELEGRAM_BOT_TOKEN"]
    run_bot(bot_env)
    botapi.control.add_fault(fake="botapi", method="sendMessage", action="error", times=1, error={
        "error_code": 429, "description": "Too Many Requests: retry after 1", "parameters": {"retry_after": 1}})
    chat = chat_of(botapi.send_message(token, "/start", user={"id": 601}))
    (ok,) = botapi.wait_sent(token, count=1, timeout=20)
    assert texts(botapi, token, chat)[0].startswith("Hello!")
    (refused,) = botapi.control.journal(fake="botapi", kind="response", method="sendMessage", code=429)
    assert ok["time"] - refused["time"] >= 1.0  # not before retry_after


def test_flood_control_of_one_chat_is_waited_out(botapi, bot_env, run_bot):
    """Two commands in one chat: replies within the fake's 1 message/s per chat are both sent."""
    token = bot_env["TELEGRAM_BOT_TOKEN"]
    run_bot(bot_env)
    chat = chat_of(botapi.send_message(token, "/start", user={"id": 602}))
    botapi.send_message(token, "/help", user={"id": 602})
    botapi.wait_sent(token, count=2, timeout=20)
    got = texts(botapi, token, chat)
    assert got[0].startswith("Hello!") and got[1].startswith("Trading bot commands")


def test_webhook_mode_answers_commands_and_never_polls(botapi, bot_env, run_bot):
    token = bot_env["TELEGRAM_BOT_TOKEN"]
    env = webhook_env(bot_env)
    bot = run_bot(env)
    assert bot.ready["mode"] == "webhook"
    (set_webhook,) = requests_of(botapi, "setWebhook", bot_id(token))
    assert set_webhook["data"]["params"]["url"] == env["WEBHOOK_URL"] + env["WEBHOOK_PATH"]
    assert set_webhook["data"]["params"]["secret_token"] == env["WEBHOOK_SECRET"]
    chats = send_commands(botapi, token)
    check_command_replies(botapi, token, chats)
    status, health = get_json(bot.url + "/health")
    assert status == 200 and health["mode"] == "webhook"
    assert bot.stop() == 0
    assert requests_of(botapi, "getUpdates", bot_id(token)) == []  # seed 004: no polling at all
    assert botapi.control.journal(fake="botapi", kind="response", code=409) == []


def test_webhook_rejects_forged_updates_without_handling_them(botapi, bot_env, run_bot):
    token = bot_env["TELEGRAM_BOT_TOKEN"]
    env = webhook_env(bot_env)
    bot = run_bot(env)
    hook = bot.url + env["WEBHOOK_PATH"]
    update = {"update_id": 1, "message": {"message_id": 1, "date": 0, "text": "/start",
                                          "chat": {"id": 777, "type": "private"}, "from": {"id": 777}}}
    body = json.dumps(update).encode()
    assert post_update(hook, body, None) == 401
    assert post_update(hook, body, env["WEBHOOK_SECRET"] + "x") == 401
    assert post_update(hook, b"not json", env["WEBHOOK_SECRET"]) == 200  # bad update: no retry wanted
    # A real update through the fake still works, so the forged one would have been answered.
    chat = chat_of(botapi.send_message(token, "/help", user={"id": 701}))
    botapi.wait_sent(token, count=1)
    assert bot.stop() == 0
    assert set(botapi.sent(token)) == {chat}  # nothing was sent to the forged chat 777


def test_webhook_answers_500_on_own_failure_so_telegram_redelivers(botapi, bot_env, run_bot):
    token = bot_env["TELEGRAM_BOT_TOKEN"]
    run_bot(webhook_env(bot_env))
    # The bot's reply is cut off once: it could not answer, so the webhook must answer 500 and
    # Telegram must deliver the update again (after its 1 s backoff). "close" cuts the connection;
    # "drop" would leave the request unanswered until the bot's own timeout.
    botapi.control.add_fault(fake="botapi", method="sendMessage", action="close", times=1)
    injected = botapi.send_message(token, "/help", user={"id": 801})
    botapi.control.wait(count=2, timeout=20, fake="botapi", kind="note", method="webhook")
    deliveries = [n["data"] for n in botapi.control.journal(fake="botapi", kind="note", method="webhook")
                  if n["data"]["update_id"] == injected["update_id"]]
    assert deliveries[0]["delivered"] is False
    assert deliveries[0]["error"].startswith("Wrong response from the webhook: 500")
    assert deliveries[1]["delivered"] is True
    assert texts(botapi, token, chat_of(injected)) == [texts(botapi, token, chat_of(injected))[0]]
    assert texts(botapi, token, chat_of(injected))[0].startswith("Trading bot commands")


def test_webhook_setup_failure_falls_back_to_polling(botapi, bot_env, run_bot):
    token = bot_env["TELEGRAM_BOT_TOKEN"]
    env = {**webhook_env(bot_env), "WEBHOOK_URL": "ftp://127.0.0.1"}  # refused by setWebhook
    bot = run_bot(env)
    assert bot.ready["mode"] == "polling"
    chat = chat_of(botapi.send_message(token, "/start", user={"id": 901}))
    botapi.wait_sent(token, count=1)
    assert texts(botapi, token, chat)[0].startswith("Hello!")
    (refused,) = [e for e in botapi.control.journal(fake="botapi", kind="response", method="setWebhook")]
    assert refused["outcome"]["code"] == 400


def test_second_instance_exits_non_zero_naming_the_first(botapi, bot_env, run_bot):
    first = run_bot(bot_env)
    second = run_bot(bot_env, wait=False)
    assert second.wait(20) == EXIT_ANOTHER_INSTANCE
    log = second.output()
    assert "another instance of this bot is already running" in log
    assert f"pid {first.pid}" in log
    assert first.alive
    assert botapi.control.journal(fake="botapi", kind="response", code=409) == []


def test_health_reports_status_mode_uptime_and_no_secrets(bot_env, run_bot):
    bot = run_bot({**bot_env, "WEBHOOK_SECRET": "do_not_leak_me"})
    status, health = get_json(bot.url + "/health")
    assert status == 200
    assert health["status"] == "ok" and health["mode"] == "polling" and health["uptime"] >= 0
    flat = json.dumps(health)
    assert str(bot.pid) not in flat.replace(str(health["uptime"]), "")
    assert "pid" not in health
    assert bot_env["TELEGRAM_BOT_TOKEN"] not in flat and "do_not_leak_me" not in flat


def test_sigterm_stops_gracefully_and_frees_the_lock(bot_env, run_bot):
    bot = run_bot(bot_env)
    assert bot.stop() == 0
    again = run_bot(bot_env)  # the same DATA_DIR: the lock was released
    assert again.ready["mode"] == "polling"


def wait_for_replies(botapi, chats: list[int], since: int, timeout: float = 15.0) -> None:
    """Until every chat got a reply the fake accepted after journal event `since`."""
    for chat in chats:
        botapi.control.wait(count=1, timeout=timeout, fake="botapi", kind="response", method="sendMessage",
                            ok=True, params={"chat_id": chat}, since=since)


def test_kill9_in_a_burst_loses_no_update(botapi, bot_env, run_bot):
    """kill -9 while a fetched batch is being handled: after a restart every update is answered,
    and the updates handled before the kill are not handled again.

    python-telegram-bot would lose the in-flight batch here: its next getUpdates, sent as soon as
    the batch was fetched, already confirmed it."""
    token = bot_env["TELEGRAM_BOT_TOKEN"]
    control = botapi.control
    bot = run_bot(bot_env)
    handled = [chat_of(botapi.send_message(token, "/help", user={"id": 1000 + i})) for i in range(8)]
    botapi.wait_sent(token, count=8)
    # Hold the next reply so the bot sits on a one-update batch while the burst queues up.
    first_gate = control.add_gate(fake="botapi", method="sendMessage")
    handled.append(chat_of(botapi.send_message(token, "/help", user={"id": 1999})))
    control.wait_held(first_gate["id"], count=1)
    burst = [chat_of(botapi.send_message(token, "/start", user={"id": 2000 + i})) for i in range(11)]
    # Hold every reply of the burst, let the first one go: the bot fetches the whole burst in
    # one batch and is handling all of it when it dies.
    burst_gate = control.add_gate(fake="botapi", method="sendMessage")
    control.release_gate(first_gate["id"])
    control.wait_held(burst_gate["id"], count=11)
    bot.kill()
    # The dead process's held replies must not reach the chats (faults apply after gates), so
    # every burst reply seen below comes from the restarted bot handling the burst again.
    control.add_fault(fake="botapi", method="sendMessage", action="drop", times=11)
    control.remove_gate(burst_gate["id"])
    control.wait(count=11, timeout=15, fake="botapi", kind="response", method="sendMessage", code="drop")
    assert all(texts(botapi, token, chat) == [] for chat in burst)
    restarted_at = control.journal(limit=1)[-1]["seq"]
    run_bot(bot_env)
    wait_for_replies(botapi, burst, since=restarted_at)
    for chat in burst:
        got = texts(botapi, token, chat)
        assert len(got) == 1 and got[0].startswith("Hello!"), (chat, got)
    for chat in handled:
        assert len(texts(botapi, token, chat)) == 1, chat  # handled before the kill: not redone


def test_polling_retries_an_update_whose_reply_failed(botapi, bot_env, run_bot):
    """The reply is cut off once: the update stays unconfirmed and is handled again."""
    token = bot_env["TELEGRAM_BOT_TOKEN"]
    run_bot(bot_env)
    botapi.control.add_fault(fake="botapi", method="sendMessage", action="close", times=1)
    injected = botapi.send_message(token, "/help", user={"id": 1501})
    botapi.wait_sent(token, count=1, timeout=20)
    assert len(texts(botapi, token, chat_of(injected))) == 1
    (dropped,) = botapi.control.journal(fake="botapi", kind="response", method="sendMessage", code="close")
    next_poll = next(p for p in requests_of(botapi, "getUpdates", bot_id(token)) if p["seq"] > dropped["seq"])
    assert int(next_poll["data"]["params"]["offset"]) == injected["update_id"]  # not confirmed
