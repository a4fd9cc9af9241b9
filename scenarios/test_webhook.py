"""Bot API webhook mode: never polls, rejects forged requests, falls back when setWebhook fails."""

from __future__ import annotations

import json

from botfakes.fakes.control.journal import Event

from .harness import WEBHOOK_PATH, BotProcess, Harness
from .plugin import requires


def webhook_set(e: Event) -> bool:
    return (e.fake == "botapi" and e.kind == "response" and e.method.lower() == "setwebhook"
            and bool((e.outcome or {}).get("ok")))


def is_get_updates(e: Event) -> bool:
    return e.fake == "botapi" and e.kind == "request" and e.method.lower() == "getupdates"


def start_webhook_bot(h: Harness) -> BotProcess:
    bot = h.start_bot("A", webhook=True)
    assert h.wait_for(webhook_set, timeout=60), "the bot never set its webhook"
    return bot


@requires("webhook")
def test_webhook_mode_never_polls(harness: Harness) -> None:
    """Webhook mode plus a polling start (seed 004): no getUpdates while the webhook is set."""
    h = harness
    h.mint()
    bot = start_webhook_bot(h)
    chats = [h.new_chat(), h.new_chat(group=True), h.new_chat()]
    for chat in chats:
        h.send(chat)
    missing = h.wait_replies(chats)
    polls = h.events(is_get_updates)
    if polls:
        answers = h.events(lambda e: e.kind == "response" and e.request == polls[0].seq)
        text = answers[0].outcome.get("text", "") if answers and answers[0].outcome else ""
        raise h.found("polling-while-webhook", f"409 {text}" if text else "getUpdates sent",
                      f"{len(polls)} getUpdates call(s) from instance {h.owner(polls[0].conn)} "
                      "while its webhook was set")
    if missing:
        raise h.found("lost-updates", f"{len(missing)} webhook updates never answered",
                      f"chats: {missing}", *bot.output().splitlines()[-3:])


@requires("webhook")
def test_forged_webhook_requests(harness: Harness) -> None:
    """Requests to the webhook without the secret, or with a wrong one, are rejected unhandled."""
    h = harness
    h.mint()
    bot = start_webhook_bot(h)
    forged = {"none": h.new_chat(), "wrong": h.new_chat()}
    statuses = {}
    for kind, chat in forged.items():
        update = {"update_id": 900_000 + chat % 1000, "message": {
            "message_id": 1, "date": 1_700_000_000, "text": h.spec.probe,
            "chat": {"id": chat, "type": "private", "first_name": "mallory"},
            "from": {"id": chat, "is_bot": False, "first_name": "mallory"},
            "entities": [{"type": "bot_command", "offset": 0, "length": len(h.spec.probe.split()[0])}],
        }}
        headers = {"Content-Type": "application/json"}
        if kind == "wrong":
            headers["X-Telegram-Bot-Api-Secret-Token"] = "not-" + h.webhook_secret
        statuses[kind], _ = h.http(bot, "POST", WEBHOOK_PATH, body=json.dumps(update).encode(),
                                   headers=headers)
    real = h.new_chat()
    h.send(real)
    missing = h.wait_replies([real])
    handled = {kind: len(h.sent_to(chat)) for kind, chat in forged.items()}
    if any(handled.values()):
        raise h.found("forged-webhook", "a forged update was answered",
                      f"HTTP status to the forged requests: {statuses}",
                      f"messages sent into the forged chats: {handled}")
    if missing:
        raise h.found("lost-updates", "the genuine webhook update was never answered",
                      *bot.output().splitlines()[-3:])


@requires("webhook", "polling")
def test_set_webhook_failure_falls_back_to_polling(harness: Harness) -> None:
    """setWebhook fails: the bot falls back to polling and still handles updates."""
    h = harness
    h.mint()
    h.control.add_fault(
        "botapi", "setWebhook", "error",
        error={"error_code": 400,
               "description": "Bad Request: bad webhook: Failed to resolve host: Name or service not known"},
    )
    bot = h.start_bot("A", webhook=True)
    failed = h.wait_for(lambda e: e.fake == "botapi" and e.kind == "response"
                        and e.method.lower() == "setwebhook", timeout=60)
    assert failed, "the bot never called setWebhook"
    polled = h.wait_for(lambda e: is_get_updates(e) or (e.fake == "harness" and e.method == "bot exited"),
                        timeout=30)
    if not polled or not is_get_updates(polled[0]):
        raise h.found("no-polling-fallback", f"400 {failed[0].outcome.get('text', '')}",
                      "after setWebhook failed the bot " + ("exited" if polled else "never polled"),
                      *bot.output().splitlines()[-3:])
    chats = [h.new_chat(), h.new_chat()]
    for chat in chats:
        h.send(chat)
    missing = h.wait_replies(chats)
    if missing:
        raise h.found("no-polling-fallback", "updates not answered after the fallback",
                      f"chats: {missing}")


