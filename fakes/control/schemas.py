"""One schema per control route: what a body may hold, checked before anything touches a fake.

pydantic models in strict mode, so a wrong type is refused rather than coerced ("5" is not 5, true
is not 1), NaN and Infinity are refused everywhere, numbers have the ranges a fake can live with,
and unknown fields are refused (a misspelt option must not be silently ignored). A refused body
answers 400 with the field's path first: `Bad Request: delay: Input should be less than or equal
to 3600`. Every fake's routes use `parse_body` / `parse_query` with their own models (fakes/<fake>/
schemas.py), so nothing accepted here can break a fake later.

The error object of a fault rule is checked in each fake's own terms (`FaultError`): a Bot API
error code must be an HTTP status the fake can send, a Deriv code a plain identifier, an MTProto
transport error a 32-bit code.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, Literal, Mapping, TypeVar, Union

from aiohttp import web
from pydantic import (
    BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator,
)

M = TypeVar("M", bound=BaseModel)

MAX_DELAY = 3600.0
MAX_TEXT = 65536  # longest free text a control body may carry (a message text, a note)
MAX_BODY_BYTES = 4 << 20  # a control body is a few fields; 4 MiB is generous
#: JSON nesting a control body may have; the deepest legitimate one (a note's data) is far below
MAX_DEPTH = 32

FakeName = Literal["*", "botapi", "deriv", "mtproto"]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
ShortText = Annotated[str, StringConstraints(max_length=4096)]
Seconds = Annotated[float, Field(ge=0.0, le=MAX_DELAY)]
Count = Annotated[int, Field(ge=0, le=1_000_000_000)]
Scalar = Union[str, int, float, bool, None]
MatchParams = dict[Annotated[str, StringConstraints(max_length=200)], Scalar]

# WebSocket close codes a server may send (RFC 6455 7.4: 1004-1006 and 1015 are reserved)
SENDABLE_CLOSE_CODES = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014}


class Body(BaseModel):
    """A control body: strict types, no NaN/Infinity, no unknown fields."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class Query(BaseModel):
    """Query strings are text: numbers are parsed from it, still without NaN/Infinity."""

    model_config = ConfigDict(extra="forbid", strict=False, allow_inf_nan=False)


