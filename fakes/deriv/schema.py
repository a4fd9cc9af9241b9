"""Request schemas of the Deriv calls the fake serves, validated with `jsonschema` and worded as
the real server words its findings.

The schemas (JSON Schema draft 4, one per call, in send_schemas.json) are botfakes' own
transcription of the request fields the fake serves: their types, enums, patterns, ranges, defaults
and required ones; `sensitive` and `auth_required` are keywords of ours. A request is checked by
`fastjsonschema`'s compiled validator (the per-request cost), and only a request it refuses is
walked with `jsonschema` for the findings and their wording. The real server validates every
request against its call's schema and reports failures as `InputValidationFailed`: errors at a
property path go into `details` keyed by that path, errors about the whole request (a property that
is not allowed) go into the message only; the message is "Input validation failed: " followed by
the detail keys and then the general messages, joined by ", ". The texts follow the Perl
JSON::Validator the server uses ("Expected integer - got string.", "Not in enum list: 1.", "String
does not match ^\\w{2,30}$.", "Missing property.", "Properties not allowed: foo."), and so does the
order: per object, properties not allowed, then missing ones (in `required` order), then each
property in the order the request gave them; one message per property, the first check it fails.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any, Iterator

import fastjsonschema
from jsonschema import Draft4Validator, ValidationError, validators

#: the dispatcher's priority order: when a request carries several call keys, the first wins
CALL_ORDER = (
    "authorize", "logout", "active_symbols", "ticks", "ticks_history", "proposal", "forget",
    "forget_all", "ping", "time", "website_status", "balance", "buy", "proposal_open_contract",
)
# which failed check a property reports when it fails several (JSON::Validator stops at the first)
_LEAF_ORDER = ("type", "oneOf", "enum", "pattern", "minimum", "maximum", "maxItems")

_PATTERNS: dict[str, re.Pattern] = {}


def _ascii_pattern(validator: Any, pattern: str, instance: Any, schema: dict) -> Iterator[ValidationError]:
    # JSON Schema patterns are ECMA-262: \w is ASCII only there, as in Perl without /u.
    if not isinstance(instance, str):
        return
    compiled = _PATTERNS.get(pattern)
    if compiled is None:
        compiled = _PATTERNS[pattern] = re.compile(pattern, re.ASCII)
    if compiled.search(instance) is None:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


SendValidator = validators.extend(Draft4Validator, {"pattern": _ascii_pattern})


def _ascii_patterns(node: Any) -> Any:
    """A copy of a schema whose patterns say (?a): ECMA-262's ASCII \\w for the compiled check."""
    if isinstance(node, dict):
        return {k: ("(?a)" + v if k == "pattern" and isinstance(v, str) else _ascii_patterns(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_ascii_patterns(v) for v in node]
    return node


def _fast_check(schema: dict[str, Any]) -> Any:
    """A compiled validator that raises on an invalid request and fills in no defaults."""
    return fastjsonschema.compile(_ascii_patterns(schema), use_default=False)


@dataclass(frozen=True)
class CallSpec:
    """The request schema of one call."""

    name: str
    schema: dict[str, Any]
    fields: dict[str, dict[str, Any]]  # property -> its schema
    required: tuple[str, ...]
    auth_required: bool
    sensitive: frozenset[str]  # echoed back as "<not shown>"
    validator: Any  # jsonschema's, for the findings
    fast_check: Any  # fastjsonschema's, for whether there are any

    @classmethod
    def from_schema(cls, name: str, schema: dict[str, Any]) -> "CallSpec":
        fields = dict(schema.get("properties") or {})
        return cls(
            name=name, schema=schema, fields=fields, required=tuple(schema.get("required") or ()),
            auth_required=bool(schema.get("auth_required")),
            sensitive=frozenset(k for k, f in fields.items() if f.get("sensitive")),
            validator=SendValidator(schema), fast_check=_fast_check(schema),
        )


def _load() -> dict[str, CallSpec]:
    text = resources.files(__package__).joinpath("send_schemas.json").read_text(encoding="utf-8")
    schemas = json.loads(text)
    return {name: CallSpec.from_schema(name, schemas[name]) for name in CALL_ORDER}


#: The calls the fake serves, in the real dispatcher's priority order.
CALLS: dict[str, CallSpec] = _load()


# -- wording ------------------------------------------------------------------------------------
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


def _type_ok(value: Any, wanted: str) -> bool:
    return SendValidator.TYPE_CHECKER.is_type(value, wanted)


@dataclass(frozen=True)
class _Finding:
    path: tuple  # property names and array indexes from the request's root
    keyword: str
    message: str
    rank: tuple  # where JSON::Validator would report it (see _rank)


def _resolve(branch: dict, root: dict) -> dict:
    """A oneOf branch, following a local "$ref" ("#/definitions/stream_types")."""
    ref = branch.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return branch
    node: Any = root
    for part in ref[2:].split("/"):
        node = node.get(part, {}) if isinstance(node, dict) else {}
    return node


def _findings(error: ValidationError, root: dict) -> Iterator[_Finding]:
    """One jsonschema error as JSON::Validator's (path, message) findings."""
    path = tuple(error.absolute_path)
    keyword, value, inst = error.validator, error.validator_value, error.instance
    if keyword == "type":
        wanted = "/".join(value) if isinstance(value, list) else value
        yield _Finding(path, keyword, f"Expected {wanted} - got {json_type(inst)}.", ())
    elif keyword == "enum":
        yield _Finding(path, keyword, f"Not in enum list: {', '.join(str(v) for v in value)}.", ())
    elif keyword == "pattern":
        yield _Finding(path, keyword, f"String does not match {value}.", ())
    elif keyword == "minimum":
        yield _Finding(path, keyword, f"{inst} < minimum({value:g})", ())
    elif keyword == "maximum":
        yield _Finding(path, keyword, f"{inst} > maximum({value:g})", ())
    elif keyword == "maxItems":
        yield _Finding(path, keyword, f"Too many items: {len(inst)}/{value}.", ())
    elif keyword == "required":
        for index, name in enumerate(value):
            if name not in inst:
                yield _Finding(path + (name,), keyword, "Missing property.", (1, index))
    elif keyword == "additionalProperties":
        allowed = error.schema.get("properties") or {}
        extra = sorted(k for k in inst if k not in allowed)
        yield _Finding(path, keyword, f"Properties not allowed: {', '.join(extra)}.", (0,))
    elif keyword == "oneOf":
        types = [str(_resolve(branch, root).get("type")) for branch in value]
        if json_type(inst) not in types:
            yield _Finding(path, keyword, f"Expected {'/'.join(types)} - got {json_type(inst)}.", ())
            return
        # the value has a right type but breaks that branch: report the branch's errors
        branch = next(i for i, t in enumerate(types) if _type_ok(inst, t))
        for sub in error.context or ():
            if sub.relative_schema_path and sub.relative_schema_path[0] == branch:
                yield from _findings(sub, root)


def _rank(request: Any, finding: _Finding) -> tuple:
    """The report order: at each object level properties not allowed (0), missing ones (1),
    then the properties in the request's order (2); array items by index."""
    key: list = []
    node = request
    steps = finding.path[:-1] if finding.keyword == "required" else finding.path
    for step in steps:
        if isinstance(node, dict):
            key.append((2, list(node).index(step) if step in node else 0))
            node = node.get(step)
        elif isinstance(node, list):
            key.append((2, step))
            node = node[step] if isinstance(step, int) and step < len(node) else None
    key.append(finding.rank or (3,))
    return tuple(key)


def validate(spec: CallSpec, request: dict) -> tuple[dict[str, str], list[str]] | None:
    """Check a request against its call's schema.

    Returns None when valid, else (details, general): details maps a property path (nested
    levels joined by "/") to its message; general holds messages about the request as a whole.
    """
    try:
        spec.fast_check(request)
        return None
    except fastjsonschema.JsonSchemaException:
        pass
    errors = list(spec.validator.iter_errors(request))
    if not errors:
        return None
    findings = [f for e in errors for f in _findings(e, spec.schema)]
    # A property that fails a check of its own reports nothing below it (JSON::Validator stops).
    leaves = {f.path for f in findings if f.keyword in _LEAF_ORDER}
    findings = [f for f in findings
                if not any(f.path[:n] in leaves for n in range(len(f.path)))]
    findings.sort(key=lambda f: (_rank(request, f),
                                 _LEAF_ORDER.index(f.keyword) if f.keyword in _LEAF_ORDER else 0))
    details: dict[str, str] = {}
    general: list[str] = []
    for finding in findings:
        key = "/".join(str(p) for p in finding.path)
        if key:
            details.setdefault(key, finding.message)
        else:
            general.append(finding.message)
    return details, general


def validation_message(details: dict[str, str], general: list[str]) -> str:
    return "Input validation failed: " + ", ".join([*details, *general])


def apply_defaults(spec: CallSpec, request: dict) -> dict:
    """A copy of the request with the schema's defaults filled in (as the server does after
    validation; the echo_req keeps the request as sent)."""
    filled = dict(request)
    for name, f in spec.fields.items():
        if name not in filled and "default" in f:
            filled[name] = f["default"]
    return filled
