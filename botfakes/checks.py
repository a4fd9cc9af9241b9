"""Named invariants over a botfakes journal, for your own pytest tests.

Each check takes the journal as `GET /_control/journal` returns it (a list of event dicts;
`ControlClient.journal()`, or `Event` objects, work too) and raises `InvariantViolated`, an
AssertionError, naming the invariant and quoting the events that break it:

    from botfakes.checks import single_poller
    single_poller(control.journal(), token)

- `single_poller`: at most one long poll (getUpdates) per bot token at a time.
- `no_polling_while_webhook`: no getUpdates while that bot's webhook is set.
- `each_update_handled_once`: every injected update answered, none more often than the others.
- `single_connection_per_auth_key`: at most one open MTProto connection per auth key.
- `replies_reach_their_requests`: no two Deriv requests pending on one WebSocket that the replies
  cannot tell apart (no req_id, or the same one), and each caller got the reply the server sent
  for its request (when the callers' view is given).
- `answered_within`: every request answered (or failed) within a bound, in seconds.

`evaluate(journal)` runs the four that need nothing but the journal and says which hold; every
scenario verdict record carries that as "invariants".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

__all__ = [
    "InvariantViolated", "single_poller", "no_polling_while_webhook", "each_update_handled_once",
    "single_connection_per_auth_key", "replies_reach_their_requests", "answered_within",
    "evaluate",
]

SEND_METHODS = {"sendmessage", "editmessagetext", "sendphoto", "senddocument", "sendsticker",
                "sendanimation", "sendvideo", "sendaudio", "sendvoice", "sendlocation", "sendpoll"}


class InvariantViolated(AssertionError):
    """An invariant does not hold; `.events` are the journal events that break it."""

    def __init__(self, invariant: str, message: str, events: Sequence[Mapping[str, Any]]) -> None:
        self.invariant = invariant
        self.events = list(events)
        lines = [f"{invariant}: {message}"] + [f"  {_brief(e)}" for e in self.events]
        super().__init__("\n".join(lines))


def _events(journal: Iterable[Any]) -> list[dict[str, Any]]:
    out = []
    for e in journal:
        if not isinstance(e, Mapping):
            e = e.to_json()
        out.append(dict(e))
    return sorted(out, key=lambda e: e["seq"])


def _brief(e: Mapping[str, Any]) -> str:
    params = (e.get("data") or {}).get("params")
    text = f"#{e['seq']} {e.get('fake')} {e.get('conn')} {e.get('kind')} {e.get('method')}"
    if e.get("request") is not None:
        text += f" (for #{e['request']})"
    if params:
        text += " " + json.dumps(params, default=str)[:120]
    outcome = e.get("outcome")
    if outcome and not outcome.get("ok"):
        text += f" -> {outcome.get('code')} {outcome.get('text', '')}"
    return text


def _method(e: Mapping[str, Any]) -> str:
    return str(e.get("method") or "").lower()


def _bot_id(token: str | int | None) -> int | None:
    if token is None:
        return None
    return int(str(token).split(":", 1)[0])


def _requests(events: list[dict[str, Any]], fake: str, method: str | None = None) -> list[dict]:
    return [e for e in events if e["fake"] == fake and e["kind"] == "request"
            and (method is None or _method(e) == method)]


def _ends(events: list[dict[str, Any]]) -> tuple[dict[int, dict], dict[str, dict]]:
    """(the response to each request seq, the disconnect of each conn)."""
    responses = {e["request"]: e for e in events if e["kind"] == "response" and e.get("request")}
    disconnects = {}
    for e in events:
        if e["kind"] == "disconnect":
            disconnects.setdefault(e["conn"], e)
    return responses, disconnects


def _end_seq(request: dict, responses: dict, disconnects: dict) -> float:
    """Where a request stops being pending: its response, or its connection's end."""
    ends = [responses[request["seq"]]["seq"]] if request["seq"] in responses else []
    gone = disconnects.get(request["conn"])
    if gone is not None and gone["seq"] > request["seq"]:
        ends.append(gone["seq"])
    return min(ends) if ends else float("inf")


def single_poller(journal: Iterable[Any], token: str | int | None = None) -> None:
    """At most one getUpdates pending per bot token at any moment (any token when None)."""
    events = _events(journal)
    responses, disconnects = _ends(events)
    wanted = _bot_id(token)
    pending: dict[Any, list[dict]] = {}
    for poll in _requests(events, "botapi", "getupdates"):
        bot = (poll.get("data") or {}).get("bot_id")
        if wanted is not None and bot != wanted:
            continue
        still = [p for p in pending.get(bot, []) if _end_seq(p, responses, disconnects) > poll["seq"]]
        if still:
            other = still[0]
            proof = [other, poll] + [responses[p["seq"]] for p in (other, poll) if p["seq"] in responses]
            raise InvariantViolated(
                "single_poller", f"two long polls at once for bot {bot}: #{other['seq']} on "
                f"{other['conn']} was still pending when #{poll['seq']} arrived on {poll['conn']}",
                sorted(proof, key=lambda e: e["seq"]))
        pending[bot] = still + [poll]


