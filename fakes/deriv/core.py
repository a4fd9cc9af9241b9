"""The sans-I/O protocol core of the fake Deriv API.

It knows nothing of sockets: the transport gives it decoded frames per connection (a
`Session`) and sends what it returns. `handle()` answers one request with the messages for that
connection (plus pushes for other connections, e.g. balance streams of the same account) and,
when the rules say so, a close code. `step()` advances the market one tick and returns the
stream messages it causes. Everything is deterministic for a given seed and call sequence.

Order of checks per request, as the real server does it: a frame that is not a JSON object ->
BadRequest; sanity check -> SanityCheckFailed; no known call key -> UnrecognisedRequest; rate
limit -> RateLimit; schema -> InputValidationFailed; auth -> AuthorizationRequired; then the call
(calls.py). The handshake's rules (path, app_id) are here too, and the fault rules' error mapping
(`fault_reply`). One injected clock (`clock`: wall time for the market's start, monotonic time for
the rate limits); every count goes to the plane through `count`.
"""

from __future__ import annotations

import itertools
import random
import re
import uuid
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

from ..control.clock import Clock
from . import envelope, schema
from .accounts import Account, Accounts
from .calls import REPLY_MSG_TYPE, DerivCalls
from .state import (  # noqa: F401  (re-exported: the limits and records tests name)
    AUTH_STREAM_TYPES, CLOSE_REASONS, MAX_PROPOSAL_SUBSCRIPTIONS, MAX_REMEMBERED_PROPOSALS,
    PROPOSAL_LIMIT_CODE, PROPOSAL_LIMIT_MESSAGE, Delivery, Result, Session, Stream,
)
from .contracts import Contract
from .envelope import DerivError, Incoming
from .market import Market, Tick
from .ratelimit import RateLimiter

#: the WebSocket path the real server serves, and its app_id rule (a registered app's number)
PATH = "/websockets/v3"
APP_ID_RULE = re.compile(r"^(?!0)[0-9]{1,19}$")


@dataclass(frozen=True)
class Refusal:
    """An HTTP answer instead of the WebSocket upgrade."""

    status: int
    body: str
    content_type: str = ""  # "" = the server library's default (text/plain)
    journaled: str = ""  # the error named in a journal note, if the refusal is noted


def handshake_refusal(path: str) -> Refusal | None:
    """Whether the server refuses the upgrade: another path is 404, an app_id that is missing or
    not a number is 401 {"error":"InvalidAppID"} (JSON), as the real server answers."""
    url = urlsplit(path)
    if url.path.rstrip("/") != PATH:
        return Refusal(404, "Not Found\n")
    app_id = parse_qs(url.query).get("app_id", [""])[-1]
    if not APP_ID_RULE.match(app_id):
        return Refusal(401, '{"error":"InvalidAppID"}', "application/json", "InvalidAppID")
    return None


