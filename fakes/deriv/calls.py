"""The calls the fake Deriv API answers: one `call_<name>` per call, and the message bodies.

A mixin of DerivCore (core.py): each handler gets the connection's session, the request as sent,
its schema and the request with the schema's defaults filled in, and returns a `Result`; it uses
the core's state (market, accounts, contracts, streams) and raises DerivError with the real
server's code and message. The order of checks before a handler runs is the core's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import envelope, schema
from .contracts import UNIT_SECONDS, Contract, Terms, price
from .envelope import DerivError
from .market import Tick, candles

from .state import (
    AUTH_STREAM_TYPES, MAX_PROPOSAL_SUBSCRIPTIONS, MAX_REMEMBERED_PROPOSALS, PROPOSAL_LIMIT_CODE,
    PROPOSAL_LIMIT_MESSAGE, Result, Session, Stream,
)

if TYPE_CHECKING:
    from .accounts import Account


class DerivCalls:
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
                self.count("errors")
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
