"""Schemas of the Deriv fake's control routes (under /_control/deriv/); see control/schemas.py.

Ranges are what the fake can live with and what the real API knows: the market ticks at most every
10 ms (the real one ticks every 1-2 s; faster only burns a core), an idle timeout of 0 means never
(a negative or tiny one would cut every connection), balances are money with two decimals well
inside a double, close codes are ones a server may send.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator

from ..control.schemas import Body, MatchParams, Seconds, SENDABLE_CLOSE_CODES

Text = Annotated[str, StringConstraints(max_length=200)]
MIN_TICK = 0.01


def _interval(seconds: float | None) -> float | None:
    if seconds is not None and 0 < seconds < MIN_TICK:
        raise ValueError(f"0 (tick only when stepped) or at least {MIN_TICK} s")
    return seconds


class ResetBody(Body):
    seed: Annotated[int, Field(ge=-(2**63), le=2**63 - 1)] | None = None
    start_epoch: Annotated[int, Field(ge=0, le=9_999_999_999)] | None = None
    tick_interval: Annotated[float, Field(ge=0.0, le=3600.0)] | None = None

    _tick = field_validator("tick_interval")(classmethod(lambda cls, v: _interval(v)))


class AccountBody(Body):
    token: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,128}$")] | None = None
    loginid: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2,4}[0-9]{1,10}$")] | None = None
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{2,20}$")] = "USD"
    balance: Annotated[float, Field(ge=0.0, le=1e12)] = 10000.0
    is_virtual: bool = True
    email: Annotated[str, StringConstraints(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")] | None = None
    fullname: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    scopes: Annotated[list[Literal["read", "trade", "trading_information", "payments", "admin"]],
                      Field(min_length=1, max_length=5)] | None = None


class StepBody(Body):
    ticks: Annotated[int, Field(ge=1, le=100_000)] = 1


class IntervalBody(Body):
    seconds: Annotated[float, Field(ge=0.0, le=3600.0)]

    _tick = field_validator("seconds")(classmethod(lambda cls, v: _interval(v)))


def _close_code(code: int | None) -> int | None:
    if code is not None and code not in SENDABLE_CLOSE_CODES and not 3000 <= code <= 4999:
        raise ValueError("a WebSocket close code a server may send (1000-1003, 1007-1014, 3000-4999)")
    return code


class StallBody(Body):
    conn: Text | None = None
    subscription: Text | None = None
    type: Text | None = None
    symbol: Text | None = None
    contract_id: Annotated[int, Field(ge=0, le=2**63 - 1)] | Text | None = None
    method: Text | None = None


class UnstallBody(Body):
    id: Text | None = None


class LimitClassSpec(Body):
    calls: Annotated[list[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]{1,50}$")]],
                     Field(max_length=200)] = Field(default_factory=list)
    per_minute: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    per_hour: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    per_connection: bool = False
    close_code: int | None = None

    _code = field_validator("close_code")(classmethod(lambda cls, v: _close_code(v)))


class LimitsBody(Body):
    enabled: bool = True
    classes: dict[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]{1,50}$")], LimitClassSpec] | None = None


class LatencyBody(Body):
    method: Text | None = None
    params: MatchParams = Field(default_factory=dict)
    conn: Text | None = None
    delay: Seconds = 0.0
    jitter: Seconds = 0.0
    times: Annotated[int, Field(ge=0, le=1_000_000_000)] | None = None


MIN_IDLE = 0.05  # tests shorten the real 120 s to a fraction of a second; shorter cuts connections at once


class ConfigBody(Body):
    # 0 = never; a negative one would cut every connection
    idle_timeout: Annotated[float, Field(ge=0.0, le=86400.0)] | None = None

    @field_validator("idle_timeout")
    @classmethod
    def _not_tiny(cls, value: float | None) -> float | None:
        if value is not None and 0 < value < MIN_IDLE:
            raise ValueError(f"0 (never) or at least {MIN_IDLE} s")
        return value


ROUTE_SCHEMAS = [
    ("POST", "/reset", ResetBody),
    ("POST", "/accounts", AccountBody),
    ("POST", "/market/step", StepBody),
    ("POST", "/market/interval", IntervalBody),
    ("POST", "/stall", StallBody),
    ("POST", "/unstall", UnstallBody),
    ("POST", "/limits", LimitsBody),
    ("POST", "/latency", LatencyBody),
    ("POST", "/config", ConfigBody),
]
GET_ROUTES = ["/accounts", "/market", "/connections", "/limits"]
# /connections/{conn}/close is the kit's route for every fake (control/schemas.py CloseConnectionBody)
