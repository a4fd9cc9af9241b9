"""Journal filters reach request parameters and data: a response or fault event matches by the
request it belongs to, so one journal wait finds "the answer to sendMessage in chat 5"."""

from __future__ import annotations

import asyncio

import pytest

from botfakes.fakes.control import journal as j
from botfakes.fakes.control.client import _flatten
from botfakes.fakes.control.journal import EventFilter, Journal


def two_requests(journal: Journal) -> tuple[j.Event, j.Event]:
    a = journal.record("botapi", "request", conn="c1", method="sendMessage",
                       data={"bot_id": 7, "params": {"chat_id": "5", "text": "hi"}})
    b = journal.record("botapi", "request", conn="c1", method="sendMessage",
                       data={"bot_id": 8, "params": {"chat_id": "6", "text": "yo"}})
    journal.record("botapi", "response", conn="c1", method="sendMessage", request=b.seq,
                   outcome=j.ok())
    journal.record("botapi", "response", conn="c1", method="sendMessage", request=a.seq,
                   outcome=j.error(429, "Too Many Requests: retry after 5"))
    return a, b


def test_a_response_matches_by_its_requests_params_and_data():
    journal = Journal()
    a, b = two_requests(journal)
    by_chat = journal.events(EventFilter.from_query({"kind": "response", "params.chat_id": "5"}))
    assert [e.request for e in by_chat] == [a.seq]
    by_bot = journal.events(EventFilter.from_query({"kind": "response", "data.bot_id": "8"}))
    assert [e.request for e in by_bot] == [b.seq]
    assert journal.events(EventFilter.from_query({"params.chat_id": "7"})) == []


def test_values_compare_as_query_strings():
    journal = Journal()
    journal.record("botapi", "note", method="getUpdates", data={"bot_id": 7, "parked": True})
    assert len(journal.events(EventFilter.from_query({"data.parked": "true", "data.bot_id": "7"}))) == 1
    assert journal.events(EventFilter.from_query({"data.parked": "false"})) == []


def test_flags_filter_outcomes():
    journal = Journal()
    journal.record("deriv", "response", outcome=j.error("UnrecognisedRequest", "x", j.UNSUPPORTED))
    journal.record("deriv", "response", outcome=j.error("exception", "y", j.INTERNAL_ERROR))
    journal.record("deriv", "response", outcome=j.error("RateLimit", "z"))
    assert len(journal.events(EventFilter.from_query({"flag": "unsupported"}))) == 1
    assert len(journal.events(EventFilter.from_query({"flag": "internal_error,unsupported"}))) == 2


@pytest.mark.asyncio
async def test_one_wait_finds_the_answer_in_a_chat():
    journal = Journal()
    recorded: list = []
    # the events arrive once the wait is parked (call_soon runs after the wait's first step)
    asyncio.get_running_loop().call_soon(lambda: recorded.extend(two_requests(journal)))
    [found] = await journal.wait(EventFilter.from_query({"kind": "response", "params.chat_id": "5"}),
                                 count=1, timeout=5)
    assert found.request == recorded[0].seq and found.outcome["code"] == 429


def test_the_client_flattens_params_and_data():
    assert _flatten({"kind": "response", "params": {"chat_id": 5}, "data": {"bot_id": 7}}) == {
        "kind": "response", "params.chat_id": 5, "data.bot_id": 7}
    assert _flatten({"kind": "note"}) == {"kind": "note"}
