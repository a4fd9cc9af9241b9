"""Bot API webhook mode: never polls, rejects forged requests, falls back when setWebhook fails."""

from __future__ import annotations

import json
import urllib.parse

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
    h.wait_ready(bot)
    found = h.wait_for(webhook_set, timeout=60)
    assert found, "the bot never set its webhook"
    # Where the bot registered its webhook: the path forged requests go to (the bot may add its
    # own path to WEBHOOK_URL instead of WEBHOOK_PATH).
    request = h.events(lambda e: e.seq == found[0].request)
    url = str(((request[0].data.get("params") or {}).get("url") if request else "") or "")
    bot.webhook_path = urllib.parse.urlsplit(url).path or WEBHOOK_PATH  # type: ignore[attr-defined]
    return bot


def webhook_reply(body: bytes) -> str | None:
    """The Bot API method a bot answered in its webhook response body, if it did (a "webhook
    reply": the update handled without a call of its own)."""
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    return str(payload["method"]) if isinstance(payload, dict) and payload.get("method") else None


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
    statuses, inline = {}, {}
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
        statuses[kind], body = h.http(bot, "POST", bot.webhook_path, body=json.dumps(update).encode(),
                                      headers=headers)
        method = webhook_reply(body)
        if method:
            inline[kind] = method
    # A genuine update after the forged ones: once it is answered, a bot that handles updates
    # has had its turn with the forged ones as well.
    real = h.new_chat()
    h.send(real)
    missing = h.wait_replies([real])
    # What the bot did with a forged update: any Bot API call about its chat, whatever the fake
    # answered (the forged chats do not exist, so a reply gets "400 Bad Request: chat not found"),
    # or a method in its webhook response.
    calls = h.events(lambda e: h.is_call_for(e, forged.values()))
    if calls or inline:
        first = calls[0] if calls else None
        answers = h.events(lambda e: first is not None and e.kind == "response" and e.request == first.seq)
        answer = answers[0].outcome if answers and answers[0].outcome else {}
        seen = [f"{e.method}(chat_id={(e.data.get('params') or {}).get('chat_id')})" for e in calls[:4]]
        raise h.found(
            "forged-webhook",
            f"a forged update was handled: the bot called {first.method if first else inline}"
            + (f" for it (answered {answer.get('code')} {answer.get('text', '')})"
               if answer and not answer.get("ok") else ""),
            f"HTTP status to the forged requests (no secret / wrong secret): {statuses}",
            f"Bot API calls for the forged chats: {', '.join(seen) or '-'}",
            *( [f"methods answered in the webhook response: {inline}"] if inline else []))
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
    h.wait_ready(bot)
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