def no_polling_while_webhook(journal: Iterable[Any], token: str | int | None = None) -> None:
    """No getUpdates from a bot between its successful setWebhook (with a URL) and its removal."""
    events = _events(journal)
    by_seq = {e["seq"]: e for e in events}
    wanted = _bot_id(token)
    webhook_set: dict[Any, dict] = {}  # bot id -> the setWebhook response that set it
    for e in events:
        if e["fake"] != "botapi":
            continue
        if e["kind"] == "response" and (e.get("outcome") or {}).get("ok"):
            request = by_seq.get(e.get("request"))
            if request is None:
                continue
            bot = (request.get("data") or {}).get("bot_id")
            params = (request.get("data") or {}).get("params") or {}
            if _method(e) == "setwebhook":
                if params.get("url"):
                    webhook_set[bot] = e
                else:
                    webhook_set.pop(bot, None)
            elif _method(e) == "deletewebhook":
                webhook_set.pop(bot, None)
        elif e["kind"] == "request" and _method(e) == "getupdates":
            bot = (e.get("data") or {}).get("bot_id")
            if (wanted is None or bot == wanted) and bot in webhook_set:
                setter = webhook_set[bot]
                raise InvariantViolated(
                    "no_polling_while_webhook",
                    f"bot {bot} called getUpdates (#{e['seq']}) while its webhook was set "
                    f"(setWebhook answered ok at #{setter['seq']})",
                    [by_seq[setter["request"]], setter, e])


def each_update_handled_once(journal: Iterable[Any], updates: Iterable[Mapping[str, Any]],
                             token: str | int | None = None) -> None:
    """Every update answered, and each no more often than the others.

    `updates` are the injected updates as `botapi.send_message(...)` returns them (each with its
    "message" and chat). An update counts as handled by the bot's successful sends into its chat;
    each update must be the only one in its chat, so that the sends are attributable.
    """
    events = _events(journal)
    responses, _ = _ends(events)
    wanted = _bot_id(token)
    chats: dict[str, Mapping[str, Any]] = {}
    for update in updates:
        payload = update.get("message") or (update.get("callback_query") or {}).get("message") or {}
        chat = str((payload.get("chat") or {}).get("id"))
        if chat in chats:
            raise ValueError(f"two updates in chat {chat}: give each update a chat of its own")
        chats[chat] = update
    sends: dict[str, list[dict]] = {chat: [] for chat in chats}
    for e in _requests(events, "botapi"):
        data = e.get("data") or {}
        if _method(e) not in SEND_METHODS or (wanted is not None and data.get("bot_id") != wanted):
            continue
        chat = str((data.get("params") or {}).get("chat_id"))
        answer = responses.get(e["seq"])
        if chat in sends and answer is not None and (answer.get("outcome") or {}).get("ok"):
            sends[chat].append(e)
    counts = {chat: len(s) for chat, s in sends.items()}
    unanswered = [chat for chat, n in counts.items() if n == 0]
    if unanswered:
        raise InvariantViolated(
            "each_update_handled_once",
            f"{len(unanswered)} of {len(chats)} updates never answered: update(s) "
            f"{[chats[c].get('update_id') for c in unanswered]} in chat(s) {unanswered}",
            [e for s in sends.values() for e in s])
    if counts and len(set(counts.values())) > 1:
        fewest = min(counts.values())
        extra = {c: n for c, n in counts.items() if n > fewest}
        raise InvariantViolated(
            "each_update_handled_once",
            f"some updates were answered more often than others (sends per chat: {counts})",
            [e for c in extra for e in sends[c]])


def single_connection_per_auth_key(journal: Iterable[Any], *, one_key: bool = False) -> None:
    """At most one open MTProto connection per auth key, and no AUTH_KEY_DUPLICATED answer.

    A connection's key is the `auth_key_id` its events carry; with `one_key=True` every MTProto
    connection that made a request counts as using the same key (a bot given one session).
    """
    events = [e for e in _events(journal) if e["fake"] == "mtproto"]
    duplicated = [e for e in events if e["kind"] == "response"
                  and "AUTH_KEY_DUPLICATED" in str((e.get("outcome") or {}).get("text", ""))]
    if duplicated:
        raise InvariantViolated("single_connection_per_auth_key",
                                f"{len(duplicated)} request(s) answered AUTH_KEY_DUPLICATED", duplicated)
    key_of: dict[str, str] = {}
    for e in events:
        key = (e.get("data") or {}).get("auth_key_id")
        if key not in (None, ""):
            key_of.setdefault(e["conn"], str(key))
        elif one_key and e["kind"] == "request":
            key_of.setdefault(e["conn"], "the session's key")
    open_by_key: dict[str, dict] = {}
    connects = {e["conn"]: e for e in events if e["kind"] == "connect"}
    for e in events:
        key = key_of.get(e["conn"])
        if key is None or e["conn"] not in connects:
            continue
        if e["kind"] == "connect":
            other = open_by_key.get(key)
            if other is not None:
                raise InvariantViolated(
                    "single_connection_per_auth_key",
                    f"{other['conn']} and {e['conn']} open at once with auth key {key}", [other, e])
            open_by_key[key] = e
        elif e["kind"] == "disconnect" and open_by_key.get(key, {}).get("conn") == e["conn"]:
            del open_by_key[key]


