"""Request schemas of the Deriv calls the fake serves, and a validator that words its findings
as the real server does.

The real server validates every request against the call's published `send.json` (JSON Schema
draft 4) and reports failures as `InputValidationFailed`: errors at a property path go into
`details` keyed by that path, errors about the whole request (a property that is not allowed)
go into the message only; the message is "Input validation failed: " followed by the detail keys
and then the general messages, joined by ", ". The texts per check follow the Perl
JSON::Validator the server uses ("Expected integer - got string.", "Not in enum list: 1.",
"String does not match ^\\w{2,30}$.", "Missing property.", "Properties not allowed: foo.").

Only the keywords those schemas use for the calls served here are implemented: type, enum,
pattern, minimum/maximum, maxItems, required, additionalProperties (false), oneOf of
string-or-array, and nested objects. The field lists below are transcribed from the schemas.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

#: Marker for "any JSON type" (e.g. passthrough is an object, but some fields take anything).
ANY = "any"


@dataclass(frozen=True)
class Field:
    """One property of a request schema."""

    type: str | tuple[str, ...]  # JSON type name(s): integer, number, string, object, array
    enum: tuple | None = None
    pattern: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    items: "Field | None" = None  # for arrays
    max_items: int | None = None
    properties: "dict[str, Field] | None" = None  # for objects with a closed set of keys
    required: tuple[str, ...] = ()
    one_of: "tuple[Field, ...] | None" = None
    sensitive: bool = False  # echoed back as "<not shown>"
    default: Any = None


@dataclass(frozen=True)
class CallSpec:
    """The request schema of one call."""

    name: str
    fields: dict[str, Field]
    required: tuple[str, ...]
    auth_required: bool = False
    #: stream type for forget_all, when the call can subscribe
    stream_type: str | None = None
    sensitive: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "sensitive", frozenset(k for k, f in self.fields.items() if f.sensitive)
        )


# -- the common tail of every request schema ----------------------------------------------------
COMMON = {
    "passthrough": Field("object"),
    "req_id": Field("integer"),
}
LOGINID = Field("string", pattern=r"^[A-Za-z]+[0-9]+$")
ONE = Field("integer", enum=(1,))
SUBSCRIBE_1 = Field("integer", enum=(1,))
SUBSCRIBE_01 = Field("integer", enum=(0, 1))
SYMBOL = Field("string", pattern=r"^\w{2,30}$")
BARRIER = Field("string", pattern=r"^(?=.{1,20}$)[+-]?[0-9]+\.?[0-9]*$")
CONTRACT_TYPES = (
    "MULTUP", "MULTDOWN", "UPORDOWN", "EXPIRYRANGE", "ONETOUCH", "CALLE", "LBHIGHLOW", "ASIAND",
    "EXPIRYRANGEE", "DIGITDIFF", "DIGITMATCH", "DIGITOVER", "PUTE", "DIGITUNDER", "NOTOUCH",
    "CALL", "RANGE", "LBFLOATPUT", "DIGITODD", "PUT", "ASIANU", "LBFLOATCALL", "EXPIRYMISSE",
    "EXPIRYMISS", "DIGITEVEN", "TICKHIGH", "TICKLOW", "RESETCALL", "RESETPUT", "SNOWDOWN",
    "SNOWUP", "CALLSPREAD", "PUTSPREAD", "RUNHIGH", "RUNLOW", "ACCU", "VANILLALONGCALL",
    "VANILLALONGPUT", "TURBOSLONG", "TURBOSSHORT",
)
STREAM_TYPES = (
    "balance", "candles", "cashier_payments", "p2p_advert", "p2p_advertiser", "p2p_order",
    "proposal", "proposal_open_contract", "ticks", "transaction",
    "trading_platform_asset_listing", "website_status", "p2p_settings", "crypto_estimations",
)
GRANULARITIES = (60, 120, 180, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400)

# contract parameters shared by `proposal` and `buy.parameters`
CONTRACT_PARAMETERS = {
    "amount": Field("number", minimum=0),
    "barrier": BARRIER,
    "barrier2": BARRIER,
    "barrier_range": Field("string", enum=("tight", "middle", "wide")),
    "basis": Field("string", enum=("payout", "stake")),
    "cancellation": Field("string", pattern=r"^\w+$"),
    "contract_type": Field("string", enum=CONTRACT_TYPES),
    "currency": Field("string", pattern=r"^[a-zA-Z0-9]{2,20}$"),
    "date_expiry": Field("integer", minimum=0, maximum=9999999999),
    "date_start": Field("integer", minimum=0, maximum=9999999999),
    "duration": Field("integer", minimum=0, maximum=99999999),
    "duration_unit": Field("string", enum=("d", "m", "s", "h", "t"), default="s"),
    "growth_rate": Field("number"),
    "limit_order": Field(
        "object",
        properties={"stop_loss": Field("number"), "take_profit": Field("number")},
    ),
    "multiplier": Field("number", minimum=0),
    "payout_per_point": Field("number"),
    "product_type": Field("string", enum=("basic",), default="basic"),
    "selected_tick": Field("integer"),
    "symbol": SYMBOL,
    "trade_risk_profile": Field("string", enum=("low", "medium", "high")),
    "trading_period_start": Field("integer"),
}


def _spec(name: str, fields: dict[str, Field], required=(), auth=False, stream=None) -> CallSpec:
    return CallSpec(
        name=name,
        fields={**fields, **COMMON},
        required=(name, *required),
        auth_required=auth,
        stream_type=stream,
    )


#: The calls the fake serves, in the real dispatcher's priority order (when a request carries
#: several call keys, the first of these wins).
CALLS: dict[str, CallSpec] = {
    s.name: s
    for s in (
        _spec("authorize", {
            "authorize": Field("string", pattern=r"^[\w\-]{1,128}$", sensitive=True),
            "add_to_login_history": Field("integer", enum=(1, 0), default=0),
            "tokens": Field(
                "array", items=Field("string", pattern=r"^[\w\-]{1,128}$"), max_items=25,
                sensitive=True,
            ),
        }),
        _spec("logout", {"logout": ONE, "loginid": LOGINID}),
        _spec("active_symbols", {
            "active_symbols": Field("string", enum=("brief", "full")),
            "barrier_category": Field("array", items=Field("string", enum=(
                "american", "asian", "euro_atm", "euro_non_atm", "non_financial", "lookback",
                "reset"))),
            "contract_type": Field("array", items=Field("string", enum=CONTRACT_TYPES)),
            "landing_company": Field("string", enum=(
                "iom", "malta", "maltainvest", "svg", "virtual", "vanuatu")),
            "landing_company_short": Field("string", enum=(
                "iom", "malta", "maltainvest", "svg", "virtual", "vanuatu")),
            "product_type": Field("string", enum=("basic",)),
            "loginid": LOGINID,
        }),
        _spec("ticks", {
            "ticks": Field(("string", "array"), one_of=(
                SYMBOL, Field("array", items=SYMBOL))),
            "subscribe": SUBSCRIBE_1,
        }, stream="ticks"),
        _spec("ticks_history", {
            "ticks_history": SYMBOL,
            "adjust_start_time": ONE,
            "count": Field("integer", default=1000),
            "end": Field("string", pattern=r"^(latest|[0-9]{1,10})$"),
            "granularity": Field("integer", enum=GRANULARITIES),
            "start": Field("integer", minimum=0, maximum=9999999999),
            "style": Field("string", enum=("candles", "ticks"), default="ticks"),
            "subscribe": SUBSCRIBE_1,
        }, required=("end",)),
        _spec("proposal", {
            "proposal": ONE,
            **CONTRACT_PARAMETERS,
            "subscribe": SUBSCRIBE_1,
            "loginid": LOGINID,
        }, required=("contract_type", "currency", "symbol"), stream="proposal"),
        _spec("forget", {"forget": Field("string", pattern=r"^[\w-]{32,128}$")}),
        _spec("forget_all", {
            "forget_all": Field(("string", "array"), one_of=(
                Field("string", enum=STREAM_TYPES),
                Field("array", items=Field("string", enum=STREAM_TYPES)))),
        }),
        _spec("ping", {"ping": ONE}),
        _spec("time", {"time": ONE}),
        _spec("website_status", {"website_status": ONE, "subscribe": SUBSCRIBE_01},
              stream="website_status"),
        _spec("balance", {
            "balance": ONE,
            "account": Field("string", pattern=r"^(current|all|[A-Z]{2,4}[0-9]{1,10})$",
                             default="current"),
            "subscribe": SUBSCRIBE_01,
            "loginid": LOGINID,
        }, auth=True, stream="balance"),
        _spec("buy", {
            "buy": Field("string", pattern=r"^(?:[\w-]{32,128}|1)$"),
            "parameters": Field(
                "object",
                properties={**CONTRACT_PARAMETERS, "app_markup_percentage": Field("number")},
                required=("contract_type", "currency", "symbol"),
            ),
            "price": Field("number", minimum=0),
            "subscribe": SUBSCRIBE_1,
            "loginid": LOGINID,
        }, required=("price",), auth=True),
        _spec("proposal_open_contract", {
            "proposal_open_contract": ONE,
            "contract_id": Field("integer"),
            "subscribe": SUBSCRIBE_1,
            "loginid": LOGINID,
        }, auth=True, stream="proposal_open_contract"),
    )
}


# -- validation ---------------------------------------------------------------------------------
def json_type(value: Any) -> str:
    """The JSON type name of a decoded value, as JSON::Validator names it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


