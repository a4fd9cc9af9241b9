"""The sans-I/O protocol core of the fake Deriv API.

It knows nothing of sockets: the transport gives it decoded frames per connection (a
`Session`) and sends what it returns. `handle()` answers one request with the messages for that
connection (plus pushes for other connections, e.g. balance streams of the same account) and,
when the rules say so, a close code. `step()` advances the market one tick and returns the
stream messages it causes. Everything is deterministic for a given seed and call sequence.

Order of checks per request, as the real server does it: a frame that is not a JSON object ->
BadRequest; sanity check -> SanityCheckFailed; no known call key -> UnrecognisedRequest; rate
limit -> RateLimit; schema -> InputValidationFailed; auth -> AuthorizationRequired; then the call.
"""

from __future__ import annotations

import itertools
import random
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable

from . import envelope, schema
from .accounts import Account, Accounts
from .contracts import UNIT_SECONDS, Contract, Terms, price
from .envelope import DerivError, Incoming
from .market import Market, Tick, candles
from .ratelimit import RateLimiter

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


class DerivCore:
    def __init__(self, *, seed: int = 0, start_epoch: int | None = None,
                 seconds_per_tick: int = 1, backfill: int = 1000,
                 rate_clock: Callable[[], float] = time.monotonic) -> None:
        self.seed = seed
        self.start_epoch = start_epoch
        self.seconds_per_tick = seconds_per_tick
        self.backfill = backfill
        self.limiter = RateLimiter(clock=rate_clock)
        self.sessions: dict[str, Session] = {}
        self.reset()

    # -- world state ---------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, start_epoch: int | None = None) -> None:
        if seed is not None:
            self.seed = seed
        if start_epoch is not None:
            self.start_epoch = start_epoch
        epoch = self.start_epoch if self.start_epoch is not None else int(time.time())
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
        self.stats = {"requests": 0, "errors": 0, "pushes": 0, "settled": 0}
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
        self.stats["requests"] += 1
        if incoming.early_error is not None:
            self.stats["errors"] += 1
            return Result([incoming.early_error])
        spec, request = incoming.spec, incoming.request
        breach = self.limiter.check(
            spec.name, session.conn, session.account.loginid if session.account else None)
        if breach is not None:
            self.stats["errors"] += 1
            result = Result([envelope.error_reply(request, spec, spec.name, "RateLimit",
                                                  breach.message)])
            if breach.close_code:
                result.close = (breach.close_code, CLOSE_REASONS.get(breach.close_code, ""))
            return result
        invalid = schema.validate(spec, request)
        if invalid is not None:
            details, general = invalid
            self.stats["errors"] += 1
            return Result([envelope.error_reply(
                request, spec, spec.name, "InputValidationFailed",
                schema.validation_message(details, general), details)])
        if spec.auth_required and session.account is None:
            self.stats["errors"] += 1
            return Result([envelope.error_reply(request, spec, spec.name,
                                                "AuthorizationRequired", "Please log in.")])
        args = schema.apply_defaults(spec, request)
        handler = getattr(self, f"call_{spec.name}")
        try:
            return handler(session, request, spec, args)
        except DerivError as e:
            self.stats["errors"] += 1
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
        self.stats["pushes"] += 1
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
        self.stats["settled"] += 1
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
    @staticmethod
    def _tick_body(symbol, tick: Tick, stream_id: str | None) -> dict:
        half_spread = symbol.pip * 10
        body = {
            "ask": round(tick.quote + half_spread, symbol.decimals),
            "bid": round(tick.quote - half_spread, symbol.decimals),
            "epoch": tick.epoch,
            "pip_size": symbol.decimals,
            "quote": tick.quote,
            "symbol": tick.symbol,
        }
        if stream_id is not None:
            body["id"] = stream_id
        return body

    def _ohlc_body(self, symbol, tick: Tick, stream: Stream) -> dict:
        g = stream.granularity
        open_time = tick.epoch - tick.epoch % g
        candle = candles(symbol.ticks_between(open_time, tick.epoch), g)[-1]
        fmt = f"{{:.{symbol.decimals}f}}"
        return {
            "close": fmt.format(candle["close"]), "epoch": tick.epoch, "granularity": g,
            "high": fmt.format(candle["high"]), "id": stream.id, "low": fmt.format(candle["low"]),
            "open": fmt.format(candle["open"]), "open_time": open_time,
            "pip_size": symbol.decimals, "symbol": symbol.name,
        }

    def _proposal_body(self, terms: Terms, proposal_id: str, tick: Tick) -> dict:
        body = {
            "ask_price": terms.ask_price,
            "date_start": self.market.epoch,
            "display_value": f"{terms.ask_price:.2f}",
            "id": proposal_id,
            "longcode": terms.longcode,
            "payout": terms.payout,
            "spot": tick.quote,
            "spot_time": tick.epoch,
        }
        if terms.duration_unit != "t":
            body["date_expiry"] = self.market.epoch + terms.duration * UNIT_SECONDS[
                terms.duration_unit]
        return body

    @staticmethod
    def _balance_body(account: Account, stream: Stream | None) -> dict:
        body = {"balance": account.balance, "currency": account.currency,
                "loginid": account.loginid}
        if stream is not None:
            body["id"] = stream.id
        return body

    # -- calls ---------------------------------------------------------------------------------
    @staticmethod
    def _ok(request: dict, spec: schema.CallSpec, msg_type: str, body: dict) -> Result:
        return Result([envelope.reply(request, spec, msg_type, body)])

    def call_ping(self, session, request, spec, args) -> Result:
        return self._ok(request, spec, "ping", {"ping": "pong"})

    def call_time(self, session, request, spec, args) -> Result:
        return self._ok(request, spec, "time", {"time": self.market.epoch})

    def call_authorize(self, session, request, spec, args) -> Result:
        account = self.accounts.by_token_or_none(args["authorize"])
        if account is None:
            raise DerivError("InvalidToken", "The token is invalid.")
        if session.account is not None and session.account is not account:
            self._drop_auth_streams(session)
        session.account = account
        body = {
            "account_list": [account.account_list_entry()],
            "balance": account.balance,
            "country": "id",
            "currency": account.currency,
            "email": account.email,
            "fullname": account.fullname,
            "is_virtual": int(account.is_virtual),
            "landing_company_fullname": account.landing_company_fullname,
            "landing_company_name": account.landing_company_name,
            "linked_to": [],
            "local_currencies": {"IDR": {"fractional_digits": 2}},
            "loginid": account.loginid,
            "preferred_language": "EN",
            "scopes": list(account.scopes),
            "upgradeable_landing_companies": ["svg"],
            "user_id": account.user_id,
        }
        return self._ok(request, spec, "authorize", {"authorize": body})

    def _drop_auth_streams(self, session: Session) -> None:
        for stream in list(session.streams.values()):
            if stream.type in AUTH_STREAM_TYPES:
                self._drop(stream)

    def call_logout(self, session, request, spec, args) -> Result:
        self._drop_auth_streams(session)
        session.account = None
        return self._ok(request, spec, "logout", {"logout": 1})

    def call_website_status(self, session, request, spec, args) -> Result:
        body: dict = {"website_status": WEBSITE_STATUS}
        if args.get("subscribe") == 1:
            key = ("website_status",)
            if session.find_stream(key):
                raise DerivError("AlreadySubscribed",
                                 "You are already subscribed to website_status.")
            stream = self._subscribe(session, request, spec, "website_status", "website_status",
                                     key, {})
            body["subscription"] = {"id": stream.id}
        return self._ok(request, spec, "website_status", body)

    def call_active_symbols(self, session, request, spec, args) -> Result:
        full = args["active_symbols"] == "full"
        out = []
        for i, s in enumerate(self.market.symbols.values()):
            entry = {
                "allow_forward_starting": 0,
                "display_name": s.display_name,
                "display_order": i + 1,
                "exchange_is_open": 1,
                "is_trading_suspended": 0,
                "market": "synthetic_index",
                "market_display_name": "Derived",
                "pip": s.pip,
                "subgroup": "synthetics",
                "subgroup_display_name": "Synthetics",
                "submarket": "random_index",
                "submarket_display_name": "Continuous Indices",
                "symbol": s.name,
                "symbol_type": "stockindex",
            }
            if full:
                entry.update(
                    delay_amount=0, exchange_name="RETAIL", intraday_interval_minutes=1,
                    quoted_currency_symbol="", spot=s.last.quote, spot_age="0",
                    spot_percentage_change="0.00", spot_time=str(s.last.epoch))
            out.append(entry)
        return self._ok(request, spec, "active_symbols", {"active_symbols": out})

    def call_ticks(self, session, request, spec, args) -> Result:
        names = [args["ticks"]] if isinstance(args["ticks"], str) else list(args["ticks"])
        result = Result()
        for name in names:
            try:
                symbol = self.market.get(name)
                if symbol is None:
                    raise DerivError("InvalidSymbol", f"Symbol {name} invalid.")
                key = ("ticks", name)
                if session.find_stream(key):
                    raise DerivError("AlreadySubscribed", f"You are already subscribed to {name}")
                # the real server streams ticks whether or not subscribe=1 was sent
                stream = self._subscribe(session, request, spec, "ticks", "tick", key,
                                         self.tick_streams.setdefault(name, {}), symbol=name)
                first = envelope.reply(request, spec, "tick", {
                    "tick": self._tick_body(symbol, symbol.last, stream.id),
                    "subscription": {"id": stream.id}})
                result.replies.append(first)
            except DerivError as e:
                self.stats["errors"] += 1
                result.replies.append(envelope.error_reply(request, spec, "tick", e.code,
                                                           e.message, e.details))
        return result

    def call_ticks_history(self, session, request, spec, args) -> Result:
        name = args["ticks_history"]
        style = args.get("style", "ticks")
        msg_type = "candles" if style == "candles" else "history"
        symbol = self.market.get(name)
        if symbol is None:
            raise DerivError("InvalidSymbol", f"Symbol {name} invalid.", msg_type=msg_type)
        end = self.market.epoch if args["end"] == "latest" else int(args["end"])
        start = args.get("start", 0)
        count = max(1, int(args.get("count", 1000)))
        ticks = symbol.ticks_between(start, end)
        body: dict = {"pip_size": symbol.decimals}
        if style == "candles":
            granularity = args.get("granularity", 60)
            body["candles"] = candles(ticks, granularity)[-count:]
        else:
            granularity = None
            ticks = ticks[-count:]
            body["history"] = {"prices": [t.quote for t in ticks],
                               "times": [t.epoch for t in ticks]}
        if args.get("subscribe") == 1:
            if style == "candles":
                key, index, type_, push_type = (("candles", name, granularity),
                                                self.candle_streams, "candles", "ohlc")
            else:
                key, index, type_, push_type = (("ticks", name), self.tick_streams, "ticks",
                                                "tick")
            if session.find_stream(key):
                raise DerivError("AlreadySubscribed", f"You are already subscribed to {name}",
                                 msg_type=msg_type)
            stream = self._subscribe(session, request, spec, type_, push_type, key,
                                     index.setdefault(name, {}), symbol=name,
                                     granularity=granularity)
            body["subscription"] = {"id": stream.id}
        return self._ok(request, spec, msg_type, body)

    def call_balance(self, session, request, spec, args) -> Result:
        account = session.account
        body = self._balance_body(account, None)
        if args.get("account") == "all":
            body["accounts"] = {account.loginid: {
                "balance": account.balance, "converted_amount": account.balance,
                "currency": account.currency, "demo_account": int(account.is_virtual),
                "status": 1, "type": "deriv"}}
        if args.get("subscribe") == 1:
            key = ("balance", account.loginid)
            if session.find_stream(key):
                raise DerivError("AlreadySubscribed",
                                 "You are already subscribed to balance for all accounts.")
            stream = self._subscribe(session, request, spec, "balance", "balance", key,
                                     self.balance_streams.setdefault(account.loginid, {}),
                                     account=account)
            body["id"] = stream.id
            return self._ok(request, spec, "balance",
                            {"balance": body, "subscription": {"id": stream.id}})
        return self._ok(request, spec, "balance", {"balance": body})

    def call_proposal(self, session, request, spec, args) -> Result:
        symbol = self.market.get(args["symbol"])
        terms = price(args, symbol)
        subscribe = args.get("subscribe") == 1
        if subscribe:
            key = ("proposal",) + tuple(sorted(
                (k, repr(v)) for k, v in request.items()
                if k not in ("req_id", "passthrough", "subscribe")))
            if session.find_stream(key):
                raise DerivError("AlreadySubscribed", "You are already subscribed to proposal.")
            if sum(s.type == "proposal" for s in session.streams.values()) \
                    >= MAX_PROPOSAL_SUBSCRIPTIONS:
                raise DerivError(PROPOSAL_LIMIT_CODE, PROPOSAL_LIMIT_MESSAGE)
            stream = self._subscribe(session, request, spec, "proposal", "proposal", key,
                                     self.proposal_streams.setdefault(symbol.name, {}),
                                     symbol=symbol.name, terms=terms)
            proposal_id = stream.id
        else:
            proposal_id = self.new_id()
        session.proposals[proposal_id] = terms
        while len(session.proposals) > MAX_REMEMBERED_PROPOSALS:
            session.proposals.popitem(last=False)
        body: dict = {"proposal": self._proposal_body(terms, proposal_id, symbol.last)}
        if subscribe:
            body["subscription"] = {"id": proposal_id}
        return self._ok(request, spec, "proposal", body)

    def call_buy(self, session, request, spec, args) -> Result:
        account: Account = session.account
        if args["buy"] == "1":
            if "parameters" not in args:
                raise DerivError("InvalidContractProposal", "Unknown contract proposal")
            params = args["parameters"]
            terms = price(params, self.market.get(params["symbol"]))
        else:
            terms = session.proposals.get(args["buy"])
            if terms is None:
                raise DerivError("InvalidContractProposal", "Unknown contract proposal")
        if terms.currency != account.currency:
            raise DerivError("ContractCreationFailure",
                             f"Currency {terms.currency} is not valid for this account.")
        if args["price"] < terms.ask_price:
            raise DerivError(
                "PriceMoved",
                "The underlying market has moved too much since you priced the contract. "
                f"The contract price has changed from {args['price']:.2f} {terms.currency} "
                f"to {terms.ask_price:.2f} {terms.currency}.")
        if account.balance < terms.ask_price:
            raise DerivError(
                "InsufficientBalance",
                f"Your account balance ({account.currency}{account.balance:.2f}) is "
                f"insufficient to buy this contract ({account.currency}{terms.ask_price:.2f}).")
        if args["buy"] != "1":
            # a proposal is bought once; its stream ends
            session.proposals.pop(args["buy"], None)
            stream = session.streams.get(args["buy"])
            if stream is not None:
                self._drop(stream)
        now = self.market.epoch
        symbol = self.market.symbols[terms.symbol]
        contract = Contract(next(self._contract_ids), next(self._transaction_ids), account,
                            terms, now, symbol.decimals)
        self.contracts[contract.contract_id] = contract
        self.open_contracts.setdefault(terms.symbol, {})[contract.contract_id] = contract
        balance_after = self.accounts.debit(account, terms.ask_price)
        body: dict = {"buy": {
            "balance_after": balance_after,
            "buy_price": terms.ask_price,
            "contract_id": contract.contract_id,
            "longcode": terms.longcode,
            "payout": terms.payout,
            "purchase_time": now,
            "shortcode": terms.shortcode(now),
            "start_time": now,
            "transaction_id": contract.transaction_id,
        }}
        if args.get("subscribe") == 1:
            stream = self._subscribe(
                session, request, spec, "proposal_open_contract", "proposal_open_contract",
                ("proposal_open_contract", contract.contract_id),
                self.contract_streams.setdefault(contract.contract_id, {}), contract=contract,
                symbol=terms.symbol)
            body["subscription"] = {"id": stream.id}
        result = self._ok(request, spec, "buy", body)
        self._push_balance(account, result.pushes)
        return result

    def call_proposal_open_contract(self, session, request, spec, args) -> Result:
        account: Account = session.account
        if "contract_id" in args:
            contract = self.contracts.get(args["contract_id"])
            wanted = [contract] if contract is not None and contract.account is account else []
            if not wanted:
                return self._ok(request, spec, "proposal_open_contract",
                                {"proposal_open_contract": {}})
        else:
            wanted = [c for c in self.contracts.values() if c.account is account and not c.is_sold]
            if not wanted:
                return self._ok(request, spec, "proposal_open_contract",
                                {"proposal_open_contract": {}})
        subscribe = args.get("subscribe") == 1
        if subscribe:
            # every key is checked before any stream starts: an AlreadySubscribed answer must not
            # leave streams behind that the client never got an id for
            for contract in wanted:
                if not contract.is_sold and session.find_stream(
                        ("proposal_open_contract", contract.contract_id)):
                    raise DerivError("AlreadySubscribed",
                                     "You are already subscribed to proposal_open_contract.")
        result = Result()
        for contract in wanted:
            state = contract.state(self.market.epoch)
            body: dict = {"proposal_open_contract": state}
            if subscribe and not contract.is_sold:
                key = ("proposal_open_contract", contract.contract_id)
                stream = self._subscribe(
                    session, request, spec, "proposal_open_contract", "proposal_open_contract",
                    key, self.contract_streams.setdefault(contract.contract_id, {}),
                    contract=contract, symbol=contract.terms.symbol)
                state["id"] = stream.id
                body["subscription"] = {"id": stream.id}
            result.replies.append(envelope.reply(request, spec, "proposal_open_contract", body))
        return result

    def call_forget(self, session, request, spec, args) -> Result:
        stream = session.streams.get(args["forget"])
        if stream is not None:
            self._drop(stream)
        return self._ok(request, spec, "forget", {"forget": 1 if stream else 0})

    def call_forget_all(self, session, request, spec, args) -> Result:
        types = args["forget_all"]
        types = {types} if isinstance(types, str) else set(types)
        gone = []
        for stream in list(session.streams.values()):
            if stream.type in types:
                self._drop(stream)
                gone.append(stream.id)
        return self._ok(request, spec, "forget_all", {"forget_all": gone})


#: msg_type of a call's successful reply, where it differs from the call name
REPLY_MSG_TYPE = {"ticks": "tick"}

WEBSITE_STATUS = {
    "api_call_limits": {
        "max_proposal_subscription": {
            "applies_to": "subscribing to proposal concurrently", "max": 5},
        "max_requestes_general": {
            "applies_to": "rest of calls", "hourly": 14400, "minutely": 180},
        "max_requests_outcome": {
            "applies_to": "portfolio, statement and proposal", "hourly": 1500, "minutely": 25},
        "max_requests_pricing": {
            "applies_to": "proposal and proposal_open_contract", "hourly": 3600,
            "minutely": 80},
    },
    "clients_country": "id",
    "currencies_config": {
        "USD": {"fractional_digits": 2, "is_deposit_suspended": 0, "is_suspended": 0,
                "is_withdrawal_suspended": 0, "name": "US Dollar", "stake_default": 10,
                "transfer_between_accounts": {"fees": {}, "limits": {"max": 10000, "min": 1},
                                              "limits_dxtrade": {}, "limits_mt5": {}},
                "type": "fiat"},
    },
    "site_status": "up",
    "supported_languages": ["EN"],
    "terms_conditions_version": "Version 4.2.0 2020-10-07",
}
