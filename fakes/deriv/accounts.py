"""Accounts a test creates through the control API: token, loginid, currency, balance.

Buying debits the balance and settlement credits the payout; every change bumps a transaction
id so balance streams can be told about it.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

TOKEN_PATTERN = re.compile(r"^[\w\-]{1,128}$", re.ASCII)
LOGINID_PATTERN = re.compile(r"^[A-Z]{2,4}[0-9]{1,10}$")
ALL_SCOPES = ("read", "trade", "trading_information", "payments", "admin")


@dataclass
class Account:
    token: str
    loginid: str
    currency: str
    balance: float
    is_virtual: bool
    user_id: int
    email: str
    fullname: str
    scopes: tuple[str, ...] = ALL_SCOPES
    created_at: int = 1_600_000_000
    transactions: int = 0

    @property
    def landing_company_name(self) -> str:
        return "virtual" if self.is_virtual else "svg"

    @property
    def landing_company_fullname(self) -> str:
        return "Deriv Limited" if self.is_virtual else "Deriv (SVG) LLC"

    def account_list_entry(self) -> dict:
        return {
            "account_category": "trading",
            "account_type": "binary",
            "broker": re.match(r"[A-Z]+", self.loginid).group(0),
            "created_at": self.created_at,
            "currency": self.currency,
            "currency_type": "fiat",
            "is_disabled": 0,
            "is_virtual": int(self.is_virtual),
            "landing_company_name": self.landing_company_name,
            "linked_to": [],
            "loginid": self.loginid,
        }

    def public(self) -> dict:
        """What the control API shows of an account."""
        return {
            "token": self.token, "loginid": self.loginid, "currency": self.currency,
            "balance": self.balance, "is_virtual": self.is_virtual, "user_id": self.user_id,
            "email": self.email, "fullname": self.fullname, "scopes": list(self.scopes),
        }


@dataclass
class Accounts:
    by_token: dict[str, Account] = field(default_factory=dict)
    by_loginid: dict[str, Account] = field(default_factory=dict)
    _numbers: itertools.count = field(default_factory=lambda: itertools.count(1))

    def create(self, *, token: str | None = None, loginid: str | None = None,
               currency: str = "USD", balance: float = 10000.0, is_virtual: bool = True,
               email: str | None = None, fullname: str | None = None,
               scopes: tuple[str, ...] | list[str] | None = None) -> Account:
        n = next(self._numbers)
        token = token or f"fake-token-{n:04d}"
        loginid = loginid or f"{'VRTC' if is_virtual else 'CR'}{90000000 + n}"
        if not TOKEN_PATTERN.match(token):
            raise ValueError(f"token must match {TOKEN_PATTERN.pattern}")
        if not LOGINID_PATTERN.match(loginid):
            raise ValueError(f"loginid must match {LOGINID_PATTERN.pattern}")
        if token in self.by_token or loginid in self.by_loginid:
            raise ValueError("an account with that token or loginid exists")
        account = Account(
            token=token, loginid=loginid, currency=currency, balance=round(float(balance), 2),
            is_virtual=is_virtual, user_id=10_000_000 + n,
            email=email or f"trader{n}@example.com", fullname=fullname or f"Trader {n}",
            scopes=tuple(scopes) if scopes else ALL_SCOPES,
        )
        self.by_token[token] = account
        self.by_loginid[loginid] = account
        return account

    def by_token_or_none(self, token: str) -> Account | None:
        return self.by_token.get(token)

    def debit(self, account: Account, amount: float) -> float:
        account.balance = round(account.balance - amount, 2)
        account.transactions += 1
        return account.balance

    def credit(self, account: Account, amount: float) -> float:
        account.balance = round(account.balance + amount, 2)
        account.transactions += 1
        return account.balance
