"""The Deriv fake's state records and limits: streams, sessions, deliveries, results.

Shared by the core (core.py) and the call handlers (calls.py), so neither imports the other's
module for them.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from ..control import journal
from . import envelope, schema
from .accounts import Account
from .contracts import Contract, Terms

#: proposal ids a connection may still buy with (the real server expires them after a while)
MAX_REMEMBERED_PROPOSALS = 200
#: website_status' max_proposal_subscription: proposal streams one connection may hold at once
MAX_PROPOSAL_SUBSCRIPTIONS = 5
#: the error past that limit. Not confirmed against the real server (its enforcing code is not in
#: the public sources found); a RateLimit-family error naming the published limit.
PROPOSAL_LIMIT_CODE = "RateLimit"
PROPOSAL_LIMIT_MESSAGE = (f"You have reached the limit of {MAX_PROPOSAL_SUBSCRIPTIONS} "
                          "concurrent proposal subscriptions.")
#: close reason per close code the core asks for (RFC 6455's name, as the reference gives it)
CLOSE_REASONS = {1008: "Policy Violation"}
#: stream types that need an authorized account; logout (or a new authorize) ends them
AUTH_STREAM_TYPES = frozenset({"balance", "proposal_open_contract", "transaction"})


@dataclass(eq=False, slots=True)
class Stream:
    """One subscription of one connection."""

    id: str
    session: "Session"
    type: str  # the stream type forget_all names ("ticks", "candles", "balance", ...)
    msg_type: str  # msg_type of its messages
    request: dict  # echoed in every message
    spec: schema.CallSpec
    key: tuple  # what it follows; a second stream with the same key is AlreadySubscribed
    index: dict | None = None  # the core's index the stream is in (for removal)
    symbol: str | None = None
    granularity: int | None = None
    terms: Terms | None = None
    contract: Contract | None = None
    account: Account | None = None
    pushed: int = 0

    def message(self, body: dict) -> dict:
        body["subscription"] = {"id": self.id}
        return envelope.reply(self.request, self.spec, self.msg_type, body, stream=True)


@dataclass(eq=False)
class Session:
    """The state of one connection."""

    conn: str
    account: Account | None = None
    streams: dict[str, Stream] = field(default_factory=dict)
    proposals: OrderedDict = field(default_factory=OrderedDict)  # id -> Terms
    closed: bool = False

    def find_stream(self, key: tuple) -> Stream | None:
        for s in self.streams.values():
            if s.key == key:
                return s
        return None


@dataclass(slots=True)
class Delivery:
    """A message for a connection that did not ask for it just now (a stream push)."""

    session: Session
    message: dict
    stream: Stream | None = None

    def match_params(self) -> dict[str, Any]:
        """What push-stage fault rules match: subscription, type, symbol, contract_id."""
        stream = self.stream
        if stream is None:
            return {}
        params: dict[str, Any] = {"subscription": stream.id, "type": stream.type}
        if stream.symbol:
            params["symbol"] = stream.symbol
        if stream.contract is not None:
            params["contract_id"] = stream.contract.contract_id
        return params


@dataclass(slots=True)
class Result:
    replies: list[dict] = field(default_factory=list)
    pushes: list[Delivery] = field(default_factory=list)  # messages for streams (any session)
    close: tuple[int, str] | None = None

    @property
    def error(self) -> dict | None:
        for r in self.replies:
            if "error" in r:
                return r["error"]
        return None

    def outcome(self) -> dict[str, Any]:
        """The journal outcome: the first error, flagged when it is a call the fake does not
        serve (UnrecognisedRequest)."""
        error = self.error
        if not self.replies and self.close is None:
            # e.g. {"ticks": []}: the real server's handler loops over no symbol and sends nothing
            return journal.error("no_reply", "the call answers nothing (as the real server: no symbol named)")
        if error is None:
            return journal.ok()
        flag = journal.UNSUPPORTED if error["code"] == "UnrecognisedRequest" else None
        return journal.error(error["code"], error["message"], flag)
