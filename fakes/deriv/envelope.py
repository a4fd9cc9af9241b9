"""The Deriv message envelope: decoding a frame, the sanity check, echo_req, and the shapes of
replies and errors.

Facts followed (Deriv's Perl WebSocket server and its published schemas):
- a frame that is not a JSON object gets `BadRequest` / "The application sent an invalid
  request." with msg_type "error" and an empty echo_req;
- every key (top level and one level down) must match ^[A-Za-z0-9_-]{1,50}$ and every plain
  value must be at most 300 printable characters, else `SanityCheckFailed` / "Parameters sanity
  check failed." with msg_type "sanity_check" and an empty echo_req (the request is not echoed
  because it failed the check);
- a request with no known call key gets `UnrecognisedRequest` / "Unrecognised request" with
  msg_type "error";
- every reply carries echo_req (fields the schema marks sensitive shown as "<not shown>") and
  msg_type, plus req_id and passthrough when the request had them; stream messages after the
  first repeat echo_req and req_id but not passthrough;
- the server writes compact JSON with sorted keys.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from .schema import CALLS, CallSpec

NOT_SHOWN = "<not shown>"
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,50}$")
MAX_VALUE_CHARS = 300
_PRINTABLE_ASCII = re.compile(r"^[ -~\s]*$")
#: fields the server never sanity-checks (passwords may hold any character)
PASSWORD_FIELDS = frozenset(
    {"client_password", "old_password", "new_password", "unlock_password", "lock_password"}
)


class DerivError(Exception):
    """A call's failure in Deriv's vocabulary; the core turns it into an error reply."""

    def __init__(self, code: str, message: str, details: dict | None = None,
                 msg_type: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details or None
        self.msg_type = msg_type

    def as_dict(self) -> dict:
        return error_object(self.code, self.message, self.details)


def error_object(code: str, message: str, details: dict | None = None) -> dict:
    """The `error` member of every error reply: code, message and (when there are any) details."""
    error = {"code": code, "message": message}
    if details:
        error["details"] = details
    return error


@dataclass(slots=True)
class Incoming:
    """A decoded frame: what the transport needs to know before the core handles it."""

    method: str  # the call name, or the msg_type of the error it will get ("error", "sanity_check")
    request: Any  # the decoded JSON (a dict for a real call), or None when it was not JSON
    spec: CallSpec | None
    early_error: dict | None = None  # a complete reply when the frame fails before dispatch

    @property
    def req_id(self) -> Any:
        return self.request.get("req_id") if isinstance(self.request, dict) else None


def encode(message: dict) -> str:
    # strict JSON out: a NaN/Infinity would be a fake's bug, and no client could parse it
    return json.dumps(message, separators=(",", ":"), sort_keys=True, ensure_ascii=False,
                      allow_nan=False)


#: Cpanel::JSON::XS, the real server's decoder, refuses nesting past 512 (its max_depth)
MAX_DEPTH = 512


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # the real decoder knows no NaN/Infinity


_strict = json.JSONDecoder(parse_constant=_not_json)


def _decodable(value: Any) -> bool:
    """What the real decoder would also have accepted: nesting within MAX_DEPTH and no lone
    UTF-16 surrogate in a string ("\ud800": "missing low surrogate character")."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(item, (dict, list)):
            if depth > MAX_DEPTH:
                return False
            if isinstance(item, dict):
                stack.extend((key, depth) for key in item)
                stack.extend((child, depth + 1) for child in item.values())
            else:
                stack.extend((child, depth + 1) for child in item)
    return True


def _value_ok(value: Any) -> bool:
    """The server's value rule: printable characters (any script's letters, common symbols,
    whitespace), at most 300 of them; falsy values are not checked."""
    if not value or isinstance(value, (int, float, dict, list)):
        # numbers are short and printable; booleans are not plain values on the server
        return True
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_VALUE_CHARS:
        return False
    if _PRINTABLE_ASCII.match(text):
        return True
    for ch in text:
        if ch.isspace() or " " <= ch <= "~":
            continue
        category = unicodedata.category(ch)
        # control characters, and combining marks (which are not letters of any script)
        if category[0] == "C" or category[0] == "M":
            return False
    return True


def _pair_ok(key: str, value: Any) -> bool:
    if key in PASSWORD_FIELDS:
        return True
    return KEY_PATTERN.match(key) is not None and _value_ok(value)


def sanity_ok(request: dict) -> bool:
    """The server's check, as it walks the request: plain values with their keys at the top
    level, the keys and values of an object one level down (not that object's own key), and
    each element of a top-level array with the array's key. Deeper levels are left to the
    schema."""
    for key, value in request.items():
        if isinstance(value, dict):
            for inner_key, inner_value in value.items():
                if not _pair_ok(inner_key, inner_value):
                    return False
        elif isinstance(value, list):
            for item in value:
                if not _pair_ok(key, item):
                    return False
        elif not _pair_ok(key, value):
            return False
    return True


def echo_of(request: dict, spec: CallSpec | None) -> dict:
    if spec is None or not spec.sensitive or not any(k in request for k in spec.sensitive):
        return request
    return {k: (NOT_SHOWN if k in spec.sensitive else v) for k, v in request.items()}


def reply(request: dict, spec: CallSpec | None, msg_type: str, body: dict,
          *, stream: bool = False) -> dict:
    """A reply to `request`: its body plus the envelope fields."""
    message = dict(body)
    message["echo_req"] = echo_of(request, spec)
    message["msg_type"] = msg_type
    if "req_id" in request:
        message["req_id"] = request["req_id"]
    if not stream and "passthrough" in request:
        message["passthrough"] = request["passthrough"]
    return message


def error_reply(request: Any, spec: CallSpec | None, msg_type: str, code: str, message: str,
                details: dict | None = None) -> dict:
    error = error_object(code, message, details)
    if not isinstance(request, dict):
        return {"echo_req": {}, "error": error, "msg_type": msg_type}
    return reply(request, spec, msg_type, {"error": error})


def bad_request() -> dict:
    return {
        "echo_req": {},
        "error": error_object("BadRequest", "The application sent an invalid request."),
        "msg_type": "error",
    }


def decode(frame: str | bytes) -> Incoming:
    """Decode one frame (text or binary: the real server parses both as JSON) and find its call."""
    try:
        text = frame.decode("utf-8") if isinstance(frame, (bytes, bytearray)) else frame
        request = _strict.decode(text)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return Incoming("error", None, None, bad_request())
    if not _decodable(request):
        return Incoming("error", None, None, bad_request())
    if not isinstance(request, dict):
        return Incoming("error", request, None, bad_request())
    if not sanity_ok(request):
        message = {
            "echo_req": {},
            "error": error_object("SanityCheckFailed", "Parameters sanity check failed."),
            "msg_type": "sanity_check",
        }
        if "req_id" in request:
            message["req_id"] = request["req_id"]
        return Incoming("sanity_check", request, None, message)
    for name, spec in CALLS.items():  # the dispatcher's priority order
        if name in request:
            return Incoming(name, request, spec)
    return Incoming(
        "error", request, None,
        error_reply(request, None, "error", "UnrecognisedRequest", "Unrecognised request"),
    )
