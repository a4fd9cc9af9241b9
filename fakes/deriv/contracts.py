"""Contracts: pricing a proposal, buying, and settling on the fake clock.

The fake offers the rise/fall family (CALL, PUT, CALLE, PUTE) on every symbol. A contract's
entry spot is the first tick after purchase; a tick-duration contract ends `duration` ticks
after entry, a time-duration one at the first tick at or after its expiry. CALL wins when the
exit spot is above the entry spot (CALLE also when equal); PUT mirrors it. The payout is a fixed
multiple of the stake (PAYOUT_RATIO), so prices are easy to predict in tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from .accounts import Account
from .envelope import DerivError
from .market import Symbol, Tick

PAYOUT_RATIO = 1.95
SUPPORTED = ("CALL", "PUT", "CALLE", "PUTE")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
#: allowed duration per unit (inclusive), as the real offerings roughly are for synthetics
DURATION_RANGE = {"t": (1, 10), "s": (15, 86400), "m": (1, 1440), "h": (1, 24), "d": (1, 365)}
UNIT_WORDS = {"t": "ticks", "s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


@dataclass
class Terms:
    """A priced contract offer (what a proposal describes and a buy purchases)."""

    contract_type: str
    symbol: str
    currency: str
    basis: str
    amount: float
    duration: int
    duration_unit: str
    ask_price: float
    payout: float
    display_name: str = ""

    @property
    def longcode(self) -> str:
        relation = {"CALL": "strictly higher than", "PUT": "strictly lower than",
                    "CALLE": "higher than or equal to", "PUTE": "lower than or equal to"}
        rel = relation[self.contract_type]
        if self.duration_unit == "t":
            return (f"Win payout if {self.display_name} after {self.duration} ticks is "
                    f"{rel} entry spot.")
        return (f"Win payout if {self.display_name} is {rel} entry spot at {self.duration} "
                f"{UNIT_WORDS[self.duration_unit]} after contract start time.")

    def shortcode(self, start: int) -> str:
        if self.duration_unit == "t":
            return (f"{self.contract_type}_{self.symbol}_{self.payout:.2f}_{start}_"
                    f"{self.duration}T_S0P_0")
        expiry = start + self.duration * UNIT_SECONDS[self.duration_unit]
        return f"{self.contract_type}_{self.symbol}_{self.payout:.2f}_{start}_{expiry}_S0P_0"


#: the real API's maximum payout for these contracts (its error text names it: 50000.00)
MAX_PAYOUT = 50000.0

def price(params: dict, symbol: Symbol | None) -> Terms:
    """Price contract parameters (already schema-valid) or raise the offering error."""
    if symbol is None:
        raise DerivError("ContractCreationFailure", "Trading is not offered for this asset.")
    contract_type = params["contract_type"]
    if contract_type not in SUPPORTED:
        raise DerivError("ContractCreationFailure",
                         "Trading is not offered for this contract type.")
    if "amount" not in params:
        raise DerivError("ContractCreationFailure", "Please specify either amount or payout.")
    if "duration" not in params:
        raise DerivError("ContractCreationFailure",
                         "Please specify either duration or date_expiry.")
    unit = params.get("duration_unit", "s")
    low, high = DURATION_RANGE[unit]
    duration = params["duration"]
    if not low <= duration <= high:
        raise DerivError("OfferingsValidationError", "Trading is not offered for this duration.")
    amount = float(params["amount"])
    basis = params.get("basis", "payout")
    if basis == "stake":
        ask, payout = round(amount, 2), round(amount * PAYOUT_RATIO, 2)
    else:
        ask, payout = round(amount / PAYOUT_RATIO, 2), round(amount, 2)
    if ask < 0.35:
        raise DerivError("ContractBuyValidationError",
                         f"Minimum stake of 0.35 and maximum payout of 50000.00. "
                         f"Current stake is {ask:.2f}.")
    if not payout <= MAX_PAYOUT:  # also an amount so large that the payout is no finite number
        shown = Decimal(repr(amount)) * (Decimal(repr(PAYOUT_RATIO)) if basis == "stake" else 1)
        raise DerivError("ContractBuyValidationError",
                         f"Minimum stake of 0.35 and maximum payout of 50000.00. "
                         f"Current payout is {shown:.2f}.")
    return Terms(contract_type, symbol.name, params["currency"], basis, amount, duration, unit,
                 ask, payout, symbol.display_name)


@dataclass
class Contract:
    contract_id: int
    transaction_id: int
    account: Account
    terms: Terms
    purchase_time: int
    pip_size: int
    entry: Tick | None = None
    exit: Tick | None = None
    last: Tick | None = None
    ticks_seen: int = 0
    status: str = "open"
    sell_price: float | None = None
    sell_transaction_id: int | None = None
    ticks: list[Tick] = field(default_factory=list)

    @property
    def date_expiry(self) -> int | None:
        if self.terms.duration_unit == "t":
            return self.exit.epoch if self.exit else None
        return self.purchase_time + self.terms.duration * UNIT_SECONDS[self.terms.duration_unit]

    @property
    def is_sold(self) -> bool:
        return self.status != "open"

    def on_tick(self, tick: Tick) -> bool:
        """Feed a tick of the contract's symbol; True when this tick settles it."""
        if self.is_sold or tick.epoch <= self.purchase_time:
            return False
        self.last = tick
        if self.entry is None:
            self.entry = tick
            self.ticks.append(tick)
            return False
        self.ticks.append(tick)
        self.ticks_seen += 1
        if self.terms.duration_unit == "t":
            done = self.ticks_seen >= self.terms.duration
        else:
            done = tick.epoch >= self.date_expiry
        if not done:
            return False
        self.exit = tick
        entry, exit_ = self.entry.quote, tick.quote
        kind = self.terms.contract_type
        if kind == "CALL":
            won = exit_ > entry
        elif kind == "CALLE":
            won = exit_ >= entry
        elif kind == "PUT":
            won = exit_ < entry
        else:
            won = exit_ <= entry
        self.status = "won" if won else "lost"
        self.sell_price = self.terms.payout if won else 0.0
        return True

    def bid_price(self) -> float:
        if self.is_sold:
            return self.sell_price
        if self.entry is None or self.last is None:
            return round(self.terms.ask_price * 0.95, 2)
        up = self.last.quote > self.entry.quote
        favourable = up if self.terms.contract_type.startswith("CALL") else not up
        return round(self.terms.payout * (0.6 if favourable else 0.4), 2)

    def state(self, now: int) -> dict:
        """The proposal_open_contract object."""
        t = self.terms
        bid = self.bid_price()
        profit = round(bid - t.ask_price, 2)
        fmt = f"{{:.{self.pip_size}f}}"
        out = {
            "account_id": self.account.user_id,
            "barrier": fmt.format(self.entry.quote) if self.entry else None,
            "barrier_count": 1,
            "bid_price": bid,
            "buy_price": t.ask_price,
            "contract_id": self.contract_id,
            "contract_type": t.contract_type,
            "currency": t.currency,
            "current_spot": self.last.quote if self.last else None,
            "current_spot_display_value": fmt.format(self.last.quote) if self.last else None,
            "current_spot_time": self.last.epoch if self.last else None,
            "date_start": self.purchase_time,
            "display_name": t.symbol,
            "is_expired": int(self.is_sold),
            "is_forward_starting": 0,
            "is_intraday": 1,
            "is_path_dependent": 0,
            "is_settleable": int(self.is_sold),
            "is_sold": int(self.is_sold),
            "is_valid_to_cancel": 0,
            "is_valid_to_sell": 0,
            "longcode": t.longcode,
            "payout": t.payout,
            "profit": profit,
            "profit_percentage": round(100 * profit / t.ask_price, 2) if t.ask_price else 0,
            "purchase_time": self.purchase_time,
            "shortcode": t.shortcode(self.purchase_time),
            "status": self.status,
            "transaction_ids": {"buy": self.transaction_id},
            "underlying": t.symbol,
        }
        if self.date_expiry is not None:
            out["date_expiry"] = self.date_expiry
        if t.duration_unit == "t":
            out["tick_count"] = t.duration
        if self.entry:
            out.update(entry_spot=self.entry.quote,
                       entry_spot_display_value=fmt.format(self.entry.quote),
                       entry_tick=self.entry.quote,
                       entry_tick_display_value=fmt.format(self.entry.quote),
                       entry_tick_time=self.entry.epoch)
        if self.is_sold:
            out.update(exit_tick=self.exit.quote,
                       exit_tick_display_value=fmt.format(self.exit.quote),
                       exit_tick_time=self.exit.epoch,
                       sell_price=self.sell_price, sell_spot=self.exit.quote,
                       sell_spot_display_value=fmt.format(self.exit.quote),
                       sell_spot_time=self.exit.epoch, sell_time=self.exit.epoch,
                       date_settlement=self.exit.epoch)
            out["transaction_ids"]["sell"] = self.sell_transaction_id
            out["validation_error"] = "This contract has been sold."
            out["validation_error_code"] = "ContractSold"
        else:
            out["current_spot_time"] = self.last.epoch if self.last else now
        return {k: v for k, v in out.items() if v is not None or k == "barrier"}