class DerivCore(DerivCalls):
    def __init__(self, *, seed: int = 0, start_epoch: int | None = None,
                 seconds_per_tick: int = 1, backfill: int = 1000,
                 rate_clock: Callable[[], float] | None = None, clock: Clock | None = None,
                 count: Callable[[str], None] | None = None) -> None:
        self.seed = seed
        self.start_epoch = start_epoch
        self.seconds_per_tick = seconds_per_tick
        self.backfill = backfill
        self.clock = clock or Clock()
        # "requests", "errors", "pushes", "settled" (the fake counts them as "deriv.<name>")
        self.count: Callable[[str], None] = count or (lambda name: None)
        self.limiter = RateLimiter(clock=rate_clock or self.clock.monotonic)
        self.sessions: dict[str, Session] = {}
        self.reset()

    # -- world state ---------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, start_epoch: int | None = None) -> None:
        if seed is not None:
            self.seed = seed
        if start_epoch is not None:
            self.start_epoch = start_epoch
        epoch = self.start_epoch if self.start_epoch is not None else int(self.clock.time())
        self.market = Market(seed=self.seed, start_epoch=epoch,
                             seconds_per_tick=self.seconds_per_tick, backfill=self.backfill)
        self.accounts = Accounts()
        self.limiter.reset()
        self._ids = random.Random(f"{self.seed}:ids")
        self._contract_ids = itertools.count(250_000_000_001)
        self._transaction_ids = itertools.count(500_000_000_001)
        self.contracts: dict[int, Contract] = {}
        self.open_contracts: dict[str, dict[int, Contract]] = {}  # symbol -> open contracts
        self.streams: dict[str, Stream] = {}
        self.tick_streams: dict[str, dict[str, Stream]] = {}
        self.candle_streams: dict[str, dict[str, Stream]] = {}
        self.proposal_streams: dict[str, dict[str, Stream]] = {}
        self.balance_streams: dict[str, dict[str, Stream]] = {}  # loginid -> streams
        self.contract_streams: dict[int, dict[str, Stream]] = {}  # contract_id -> streams
        for session in self.sessions.values():
            session.account = None
            session.streams.clear()
            session.proposals.clear()

    def new_id(self) -> str:
        return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    def create_account(self, **kwargs: Any) -> Account:
        return self.accounts.create(**kwargs)

    # -- connections ---------------------------------------------------------------------------
    def connect(self, conn: str) -> Session:
        session = self.sessions[conn] = Session(conn)
        return session

    def disconnect(self, session: Session) -> None:
        """The connection is gone: its streams end (as the server's forget_all on finish)."""
        session.closed = True
        for stream in list(session.streams.values()):
            self._drop(stream)
        self.sessions.pop(session.conn, None)
        self.limiter.forget_connection(session.conn)

    # -- requests ------------------------------------------------------------------------------
    decode = staticmethod(envelope.decode)

    def handle(self, session: Session, incoming: Incoming) -> Result:
        self.count("requests")
        if incoming.early_error is not None:
            self.count("errors")
            return Result([incoming.early_error])
        spec, request = incoming.spec, incoming.request
        breach = self.limiter.check(
            spec.name, session.conn, session.account.loginid if session.account else None)
        if breach is not None:
            self.count("errors")
            result = Result([envelope.error_reply(request, spec, spec.name, "RateLimit",
                                                  breach.message)])
            if breach.close_code:
                result.close = (breach.close_code, CLOSE_REASONS.get(breach.close_code, ""))
            return result
        invalid = schema.validate(spec, request)
        if invalid is not None:
            details, general = invalid
            self.count("errors")
            return Result([envelope.error_reply(
                request, spec, spec.name, "InputValidationFailed",
                schema.validation_message(details, general), details)])
        if spec.auth_required and session.account is None:
            self.count("errors")
            return Result([envelope.error_reply(request, spec, spec.name,
                                                "AuthorizationRequired", "Please log in.")])
        args = schema.apply_defaults(spec, request)
        handler = getattr(self, f"call_{spec.name}")
        try:
            return handler(session, request, spec, args)
        except DerivError as e:
            self.count("errors")
            msg_type = e.msg_type or REPLY_MSG_TYPE.get(spec.name, spec.name)
            return Result([envelope.error_reply(request, spec, msg_type, e.code, e.message,
                                                e.details)])

    def handle_frame(self, session: Session, frame: str | bytes) -> Result:
        """Decode and handle in one go (for callers without a control plane in between)."""
        return self.handle(session, self.decode(frame))

    def error_for(self, incoming: Incoming, code: str, message: str,
                  details: dict | None = None) -> dict:
        """An error reply to `incoming` in its call's terms (used to enact injected faults)."""
        if incoming.spec is None:
            return envelope.error_reply(incoming.request, None, incoming.method, code, message,
                                        details)
        return envelope.error_reply(incoming.request, incoming.spec, incoming.spec.name, code,
                                    message, details)

    def fault_reply(self, incoming: Incoming, error: dict[str, Any]) -> dict:
        """A fault rule's `error` in Deriv's terms (the error-mapping hook):
        {"code": "RateLimit", "message": "You have reached the rate limit for ping."}."""
        return self.error_for(incoming, str(error.get("code", "InternalServerError")),
                              str(error.get("message", "")), error.get("details"))

    @staticmethod
    def describe_session(session: Session) -> dict[str, Any]:
        """A connection's entry in GET /_control/connections: its account and streams."""
        return {"loginid": session.account.loginid if session.account else None,
                "subscriptions": [{"id": s.id, "type": s.type, "msg_type": s.msg_type,
                                   "symbol": s.symbol, "pushed": s.pushed}
                                  for s in session.streams.values()]}

    # -- streams -------------------------------------------------------------------------------
    def _subscribe(self, session: Session, request: dict, spec: schema.CallSpec, type_: str,
                   msg_type: str, key: tuple, index: dict[str, Stream], **extra: Any) -> Stream:
        stream = Stream(self.new_id(), session, type_, msg_type, request, spec, key, index,
                        **extra)
        session.streams[stream.id] = stream
        self.streams[stream.id] = stream
        index[stream.id] = stream
        return stream

    def _drop(self, stream: Stream) -> None:
        stream.session.streams.pop(stream.id, None)
        self.streams.pop(stream.id, None)
        if stream.index is not None:
            stream.index.pop(stream.id, None)

    def _push(self, out: list[Delivery], stream: Stream, body: dict) -> None:
        # Stalling a stream is the control plane's job (a push-stage "drop" fault rule matching
        # the stream's subscription id, type or symbol), so the core always produces the message.
        stream.pushed += 1
        self.count("pushes")
        out.append(Delivery(stream.session, stream.message(body), stream))

    # -- the market clock ----------------------------------------------------------------------
    def step(self, n: int = 1) -> list[Delivery]:
        """Advance the market n ticks; the stream messages and settlements that follow."""
        out: list[Delivery] = []
        for _ in range(n):
            for tick in self.market.step():
                self._on_tick(tick, out)
        return out

    def _on_tick(self, tick: Tick, out: list[Delivery]) -> None:
        symbol = self.market.symbols[tick.symbol]
        streams = self.tick_streams.get(tick.symbol)
        if streams:
            for stream in list(streams.values()):
                self._push(out, stream, {"tick": self._tick_body(symbol, tick, stream.id)})
        streams = self.candle_streams.get(tick.symbol)
        if streams:
            for stream in list(streams.values()):
                self._push(out, stream, {"ohlc": self._ohlc_body(symbol, tick, stream)})
        streams = self.proposal_streams.get(tick.symbol)
        if streams:
            for stream in list(streams.values()):
                self._push(out, stream, {"proposal": self._proposal_body(
                    stream.terms, stream.id, tick)})
        contracts = self.open_contracts.get(tick.symbol)
        if contracts:
            for contract in list(contracts.values()):
                settled = contract.on_tick(tick)
                if settled:
                    del contracts[contract.contract_id]
                    self._settle(contract, out)
                for stream in list(self.contract_streams.get(contract.contract_id, {}).values()):
                    self._push(out, stream, {"proposal_open_contract": {
                        **contract.state(self.market.epoch), "id": stream.id}})
                    if settled:
                        # the stream of a sold contract ends after its last message
                        self._drop(stream)

    def _settle(self, contract: Contract, out: list[Delivery]) -> None:
        self.count("settled")
        contract.sell_transaction_id = next(self._transaction_ids)
        if contract.sell_price:
            self.accounts.credit(contract.account, contract.sell_price)
        else:
            contract.account.transactions += 1
        self._push_balance(contract.account, out)

    def _push_balance(self, account: Account, out: list[Delivery]) -> None:
        for stream in list(self.balance_streams.get(account.loginid, {}).values()):
            self._push(out, stream, {"balance": self._balance_body(account, stream)})

    # -- message bodies ------------------------------------------------------------------------
