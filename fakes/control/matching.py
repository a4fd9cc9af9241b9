"""Which requests a fault rule, a gate or a journal query applies to.

One matcher for all three so that "the getUpdates of bot 123 on the Bot API fake" is written the
same way whether a test wants to fail it, hold it, or wait for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping


def _norm(method: str) -> str:
    # Bot API method names are case-insensitive; RPC and call names never differ only by case, so
    # folding is safe for every fake.
    return method.lower()


@dataclass
class Match:
    """A request matches when every given field agrees; an empty Match matches everything.

    fake:   "botapi" | "deriv" | "mtproto" | "*" (any)
    method: method, call or RPC name, case-insensitive; None = any
    params: each key must be present in the request with an equal value (compared as strings,
            because a Bot API query string carries "123" where JSON carries 123)
    conn:   a connection id from the journal; None = any
    """

    fake: str = "*"
    method: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    conn: str | None = None

    def matches(self, fake: str, method: str, params: Mapping[str, Any], conn: str = "") -> bool:
        if self.fake not in ("*", fake):
            return False
        if self.method is not None and _norm(self.method) != _norm(method):
            return False
        if self.conn is not None and self.conn != conn:
            return False
        for key, want in self.params.items():
            if key not in params or str(params[key]) != str(want):
                return False
        return True

    def to_json(self) -> dict[str, Any]:
        return {"fake": self.fake, "method": self.method, "params": self.params, "conn": self.conn}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Match":
        params = data.get("params") or {}
        if not isinstance(params, dict):
            raise ValueError("params must be an object")
        return cls(
            fake=str(data.get("fake") or "*"),
            method=None if data.get("method") in (None, "") else str(data["method"]),
            params=dict(params),
            conn=None if data.get("conn") in (None, "") else str(data["conn"]),
        )
