"""Protocol-core rules of the fake Bot API, without sockets: offsets, takeover, webhook state."""

from __future__ import annotations

import json

import pytest

from botfakes.fakes.botapi import errors as E
from botfakes.fakes.botapi.core import BotApiConfig, BotApiCore, LongPoll, Reply
from botfakes.fakes.botapi.ratelimit import RateLimits

TOKEN = "123456:AAtesttokentesttokentesttokentestto"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return 1_700_000_000 + self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def core(clock: FakeClock) -> BotApiCore:
    core = BotApiCore(BotApiConfig(first_update_id=100, rate_limits=RateLimits(enabled=False)), clock)
    core.register_bot(TOKEN)
    return core


def call(core: BotApiCore, method: str, **params) -> Reply | LongPoll:
    return core.handle(TOKEN, method, {k: str(v) for k, v in params.items()})


def reply(outcome) -> Reply:
    assert isinstance(outcome, Reply), outcome
    return outcome


def ids(outcome) -> list[int]:
    r = reply(outcome)
    assert r.ok, r.body
    return [u["update_id"] for u in r.body["result"]]


def inject(core: BotApiCore, n: int, clock: FakeClock | None = None) -> None:
    for i in range(n):
        core.inject_message(TOKEN, f"hello {i}", user={"id": 42})


# ---- envelopes and method routing ----------------------------------------------------------------

def test_unknown_token_and_bad_token_shapes(core):
    assert core.handle("999:AAnope", "getMe", {}).body == {
        "ok": False, "error_code": 401, "description": "Unauthorized"}
    assert core.handle("nocolon", "getMe", {}).body["description"] == E.INVALID_TOKEN
    assert core.handle("0123:abc", "getMe", {}).status == 401