_PY_TYPES: dict[str, type | tuple[type, ...]] = {
    "integer": int, "number": (int, float), "string": str, "object": dict, "array": list,
    "boolean": bool,
}


def _type_ok(value: Any, wanted: str) -> bool:
    if wanted == ANY:
        return True
    if isinstance(value, bool):
        return wanted == "boolean"
    return isinstance(value, _PY_TYPES[wanted])


def _fmt_enum(enum: tuple) -> str:
    return ", ".join(str(v) for v in enum)


_PATTERNS: dict[str, re.Pattern] = {}


def _search(pattern: str, value: str) -> bool:
    compiled = _PATTERNS.get(pattern)
    if compiled is None:
        # JSON Schema patterns are ECMA-262: \w is ASCII only there, as in Perl without /u.
        compiled = _PATTERNS[pattern] = re.compile(pattern, re.ASCII)
    return compiled.search(value) is not None


def check_field(spec: Field, value: Any, path: str, errors: list[tuple[str, str]]) -> None:
    """Append (path, message) for every way `value` breaks `spec`."""
    if spec.one_of is not None:
        matches = 0
        for option in spec.one_of:
            sub: list[tuple[str, str]] = []
            check_field(option, value, path, sub)
            matches += not sub
        if matches != 1:
            wanted = "/".join(o.type if isinstance(o.type, str) else o.type[0] for o in spec.one_of)
            if json_type(value) not in [o.type for o in spec.one_of]:
                errors.append((path, f"Expected {wanted} - got {json_type(value)}."))
            else:
                # the value has a right type but breaks that branch: report the branch's error
                for option in spec.one_of:
                    if _type_ok(value, option.type):
                        check_field(option, value, path, errors)
                        break
        return
    if isinstance(spec.type, str):
        if not _type_ok(value, spec.type):
            errors.append((path, f"Expected {spec.type} - got {json_type(value)}."))
            return
    elif not any(_type_ok(value, t) for t in spec.type):
        errors.append((path, f"Expected {'/'.join(spec.type)} - got {json_type(value)}."))
        return
    if spec.enum is not None and value not in spec.enum:
        errors.append((path, f"Not in enum list: {_fmt_enum(spec.enum)}."))
        return
    if spec.pattern is not None and isinstance(value, str) and not _search(spec.pattern, value):
        errors.append((path, f"String does not match {spec.pattern}."))
        return
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if spec.minimum is not None and value < spec.minimum:
            errors.append((path, f"{value} < minimum({spec.minimum:g})"))
            return
        if spec.maximum is not None and value > spec.maximum:
            errors.append((path, f"{value} > maximum({spec.maximum:g})"))
            return
    if isinstance(value, list):
        if spec.max_items is not None and len(value) > spec.max_items:
            errors.append((path, f"Too many items: {len(value)}/{spec.max_items}."))
            return
        if spec.items is not None:
            for i, item in enumerate(value):
                check_field(spec.items, item, f"{path}/{i}", errors)
    if isinstance(value, dict) and spec.properties is not None:
        check_object(spec.properties, spec.required, value, path, errors)


