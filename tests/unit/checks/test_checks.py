"""The journal invariants of botfakes.checks, each on a journal that breaks it and one that keeps it.

The journals are written with the real Journal, in the shapes the fakes record (see
fakes/botapi/transport.py, fakes/deriv/transport.py, fakes/mtproto/transport.py).
"""

import pytest

from botfakes import checks
from botfakes.checks import InvariantViolated
from botfakes.fakes.control import journal as j
from botfakes.fakes.control.journal import Journal

TOKEN = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
OTHER = "654321:BBHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


class Log:
    """Writes botapi/deriv/mtproto traffic into a real Journal."""

    def __init__(self) -> None:
        self.journal = Journal()

    def bot_request(self, method, conn="botapi#1", token=TOKEN, **params):
        bot_id = int(token.split(":")[0])
        return self.journal.record("botapi", "request", conn=conn, method=method,
                                   data={"bot_id": bot_id, "params": params}).seq

    def respond(self, fake, request_seq, method, outcome=None, data=None, conn=""):
        return self.journal.record(fake, "response", conn=conn, method=method, request=request_seq,
                                   data=data, outcome=outcome or j.ok()).seq

    def deriv_request(self, conn="deriv#1", **params):
        return self.journal.record("deriv", "request", conn=conn, method=next(iter(params)),
                                   data={"params": params}).seq

    def event(self, fake, kind, conn, **data):
        return self.journal.record(fake, kind, conn=conn, data=data).seq

    def json(self):
        return [e.to_json() for e in self.journal.events()]


def violation(check, *args, **kwargs) -> InvariantViolated:
    with pytest.raises(InvariantViolated) as info:
        check(*args, **kwargs)
    return info.value


# -- single_poller -----------------------------------------------------------------------------


def test_single_poller_catches_two_pending_polls_and_quotes_them():
    log = Log()
    first = log.bot_request("getUpdates", conn="botapi#1", offset=0, timeout=25)
    second = log.bot_request("getUpdates", conn="botapi#2", offset=0, timeout=25)
    log.respond("botapi", first, "getUpdates", j.error(409, "Conflict: terminated by other getUpdates request; "
                                                        "make sure that only one bot instance is running"))
    error = violation(checks.single_poller, log.json(), TOKEN)
    assert error.invariant == "single_poller"
    assert [e["seq"] for e in error.events][:2] == [first, second]
    assert "409 Conflict: terminated by other getUpdates request" in str(error)
    assert "botapi#1" in str(error) and "botapi#2" in str(error)


def test_single_poller_accepts_polls_one_after_another_and_other_tokens():
    log = Log()
    for _ in range(3):
        poll = log.bot_request("getUpdates", offset=0, timeout=25)
        log.respond("botapi", poll, "getUpdates")
    mine = log.bot_request("getUpdates", conn="botapi#3")
    log.bot_request("getUpdates", conn="botapi#4", token=OTHER)  # another bot polls meanwhile
    checks.single_poller(log.json(), TOKEN)
    checks.single_poller(log.json(), OTHER)
    checks.single_poller(log.json())  # every token
    assert mine


def test_single_poller_ends_a_poll_when_its_connection_goes():
    log = Log()
    log.event("botapi", "connect", "botapi#1", peer="127.0.0.1:5000")
    log.bot_request("getUpdates", conn="botapi#1")
    log.event("botapi", "disconnect", "botapi#1", peer="127.0.0.1:5000")  # kill -9
    log.bot_request("getUpdates", conn="botapi#2")  # the restarted bot
    checks.single_poller(log.json(), TOKEN)


# -- no_polling_while_webhook ------------------------------------------------------------------