def replies_reach_their_requests(journal: Iterable[Any],
                                 received: Mapping[Any, Mapping[str, Any]] | None = None) -> None:
    """Deriv replies can reach, and did reach, the request each answers.

    From the journal alone: while two requests are pending on one WebSocket, their req_ids must
    differ (a client that sends none, or the same one, cannot route the replies; it can only take
    "the next message", which is another caller's whenever the server answers out of order).
    With `received` (req_id -> the reply that caller got, as the client saw it), each caller's
    reply must be the one the server sent for its request.
    """
    events = _events(journal)
    responses, disconnects = _ends(events)
    pending: dict[str, list[dict]] = {}
    for request in _requests(events, "deriv"):
        params = (request.get("data") or {}).get("params") or {}
        still = [p for p in pending.get(request["conn"], [])
                 if _end_seq(p, responses, disconnects) > request["seq"]]
        req_id = params.get("req_id")
        clash = next((p for p in still
                      if ((p.get("data") or {}).get("params") or {}).get("req_id") == req_id), None)
        if clash is not None:
            raise InvariantViolated(
                "replies_reach_their_requests",
                f"#{clash['seq']} and #{request['seq']} pending at once on {request['conn']} "
                + ("without a req_id" if req_id is None else f"with the same req_id {req_id}")
                + ": their replies cannot be told apart", [clash, request])
        pending[request["conn"]] = still + [request]
    if not received:
        return
    sent: dict[Any, tuple[dict, dict]] = {}
    for request in _requests(events, "deriv"):
        req_id = ((request.get("data") or {}).get("params") or {}).get("req_id")
        answer = responses.get(request["seq"])
        messages = ((answer or {}).get("data") or {}).get("messages") or []
        if req_id is not None and messages:
            sent[req_id] = (request, answer)
    for req_id, got in received.items():
        if req_id not in sent:
            continue
        request, answer = sent[req_id]
        server = answer["data"]["messages"][0]
        if got.get("req_id") != server.get("req_id") or got.get("msg_type") != server.get("msg_type") \
                or got.get("echo_req") != server.get("echo_req"):
            raise InvariantViolated(
                "replies_reach_their_requests",
                f"the caller of req_id {req_id} got a reply for "
                f"{got.get('echo_req') or got.get('msg_type')!r}, not for its own request",
                [request, answer])


def answered_within(journal: Iterable[Any], bound: float, *, fake: str | None = None,
                    exclude: Iterable[str] = ("getUpdates",)) -> None:
    """Every request got its response within `bound` seconds (long polls excluded by default).

    A request with no response counts from its arrival to the journal's last event; one whose
    connection closed first is answered by that close.
    """
    events = _events(journal)
    if not events:
        return
    responses, disconnects = _ends(events)
    skip = {m.lower() for m in exclude}
    last = events[-1]
    for request in events:
        if request["kind"] != "request" or _method(request) in skip or not request.get("method"):
            continue
        if fake is not None and request["fake"] != fake:
            continue
        end = responses.get(request["seq"])
        gone = disconnects.get(request["conn"])
        if end is None and gone is not None and gone["seq"] > request["seq"]:
            end = gone
        took = (end or last)["time"] - request["time"]
        if took > bound:
            what = f"answered after {took:.3f} s" if end else f"unanswered after {took:.3f} s"
            raise InvariantViolated(
                "answered_within", f"#{request['seq']} {request['method']} {what} (bound {bound} s)",
                [request] + ([end] if end else []))


# The invariants that need nothing but the journal, by name: what `evaluate` runs.
JOURNAL_INVARIANTS = {
    "single_poller": single_poller,
    "no_polling_while_webhook": no_polling_while_webhook,
    "single_connection_per_auth_key": single_connection_per_auth_key,
    "replies_reach_their_requests": replies_reach_their_requests,
}


def evaluate(journal: Iterable[Any]) -> dict[str, InvariantViolated | None]:
    """Every journal-only invariant over one journal: name -> None (holds) or the violation."""
    events = _events(journal)
    found: dict[str, InvariantViolated | None] = {}
    for name, check in JOURNAL_INVARIANTS.items():
        try:
            check(events)
            found[name] = None
        except InvariantViolated as exc:
            found[name] = exc
    return found
