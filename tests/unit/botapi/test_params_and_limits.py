"""Parameter decoding as the real server does it, flood-control windows, the webhook schedule."""

from __future__ import annotations

import random

import pytest

from botfakes.fakes.botapi.core import Update
from botfakes.fakes.botapi.errors import BotApiError, prefixed
from botfakes.fakes.botapi.params import (
    get_integer, parse_body, parse_json_body, parse_urlencoded, to_bool, to_integer)
from botfakes.fakes.botapi.ratelimit import FloodControl, RateLimits
from botfakes.fakes.botapi.webhook import WebhookSchedule, reply_method
from botfakes.fakes.botapi.world import command_entities


def test_prefix_rule_of_fail_query_with_error():
    assert prefixed(400, "Message text is empty") == "Bad Request: message text is empty"
    assert prefixed(400, "MESSAGE_ID_INVALID") == "Bad Request: MESSAGE_ID_INVALID"
    assert prefixed(400, "Bad Request: chat not found") == "Bad Request: chat not found"
    assert BotApiError.retry_after(0).envelope()["parameters"] == {"retry_after": 1}


def test_urlencoded_first_occurrence_wins_and_plus_is_space():
    assert parse_urlencoded("a=1&a=2&b=x+y%21&c") == {"a": "1", "b": "x y!", "c": ""}


def test_json_body_values_become_strings_or_json_text():
    assert parse_json_body('{"a": "s", "b": 5, "c": true, "d": {"x": [1]}}') == {
        "a": "s", "b": "5", "c": "true", "d": '{"x":[1]}'}
    assert parse_json_body('"just a string"') == {"content": "just a string"}
    assert parse_json_body("[1]") == {}


def test_broken_json_keeps_fields_before_the_fault():
    assert parse_json_body('{"chat_id": 5, "text": "hi", "x": }') == {"chat_id": "5", "text": "hi"}
    assert parse_json_body('{"chat_id": 5 "text": "hi"}') == {"chat_id": "5"}
    assert parse_json_body("{{{") == {}


def test_body_too_large_and_unknown_content_type():
    with pytest.raises(BotApiError) as raised:
        parse_body(b"x" * 11, "application/json", max_params_bytes=10)
    assert raised.value.code == 413
    assert parse_body(b"chat_id=1", "text/plain") == ({}, {})


def test_multipart_fields_and_files():
    body = (b'--B\r\nContent-Disposition: form-data; name="text"\r\n\r\nhello\r\n'
            b'--B\r\nContent-Disposition: form-data; name="doc"; filename="a.txt"\r\n'
            b"Content-Type: text/plain\r\n\r\nDATA\r\n--B--\r\n")
    params, files = parse_body(body, "multipart/form-data; boundary=B")
    assert params == {"text": "hello"} and files == {"doc": b"DATA"}


@pytest.mark.parametrize("text, value", [("12", 12), ("12abc", 12), ("abc", 0), ("-7", -7), ("", 0),
                                          ("  3", 3), ("4294967296", 0)])
def test_lenient_integers(text, value):
    assert to_integer(text, 32) == value


def test_clamped_integer_and_bool():
    assert get_integer({"limit": "500"}, "limit", 100, 1, 100) == 100
    assert get_integer({}, "limit", 100, 1, 100) == 100
    assert get_integer({"limit": "-3"}, "limit", 100, 1, 100) == 1
    assert [to_bool(x) for x in ("true", " YES ", "1", "0", "false", None)] == [True, True, True, False, False, False]


def test_command_entities_utf16_offsets():
    assert command_entities("😀 /start@my_bot now /help") == [
        {"offset": 3, "length": 13, "type": "bot_command"},
        {"offset": 21, "length": 5, "type": "bot_command"}]
    assert command_entities("a/b not/cmd") == []


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_flood_control_windows_per_chat_group_and_bot():
    clock = Clock()
    flood = FloodControl(RateLimits(per_chat=(1, 1.0), per_group=(3, 60.0), per_bot=(5, 1.0)), clock)
    assert flood.check(1, 10, False) == 0
    assert flood.check(1, 10, False) == 1  # same chat within a second
    assert flood.check(1, 11, False) == 0  # another chat is fine
    clock.now = 1.0
    assert [flood.check(1, -5, True) for _ in range(2)] == [0, 1]
    clock.now = 2.0
    assert flood.check(1, -5, True) == 0
    clock.now = 3.0
    assert flood.check(1, -5, True) == 0
    clock.now = 4.0
    assert flood.check(1, -5, True) == 57  # 3 a minute in the group: the first (t=1) leaves at t=61
    flood.limits.enabled = False
    assert flood.check(1, -5, True) == 0


def update(update_id: int, chat: int | None) -> Update:
    return Update(update_id, "message", {}, chat)


def test_schedule_per_chat_order_and_max_connections():
    schedule = WebhookSchedule(max_connections=2)
    for uid, chat in ((1, 10), (2, 10), (3, 20), (4, 30)):
        schedule.add(update(uid, chat), 0.0)
    assert [u.update_id for u in schedule.ready(0.0)] == [1, 3]  # one head per chat, two connections
    assert schedule.ready(0.0) == []
    schedule.on_success(1)
    assert [u.update_id for u in schedule.ready(0.0)] == [2]  # chat 10's next, still in order


def test_schedule_retry_immediate_then_doubling_capped_and_retry_after():
    schedule = WebhookSchedule(max_connections=1, base=1.0, cap=4.0, rng=random.Random(1))
    schedule.add(update(1, 10), 0.0)
    delays = []
    now = 0.0
    for _ in range(5):
        [u] = schedule.ready(now)
        delays.append(schedule.on_failure(u.update_id, now))
        now = schedule.next_wakeup()
    assert delays[:3] == [0.0, 2.0, 4.0]  # WebhookActor: first retry at once, then 2, 4, ...
    assert all(4.0 <= d <= 8.0 for d in delays[3:])  # capped at a value drawn from [cap, 2 cap]
    [u] = schedule.ready(now)
    assert schedule.on_failure(u.update_id, now, retry_after=7) == 7.0
    assert schedule.ready(now + 6.9) == [] and schedule.ready(now + 7.0)


def test_reply_method_rules():
    assert reply_method(b'{"method": "sendMessage", "chat_id": 1, "text": "x"}', "application/json")[0] == "sendMessage"
    assert reply_method(b'{"method": "getMe"}', "application/json") is None
    assert reply_method(b'{"method": "setWebhook", "url": "x"}', "application/json") is None
    assert reply_method(b"", "application/json") is None