def check_object(
    fields: dict[str, Field], required: tuple[str, ...], value: dict, path: str,
    errors: list[tuple[str, str]],
) -> None:
    extra = sorted(k for k in value if k not in fields)
    if extra:
        errors.append((path or "/", f"Properties not allowed: {', '.join(extra)}."))
    for name in required:
        if name not in value:
            errors.append((f"{path}/{name}", "Missing property."))
    for name, item in value.items():
        if name in fields:
            check_field(fields[name], item, f"{path}/{name}", errors)


def validate(spec: CallSpec, request: dict) -> tuple[dict[str, str], list[str]] | None:
    """Check a request against its call's schema.

    Returns None when valid, else (details, general): details maps a property path (without
    the leading "/", nested levels joined by "/") to its message; general holds messages about
    the request as a whole.
    """
    errors: list[tuple[str, str]] = []
    check_object(spec.fields, spec.required, request, "", errors)
    if not errors:
        return None
    details: dict[str, str] = {}
    general: list[str] = []
    for path, message in errors:
        key = path.lstrip("/")
        if key:
            details.setdefault(key, message)
        else:
            general.append(message)
    return details, general


def validation_message(details: dict[str, str], general: list[str]) -> str:
    return "Input validation failed: " + ", ".join([*details, *general])


def apply_defaults(spec: CallSpec, request: dict) -> dict:
    """A copy of the request with the schema's defaults filled in (as the server does after
    validation; the echo_req keeps the request as sent)."""
    filled = dict(request)
    for name, f in spec.fields.items():
        if name not in filled and f.default is not None:
            filled[name] = f.default
    return filled