def test_method_names_are_case_insensitive_and_unknown_is_404(core):
    assert reply(call(core, "GETME")).body["result"]["id"] == 123456
    r = reply(call(core, "sendPigeon"))
    assert (r.status, r.body) == (404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"})


# ---- getUpdates offsets ----------------------------------------------------------------------------

def test_offset_confirms_and_negative_offset_keeps_last(core, clock):
    inject(core, 5)
    assert ids(call(core, "getUpdates")) == [100, 101, 102, 103, 104]
    clock.now += 10
    assert ids(call(core, "getUpdates", offset=102)) == [102, 103, 104]
    clock.now += 10
    # confirmed updates are gone even with offset 0 now
    assert ids(call(core, "getUpdates", offset=0)) == [102, 103, 104]
    clock.now += 10
    assert ids(call(core, "getUpdates", offset=-1)) == [104]
    clock.now += 10
    assert ids(call(core, "getUpdates")) == [104]


def test_limit_clamped_and_offset_far_in_future_reads_from_head(core, clock):
    inject(core, 3)
    assert ids(call(core, "getUpdates", limit=0)) == [100]  # clamped to 1
    clock.now += 10
    assert ids(call(core, "getUpdates", limit=1000)) == [100, 101, 102]
    clock.now += 10
    # tail is 103; more than 10 past it is "in the future": answered from the head, nothing confirmed
    assert ids(call(core, "getUpdates", offset=200)) == [100, 101, 102]
    clock.now += 10
    assert ids(call(core, "getUpdates", offset=113)) == []
    clock.now += 10
    assert ids(call(core, "getUpdates")) == []


def test_wrong_types_are_read_leniently_like_the_real_server(core, clock):
    inject(core, 2)
    assert ids(call(core, "getUpdates", offset="101abc", limit="x")) == [101]


def test_timeout_clamped_to_50(core):
    poll = call(core, "getUpdates", timeout=3600)
    assert isinstance(poll, LongPoll) and poll.timeout == 50


def test_repeated_short_poll_with_same_offset_becomes_a_long_poll(core, clock):
    assert ids(call(core, "getUpdates", offset=5, timeout=0)) == []
    clock.now += 1
    poll = call(core, "getUpdates", offset=5, timeout=0)
    assert isinstance(poll, LongPoll) and poll.timeout == 3


def test_allowed_updates_filter_at_creation(core, clock):
    call(core, "getUpdates", allowed_updates=json.dumps(["callback_query"]))
    update = core.inject_message(TOKEN, "dropped", user={"id": 42})
    assert update["update_id"] is None
    clock.now += 10
    assert ids(call(core, "getUpdates")) == []


# ---- long polling and takeover -------------------------------------------------------------------

def test_parked_poll_is_resolved_by_an_update_without_polling(core):
    poll = call(core, "getUpdates", timeout=30)
    assert isinstance(poll, LongPoll) and not poll.done
    seen = []
    poll.on_resolved = seen.append
    core.inject_message(TOKEN, "/start", user={"id": 42})
    assert poll.done and seen == [poll.reply]
    update = poll.reply.body["result"][0]
    assert update["message"]["entities"] == [{"offset": 0, "length": 6, "type": "bot_command"}]


def test_new_long_poll_takes_over_and_old_gets_409(core, clock):
    old = call(core, "getUpdates", timeout=30)
    clock.now += 1
    new = call(core, "getUpdates", offset=1, timeout=30)
    assert isinstance(new, LongPoll) and not new.done
    assert old.reply.status == 409
    assert old.reply.body == {"ok": False, "error_code": 409, "description": E.CONFLICT_OTHER_GETUPDATES}
    assert old.reply.delay == 0


def test_short_poll_or_poll_with_updates_does_not_take_over(core, clock):
    old = call(core, "getUpdates", timeout=30)
    clock.now += 1
    assert ids(call(core, "getUpdates", offset=7, timeout=0)) == []
    assert not old.done
    # An update wakes the old poll first; a later poll finding updates leaves nothing to abort.
    inject(core, 1)
    assert old.done and old.reply.ok


def test_a_409_within_3_s_of_the_previous_is_delayed(core, clock):
    first = call(core, "getUpdates", offset=1, timeout=30)
    clock.now += 1
    second = call(core, "getUpdates", offset=2, timeout=30)
    clock.now += 1
    call(core, "getUpdates", offset=3, timeout=30)
    assert first.reply.delay == 0
    assert second.reply.status == 409 and second.reply.delay == 3.0


def test_poll_timeout_answers_empty(core):
    poll = call(core, "getUpdates", timeout=5)
    core.expire_poll(poll)
    assert poll.reply.ok and poll.reply.body["result"] == []
    assert core.bot(TOKEN).long_poll is None


# ---- webhook rules -------------------------------------------------------------------------------

def test_getupdates_while_webhook_is_set_is_409(core):
    r = reply(call(core, "setWebhook", url="http://127.0.0.1:9/hook"))
    assert r.body == {"ok": True, "result": True, "description": "Webhook was set"}
    r = reply(call(core, "getUpdates"))
    assert (r.status, r.body["description"]) == (409, E.CONFLICT_WEBHOOK_ACTIVE)


def test_set_webhook_ends_pending_poll_with_its_own_409(core):
    poll = call(core, "getUpdates", timeout=30)
    call(core, "setWebhook", url="http://127.0.0.1:9/hook")
    assert poll.reply.body["description"] == E.CONFLICT_SET_WEBHOOK


def test_set_webhook_descriptions_rate_and_validation(core, clock):
    assert reply(call(core, "deleteWebhook")).body["description"] == "Webhook is already deleted"
    assert reply(call(core, "setWebhook", url="http://127.0.0.1:9/a")).body["description"] == "Webhook was set"
    r = reply(call(core, "setWebhook", url="http://127.0.0.1:9/b"))
    assert r.body == {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
                      "parameters": {"retry_after": 1}}
    assert r.headers["Retry-After"] == "1"
    clock.now += 2
    assert reply(call(core, "setWebhook", url="http://127.0.0.1:9/a")).body["description"] == "Webhook is already set"
    clock.now += 2
    assert reply(call(core, "setWebhook", url="http://127.0.0.1:9/a", secret_token="bad token!")
                 ).body["description"] == E.SECRET_TOKEN_CHARS
    clock.now += 2
    assert reply(call(core, "setWebhook", url="http://127.0.0.1:9/a", secret_token="x" * 257)
                 ).body["description"] == E.SECRET_TOKEN_TOO_LONG
    clock.now += 2
    assert reply(call(core, "setWebhook", url="ftp://h/x")).body["description"] == E.INVALID_WEBHOOK_URL
    assert reply(call(core, "deleteWebhook")).body["description"] == "Webhook is already deleted"


def test_webhook_info_bookkeeping(core):
    info = reply(call(core, "getWebhookInfo")).body["result"]
    assert info == {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
    call(core, "setWebhook", url="http://127.0.0.1:9/hook", secret_token="s3cret", max_connections=500)
    inject(core, 2)
    bot = core.bot(TOKEN)
    core.webhook_error(bot, "Wrong response from the webhook: 500 Internal Server Error")
    info = reply(call(core, "getWebhookInfo")).body["result"]
    assert info["pending_update_count"] == 2 and info["max_connections"] == 100
    assert info["last_error_message"] == "Wrong response from the webhook: 500 Internal Server Error"
    assert isinstance(info["last_error_date"], int) and "secret_token" not in info
    core.confirm_update(bot, 100)
    assert reply(call(core, "getWebhookInfo")).body["result"]["pending_update_count"] == 1


def test_delete_webhook_keeps_updates_for_polling_unless_dropped(core, clock):
    call(core, "setWebhook", url="http://127.0.0.1:9/hook")
    inject(core, 2)
    assert reply(call(core, "deleteWebhook")).body["description"] == "Webhook was deleted"
    assert ids(call(core, "getUpdates")) == [100, 101]
    assert reply(call(core, "deleteWebhook", drop_pending_updates="true")).ok
    clock.now += 10
    assert ids(call(core, "getUpdates", offset=0, limit=5)) == []


# ---- messages and the world ------------------------------------------------------------------------

def test_send_message_errors_in_the_real_order(core):
    assert reply(call(core, "sendMessage")).body["description"] == E.MESSAGE_TEXT_EMPTY
    assert reply(call(core, "sendMessage", text="hi")).body["description"] == E.CHAT_ID_EMPTY
    assert reply(call(core, "sendMessage", text="hi", chat_id=42)).body["description"] == E.CHAT_NOT_FOUND
    assert reply(call(core, "sendMessage", text="hi", chat_id=42, reply_markup="{bad")
                 ).body["description"] == "Bad Request: can't parse reply keyboard markup JSON object"


def test_send_edit_delete_and_sent_record(core):
    inject(core, 1)
    sent = reply(call(core, "sendMessage", chat_id=42, text="hello"))
    message = sent.body["result"]
    assert message["chat"] == {"id": 42, "first_name": "User42", "type": "private"}
    assert message["from"]["is_bot"] is True
    mid = message["message_id"]
    assert reply(call(core, "editMessageText", chat_id=42, message_id=mid, text="hello")
                 ).body["description"] == E.MESSAGE_NOT_MODIFIED
    assert reply(call(core, "editMessageText", chat_id=42, message_id=mid, text="bye")).body["result"]["text"] == "bye"
    assert reply(call(core, "editMessageText", chat_id=42, message_id=999, text="x")
                 ).body["description"] == E.MESSAGE_TO_EDIT_NOT_FOUND
    assert reply(call(core, "editMessageText", chat_id=42, message_id=1, text="x")
                 ).body["description"] == E.MESSAGE_CANT_BE_EDITED
    assert reply(call(core, "deleteMessage", chat_id=42, message_id=mid)).body == {"ok": True, "result": True}
    assert reply(call(core, "deleteMessage", chat_id=42, message_id=mid)).body["description"] == E.MESSAGE_TO_DELETE_NOT_FOUND
    assert [e["method"] for e in core.sent(TOKEN)[42]] == ["sendMessage", "editMessageText", "deleteMessage"]


def test_group_command_and_callback_query(core):
    update = core.inject_message(TOKEN, "hi /help@fake_bot there", user={"id": 7},
                                 chat={"type": "group", "id": -55, "title": "G"})
    assert update["message"]["chat"]["type"] == "group"
    assert update["message"]["entities"] == [{"offset": 3, "length": 14, "type": "bot_command"}]
    sent = reply(call(core, "sendMessage", chat_id=-55, text="pick",
                      reply_markup=json.dumps({"inline_keyboard": [[{"text": "a", "callback_data": "a"}]]})))
    mid = sent.body["result"]["message_id"]
    cq = core.inject_callback_query(TOKEN, "a", mid, user={"id": 7}, chat={"type": "group", "id": -55})
    qid = cq["callback_query"]["id"]
    assert reply(call(core, "answerCallbackQuery", callback_query_id=qid, text="ok")).ok
    assert reply(call(core, "answerCallbackQuery", callback_query_id=qid)).body["description"] == E.QUERY_ID_INVALID


def test_chat_action_commands_and_get_chat(core):
    inject(core, 1)
    assert reply(call(core, "sendChatAction", chat_id=42, action="dance")).body["description"] == E.WRONG_CHAT_ACTION
    assert reply(call(core, "sendChatAction", chat_id=42, action="typing")).ok
    assert reply(call(core, "setMyCommands", commands="[{\"command\": \"start\"}]")).body["description"] == \
        'Bad Request: can\'t parse BotCommand: Can\'t find field "description"'
    commands = [{"command": "start", "description": "Start"}]
    assert reply(call(core, "setMyCommands", commands=json.dumps(commands))).ok
    assert reply(call(core, "getMyCommands")).body["result"] == commands
    chat = reply(call(core, "getChat", chat_id=42)).body["result"]
    assert chat["type"] == "private" and "accent_color_id" in chat


def test_flood_control_429(clock):
    core = BotApiCore(BotApiConfig(first_update_id=1), clock)
    core.register_bot(TOKEN)
    core.inject_message(TOKEN, "hi", user={"id": 42})
    assert reply(call(core, "sendMessage", chat_id=42, text="1")).ok
    r = reply(call(core, "sendMessage", chat_id=42, text="2"))
    assert r.body == {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
                      "parameters": {"retry_after": 1}}
    clock.now += 1.0
    assert reply(call(core, "sendMessage", chat_id=42, text="3")).ok


def test_log_out_then_unauthorized(core):
    assert reply(call(core, "logOut")).ok
    assert reply(call(core, "getMe")).status == 401