def test_no_polling_while_webhook_catches_a_poll_after_set_webhook():
    log = Log()
    setter = log.bot_request("setWebhook", url="http://127.0.0.1:9000/webhook")
    log.respond("botapi", setter, "setWebhook")
    poll = log.bot_request("getUpdates")
    log.respond("botapi", poll, "getUpdates", j.error(
        409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"))
    error = violation(checks.no_polling_while_webhook, log.json(), TOKEN)
    assert [e["seq"] for e in error.events] == [setter, setter + 1, poll]
    assert "while its webhook was set" in str(error)


def test_no_polling_while_webhook_accepts_polling_before_and_after_the_webhook():
    log = Log()
    log.respond("botapi", log.bot_request("getUpdates"), "getUpdates")
    log.respond("botapi", log.bot_request("setWebhook", url="http://127.0.0.1:9000/w"), "setWebhook")
    log.respond("botapi", log.bot_request("deleteWebhook"), "deleteWebhook")
    log.respond("botapi", log.bot_request("getUpdates"), "getUpdates")
    # a refused setWebhook sets nothing
    log.respond("botapi", log.bot_request("setWebhook", url="http://x/w"), "setWebhook",
                j.error(400, "Bad Request: bad webhook: Failed to resolve host: Name or service not known"))
    log.respond("botapi", log.bot_request("getUpdates"), "getUpdates")
    # another bot's webhook is not this bot's
    log.respond("botapi", log.bot_request("setWebhook", token=OTHER, url="http://x/w"), "setWebhook")
    log.bot_request("getUpdates")
    checks.no_polling_while_webhook(log.json(), TOKEN)
    with pytest.raises(InvariantViolated):
        log.bot_request("getUpdates", token=OTHER)
        checks.no_polling_while_webhook(log.json())


# -- each_update_handled_once ------------------------------------------------------------------


def updates(*chats):
    return [{"update_id": 100 + i, "message": {"message_id": 1, "text": "/start", "chat": {"id": c}}}
            for i, c in enumerate(chats)]


def answer(log, chat, ok=True):
    seq = log.bot_request("sendMessage", chat_id=str(chat), text="hi")
    log.respond("botapi", seq, "sendMessage", None if ok else j.error(400, "Bad Request: chat not found"))
    return seq


def test_each_update_handled_once_catches_a_double_and_a_missing_answer():
    log = Log()
    for chat in (501, 502, 503):
        answer(log, chat)
    double = answer(log, 502)
    error = violation(checks.each_update_handled_once, log.json(), updates(501, 502, 503), TOKEN)
    assert "answered more often" in str(error) and double in [e["seq"] for e in error.events]
    log2 = Log()
    answer(log2, 501)
    answer(log2, 502, ok=False)  # a failed send is no answer
    error = violation(checks.each_update_handled_once, log2.json(), updates(501, 502))
    assert "1 of 2 updates never answered" in str(error) and "[101]" in str(error)


def test_each_update_handled_once_accepts_the_same_number_of_answers_everywhere():
    log = Log()
    for chat in (501, -1000001, 503):
        answer(log, chat)
        answer(log, chat)  # e.g. "fetching..." then the result: two per update, everywhere
    checks.each_update_handled_once(log.json(), updates(501, -1000001, 503), TOKEN)
    with pytest.raises(ValueError, match="chat of its own"):
        checks.each_update_handled_once(log.json(), updates(501, 501))


# -- single_connection_per_auth_key ------------------------------------------------------------


def test_single_connection_per_auth_key_catches_overlap_and_406():
    log = Log()
    log.event("mtproto", "connect", "mtproto#1", peer="127.0.0.1:1")
    log.journal.record("mtproto", "request", conn="mtproto#1", method="invokeWithLayer", data={"params": {}})
    log.event("mtproto", "connect", "mtproto#2", peer="127.0.0.1:2")
    log.journal.record("mtproto", "request", conn="mtproto#2", method="invokeWithLayer", data={"params": {}})
    checks.single_connection_per_auth_key(log.json())  # keys unknown: nothing to say
    error = violation(checks.single_connection_per_auth_key, log.json(), one_key=True)
    assert "mtproto#1 and mtproto#2 open at once" in str(error)
    refused = log.journal.record("mtproto", "response", conn="mtproto#2", method="invokeWithLayer",
                                 request=4, outcome=j.error(406, "AUTH_KEY_DUPLICATED")).seq
    error = violation(checks.single_connection_per_auth_key, log.json())
    assert [e["seq"] for e in error.events] == [refused]


def test_single_connection_per_auth_key_by_key_id_and_in_turn():
    log = Log()
    for conn, key in (("mtproto#1", 11), ("mtproto#2", 22)):  # two keys at once: fine
        log.event("mtproto", "connect", conn)
        log.journal.record("mtproto", "request", conn=conn, method="ping", data={"auth_key_id": key})
    log.event("mtproto", "disconnect", "mtproto#1")
    log.event("mtproto", "connect", "mtproto#3")  # key 11 again, after #1 closed
    log.journal.record("mtproto", "request", conn="mtproto#3", method="ping", data={"auth_key_id": 11})
    checks.single_connection_per_auth_key(log.json())
    log.event("mtproto", "connect", "mtproto#4")
    log.journal.record("mtproto", "request", conn="mtproto#4", method="ping", data={"auth_key_id": 22})
    error = violation(checks.single_connection_per_auth_key, log.json())
    assert "mtproto#2 and mtproto#4 open at once with auth key 22" in str(error)


# -- replies_reach_their_requests --------------------------------------------------------------


def test_replies_reach_their_requests_catches_untellable_requests():
    log = Log()
    a = log.deriv_request(ticks_history="R_25", end="latest")
    b = log.deriv_request(ticks_history="R_50", end="latest")  # no req_id, both pending
    error = violation(checks.replies_reach_their_requests, log.json())
    assert [e["seq"] for e in error.events] == [a, b] and "without a req_id" in str(error)
    log2 = Log()
    log2.deriv_request(ticks_history="R_25", req_id=1)
    log2.deriv_request(ticks_history="R_50", req_id=1)
    assert "same req_id 1" in str(violation(checks.replies_reach_their_requests, log2.json()))


def deriv_reply(symbol, req_id):
    return {"msg_type": "history", "echo_req": {"ticks_history": symbol, "req_id": req_id},
            "req_id": req_id, "history": {"prices": [1.0]}}


def test_replies_reach_their_requests_checks_what_each_caller_got():
    log = Log()
    a = log.deriv_request(ticks_history="R_25", req_id=1)
    b = log.deriv_request(ticks_history="R_50", req_id=2)
    c = log.deriv_request(ticks_history="R_75", req_id=3, conn="deriv#2")  # another socket
    for seq, symbol, req_id in ((b, "R_50", 2), (a, "R_25", 1), (c, "R_75", 3)):
        log.respond("deriv", seq, "ticks_history", data={"messages": [deriv_reply(symbol, req_id)]})
    right = {1: deriv_reply("R_25", 1), 2: deriv_reply("R_50", 2)}
    checks.replies_reach_their_requests(log.json(), right)
    crossed = {1: deriv_reply("R_50", 2), 2: deriv_reply("R_25", 1)}
    error = violation(checks.replies_reach_their_requests, log.json(), crossed)
    assert "the caller of req_id 1 got a reply for" in str(error) and "R_50" in str(error)
    # one socket, one at a time, no req_id: fine
    log2 = Log()
    for symbol in ("R_25", "R_50"):
        log2.respond("deriv", log2.deriv_request(ticks_history=symbol), "ticks_history")
    checks.replies_reach_their_requests(log2.json())


# -- answered_within ---------------------------------------------------------------------------


def test_answered_within():
    log = Log()
    quick = log.deriv_request(ping=1)
    log.respond("deriv", quick, "ping")
    slow = log.deriv_request(ticks_history="R_50")
    log.respond("deriv", slow, "ticks_history")
    poll = log.bot_request("getUpdates", timeout=25)  # a long poll: excluded by default
    lost = log.deriv_request(balance=1)  # never answered
    events = log.json()
    for event, at in zip(events, [0.0, 0.1, 0.2, 5.0, 5.1, 9.0]):
        event["time"] = at  # as if the fakes' clock read these
    error = violation(checks.answered_within, events, 1.0)
    assert "answered after 4.800 s" in str(error) and error.events[0]["seq"] == slow
    checks.answered_within(events, 10.0)
    error = violation(checks.answered_within, events, 1.0, fake="botapi", exclude=())
    assert "unanswered after 3.900 s" in str(error) and error.events[0]["seq"] == poll
    assert lost


def test_checks_take_event_objects_too():
    log = Log()
    log.bot_request("getUpdates", conn="botapi#1")
    log.bot_request("getUpdates", conn="botapi#2")
    with pytest.raises(InvariantViolated):
        checks.single_poller(log.journal.events(), TOKEN)
    checks.answered_within([], 1.0)


def test_evaluate_names_what_holds_and_what_breaks():
    log = Log()
    log.bot_request("getUpdates", conn="botapi#1")
    log.bot_request("getUpdates", conn="botapi#2")
    found = checks.evaluate(log.json())
    assert set(found) == set(checks.JOURNAL_INVARIANTS)
    assert isinstance(found["single_poller"], InvariantViolated)
    assert found["no_polling_while_webhook"] is None and found["replies_reach_their_requests"] is None