class SchemaError(ValueError):
    """A body the route's schema refuses; str() names the field first."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def describe(error: ValidationError) -> SchemaError:
    first = error.errors(include_url=False)[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "body"
    message = first.get("msg", "invalid")
    if first.get("type") == "extra_forbidden":
        message = "unknown field"
    if first.get("type") == "literal_error":
        expected = str((first.get("ctx") or {}).get("expected", "")).replace("'", "").replace(" or ", ", ")
        return SchemaError(f"{where} must be one of {expected}", where)
    if first.get("type") == "value_error" and str(message).startswith("Value error, "):
        message = str(message)[len("Value error, "):]
    return SchemaError(f"{where}: {message}", where)


def validate(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise describe(exc) from None


def json_depth(value: Any, limit: int) -> bool:
    """Whether `value` nests at most `limit` containers deep (iterative: no recursion limit)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return False
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return True


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def load_json(raw: bytes) -> Any:
    """Strict JSON: valid UTF-8, no NaN/Infinity, bounded nesting; raises SchemaError."""
    if len(raw) > MAX_BODY_BYTES:
        raise SchemaError(f"body: larger than {MAX_BODY_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
        value = json.loads(text, parse_constant=_no_constants)
    except RecursionError:
        raise SchemaError(f"body: nested deeper than {MAX_DEPTH}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise SchemaError(f"body: not JSON: {str(exc)[:200]}") from None
    if not json_depth(value, MAX_DEPTH):
        raise SchemaError(f"body: nested deeper than {MAX_DEPTH}")
    if _has_surrogate(value):
        raise SchemaError("body: a string holds a lone UTF-16 surrogate")
    return value


def _has_surrogate(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


async def parse_body(request: web.Request, model: type[M]) -> M:
    """The request's JSON body checked against `model`; an empty body is {}."""
    raw = await request.read()
    data = load_json(raw) if raw.strip() else {}
    if not isinstance(data, dict):
        raise SchemaError("body: must be a JSON object")
    return validate(model, data)


def parse_query(query: Mapping[str, str], model: type[M], *, prefixed: str | None = None) -> M:
    """A query string checked against `model`; keys starting with `prefixed` (e.g. "params.")
    are gathered into the model's `params` dict."""
    data: dict[str, Any] = {}
    params: dict[str, str] = {}
    event_data: dict[str, str] = {}  # "data.bot_id=5": a journal filter on the events' data
    for key, value in query.items():
        if prefixed and key.startswith(prefixed):
            params[key[len(prefixed):]] = value
        elif key.startswith("data.") and "data" in model.model_fields:
            event_data[key[len("data."):]] = value
        else:
            data[key] = value
    if prefixed:
        data["params"] = params
    if event_data:
        data["data"] = event_data
    return validate(model, {k: v for k, v in data.items() if v != ""})


def dump(value: Any) -> str:
    """Strict JSON out: NaN/Infinity raise instead of producing text no client can parse."""
    return json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(",", ":"))


def json_response(value: Any, status: int = 200) -> web.Response:
    return web.Response(text=dump(value), status=status, content_type="application/json")


# ---- the plane's own routes ------------------------------------------------------------------

class MatchFields(Body):
    fake: FakeName = "*"
    method: Annotated[str, StringConstraints(max_length=200)] | None = None
    params: MatchParams = Field(default_factory=dict)
    conn: Annotated[str, StringConstraints(max_length=200)] | None = None


class BotApiErrorParameters(Body):
    retry_after: Annotated[int, Field(ge=1, le=86400)] = 1
    migrate_to_chat_id: Annotated[int, Field(ge=-(2**53), le=2**53)] = 0


class FaultError(Body):
    """The `error` of an error rule, in the terms of the fake it targets (see faults.py)."""

    # (the fake reads the rule's error as given: null is refused, an omitted field is the fake's
    # own default)
    # Bot API: the HTTP status and envelope; MTProto: the rpc_error code
    error_code: Annotated[int, Field(ge=300, le=599)] = 400
    description: ShortText = ""
    parameters: BotApiErrorParameters = Field(default_factory=BotApiErrorParameters)
    # Deriv
    code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$")] = "InternalServerError"
    message: ShortText = ""
    details: dict[str, Any] = Field(default_factory=dict)
    # MTProto
    error_message: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9_]{1,128}$")] = "BAD_REQUEST"
    transport_error: Annotated[int, Field(ge=1, le=2**31 - 1)] = 404


class FaultBody(MatchFields):
    action: Literal["error", "delay", "drop", "close"]
    error: FaultError | None = None
    delay: Seconds = 0.0
    jitter: Seconds = 0.0
    close_code: int | None = None
    close_reason: Annotated[str, StringConstraints(max_length=123)] = ""
    skip: Count = 0
    times: Count | None = None
    probability: Annotated[float, Field(ge=0.0, le=1.0)] = 1.0
    stage: Literal["request", "push"] = "request"

    @field_validator("close_code")
    @classmethod
    def _sendable(cls, code: int | None) -> int | None:
        if code is not None and code not in SENDABLE_CLOSE_CODES and not 3000 <= code <= 4999:
            raise ValueError("a WebSocket close code a server may send (1000-1003, 1007-1014, 3000-4999)")
        return code

    @field_validator("close_reason")
    @classmethod
    def _fits_close_frame(cls, reason: str) -> str:
        if len(reason.encode("utf-8", "surrogatepass")) > 123:
            raise ValueError("at most 123 bytes (a close frame's limit)")
        return reason

    @model_validator(mode="after")
    def _error_needs_object(self) -> "FaultBody":
        if self.action == "error" and self.error is None:
            raise ValueError("an error rule needs `error`, an object in the fake's own terms")
        return self


class FaultsBody(Body):
    rules: Annotated[list[FaultBody], Field(min_length=1, max_length=1000)]


def parse_faults(data: Any) -> tuple[list[FaultBody], bool]:
    """One rule as the body, or {"rules": [...]}; returns (rules, whether it was a list)."""
    if isinstance(data, dict) and "rules" in data:
        return validate(FaultsBody, data).rules, True
    return [validate(FaultBody, data)], False


Order = Union[Literal["arrival", "reverse", "shuffle", "explore", "pct", "random"], Annotated[list[Annotated[int, Field(ge=0, le=100_000)]],
                                                            Field(max_length=100_000)]]


class GateBody(MatchFields):
    count: Annotated[int, Field(ge=1, le=100_000)] | None = None
    order: Order = "arrival"
    batches: Annotated[int, Field(ge=1, le=1_000_000)] | None = 1
    # the schedule policies' options (fakes/control/schedules.py)
    schedule: Annotated[int, Field(ge=0, le=1_000_000_000)] | None = None
    seed: Annotated[int, Field(ge=-2**63, le=2**63)] | None = None
    depth: Annotated[int, Field(ge=1, le=1000)] = 2


class ReleaseBody(Body):
    order: Order | None = None


# a recorded schedule: [[[identity, ...], [arrival position, ...]], ...] (schedules.schedule_to_json)
# (its identities and positions are checked by schedules.schedule_from_json, naming "schedule")
ScheduleBatch = Annotated[list[Annotated[list[Union[Annotated[str, StringConstraints(max_length=400)], int]],
                                         Field(max_length=10_000)]], Field(min_length=2, max_length=2)]


class ScheduleBody(Body):
    """POST /schedule: one release policy for every gate (schedules.policy_from_json)."""

    order: Literal["explore", "pct", "random", "replay"]
    schedule: Annotated[int, Field(ge=0, le=1_000_000_000)] | Annotated[
        list[ScheduleBatch], Field(max_length=10_000)] | None = None
    seed: Annotated[int, Field(ge=-2**63, le=2**63)] | None = None
    depth: Annotated[int, Field(ge=1, le=1000)] | None = None
    steps: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    token: Annotated[str, StringConstraints(max_length=100_000)] | None = None


class ScheduleQuery(Query):
    name: Annotated[str, StringConstraints(max_length=1000)] = "test"
    bot: Annotated[str, StringConstraints(max_length=1000)] = ""
    params: Annotated[dict[str, str], Field(max_length=0)] = Field(default_factory=dict)  # none taken


class NoteBody(Body):
    fake: Annotated[str, StringConstraints(max_length=100)] = "harness"
    conn: Annotated[str, StringConstraints(max_length=200)] = ""
    method: Annotated[str, StringConstraints(max_length=200)] = ""
    data: dict[str, Any] = Field(default_factory=dict)


class EmptyBody(Body):
    pass


Kind = Literal["connect", "disconnect", "request", "response", "push", "fault", "gate", "note"]


class JournalQuery(Query):
    fake: Annotated[str, StringConstraints(max_length=100)] | None = None
    kind: Kind | None = None
    method: Annotated[str, StringConstraints(max_length=200)] | None = None
    conn: Annotated[str, StringConstraints(max_length=200)] | None = None
    since: Annotated[int, Field(ge=0, le=2**62)] = 0
    ok: bool | None = None
    code: Annotated[str, StringConstraints(max_length=100)] | None = None
    gate: Annotated[str, StringConstraints(max_length=100)] | None = None
    action: Annotated[str, StringConstraints(max_length=100)] | None = None
    params: dict[str, str] = Field(default_factory=dict)
    data: dict[str, str] = Field(default_factory=dict)
    flag: Annotated[str, StringConstraints(max_length=100)] | None = None
    limit: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    format: Literal["json", "trace"] = "json"


class JournalWaitQuery(JournalQuery):
    format: Literal["json"] = "json"
    count: Annotated[int, Field(ge=0, le=1_000_000)] = 1
    timeout: Annotated[float, Field(ge=0.0, le=300.0)] = 10.0

    @field_validator("timeout")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("a finite number of seconds")
        return value


#: the plane's routes that take a body or a query, with their schema
PLANE_BODIES = {
    ("POST", "/reset"): EmptyBody,
    ("POST", "/faults"): FaultBody,
    ("POST", "/journal/notes"): NoteBody,
    ("POST", "/gates"): GateBody,
    ("POST", "/gates/{id}/release"): ReleaseBody,
    ("POST", "/schedule"): ScheduleBody,
}
PLANE_QUERIES = {("GET", "/journal"): JournalQuery, ("GET", "/journal/wait"): JournalWaitQuery,
                 ("GET", "/schedule"): ScheduleQuery}


class CloseConnectionBody(Body):
    code: int | None = None
    reason: Annotated[str, StringConstraints(max_length=123)] = ""

    @field_validator("code")
    @classmethod
    def _sendable(cls, code: int | None) -> int | None:
        if code is not None and code not in SENDABLE_CLOSE_CODES and not 3000 <= code <= 4999:
            raise ValueError("a WebSocket close code a server may send (1000-1003, 1007-1014, 3000-4999)")
        return code


PLANE_BODIES[("POST", "/connections/{conn}/close")] = CloseConnectionBody


def fake_route_schemas(fake_name: str) -> dict[tuple[str, str], type[BaseModel]]:
    """(method, path) -> body schema of a fake's own routes (its schemas.ROUTE_SCHEMAS)."""
    import importlib

    try:
        module = importlib.import_module(f"botfakes.fakes.{fake_name}.schemas")
    except ImportError:
        return {}
    return {(method, path): model for method, path, model in getattr(module, "ROUTE_SCHEMAS", [])}


async def check_request(request: web.Request, body_model: type[BaseModel] | None,
                        query_model: type[BaseModel] | None) -> None:
    """Refuse (SchemaError) a request whose body or query its route's schema does not accept.
    The handler then reads the same body (aiohttp caches it), now known to be well-formed."""
    if query_model is not None:
        parse_query(request.query, query_model, prefixed="params.")
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and request.can_read_body:
        raw = await request.read()
        data = load_json(raw) if raw.strip() else {}
        if body_model is FaultBody:
            parse_faults(data)
        elif body_model is not None:
            if not isinstance(data, dict):
                raise SchemaError("body: must be a JSON object")
            validate(body_model, data)
