"""Request parameters the way the real server sees them: one flat dict of strings.

tdlib/telegram-bot-api never sees typed values. The query string, an urlencoded body, the fields of a
multipart body and the top-level fields of a JSON body all become string arguments (for JSON, string
values are unescaped and every other value keeps its JSON text). Methods then read them leniently:
integers are parsed from their leading digits (`"12abc"` -> 12, `"abc"` -> 0), booleans are
`true`/`yes`/`1`. This module reproduces that, so a bot sending a wrong type gets exactly the reply the
real server would give (usually `chat not found` or `message text is empty`, not a type error).

Framing errors follow td/net/HttpReader: a malformed JSON body is not an error by itself: the fields
parsed before the fault are kept and the method runs with them.
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping
from urllib.parse import unquote_to_bytes

from .errors import BotApiError

Params = dict[str, str]

MAX_PARAMS_BYTES = 1 << 20  # td/net/HttpReader MAX_TOTAL_PARAMETERS_LENGTH
# td's JSON readers (do_json_skip in HttpReader, json_decode in Client) stop at depth 100
MAX_JSON_DEPTH = 100


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # td's JSON parser knows no NaN/Infinity


_decoder = json.JSONDecoder(parse_constant=_no_constant)
_WS = " \t\r\n"
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(r"[\[\]{}]")


def text_depth(text: str) -> int:
    """How deep the arrays and objects of a JSON text nest (strings skipped), without parsing."""
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return 0  # cannot be too deep: skip the scan
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub("", text)):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _value_depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False  # a lone surrogate ("\ud800"): td's json_string_decode refuses it
    return True


def json_loads(text: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """JSON text as td reads a JSON-valued parameter: ValueError past max_depth, for NaN/Infinity
    and for a lone surrogate, as for any other syntax error."""
    if text_depth(text) > max_depth:
        raise ValueError(f"nested deeper than {max_depth}")
    try:
        value = _decoder.decode(text)
    except RecursionError:
        raise ValueError(f"nested deeper than {max_depth}") from None
    if not _is_utf8(_json_value_to_arg(value)):
        raise ValueError("invalid surrogate pair")
    return value


class BodyTooLarge(BotApiError):
    pass


def _decode_component(raw: str) -> str:
    # Same as td's urldecode: '+' is a space, a bad %xx escape is kept as is.
    return unquote_to_bytes(raw.replace("+", " ")).decode("utf-8", "replace")


def parse_urlencoded(text: str, into: Params | None = None) -> Params:
    """Parse `a=1&b=2`; the first occurrence of a name wins (Query::arg returns the first match)."""
    params: Params = {} if into is None else into
    if not text:
        return params
    for pair in text.split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        key = _decode_component(key) if ("%" in key or "+" in key) else key
        if key not in params:
            params[key] = _decode_component(value) if ("%" in value or "+" in value) else value
    return params


def _json_value_to_arg(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def parse_json_body(text: str, into: Params | None = None) -> Params:
    """Parse a JSON body into string arguments, keeping what was parsed before any syntax error.

    As td/net/HttpReader::parse_json_parameters: each value may nest 100 deep, NaN/Infinity and
    lone surrogates are syntax errors, and a fault ends the parse (the fields before it count)."""
    params: Params = {} if into is None else into
    if not text or not text.strip(_WS):
        return params
    if text_depth(text) > MAX_JSON_DEPTH + 1:  # the body object itself is one level
        return _parse_json_prefix(text, params)
    try:
        value = _decoder.decode(text)
    except (ValueError, RecursionError):
        return _parse_json_prefix(text, params)
    if isinstance(value, dict):
        for key, item in value.items():
            arg = _json_value_to_arg(item)
            if not (_is_utf8(key) and _is_utf8(arg)):
                return params  # the parse stops at the bad string
            if key not in params:
                params[key] = arg
    elif isinstance(value, str):
        if _is_utf8(value):
            params.setdefault("content", value)
    return params


def _parse_json_prefix(text: str, params: Params) -> Params:
    """Field-by-field parse of a broken JSON object, stopping silently at the first fault."""
    i = len(text) - len(text.lstrip(_WS))
    if i >= len(text) or text[i] != "{":
        return params
    i += 1
    while True:
        while i < len(text) and text[i] in _WS:
            i += 1
        if i >= len(text) or text[i] != '"':
            return params
        try:
            key, i = _decoder.raw_decode(text, i)
        except (ValueError, RecursionError):
            return params
        if not isinstance(key, str) or not _is_utf8(key):
            return params
        while i < len(text) and text[i] in _WS:
            i += 1
        if i >= len(text) or text[i] != ":":
            return params
        i += 1
        while i < len(text) and text[i] in _WS:
            i += 1
        try:
            value, i = _decoder.raw_decode(text, i)
        except (ValueError, RecursionError):
            return params
        if _value_depth(value) > MAX_JSON_DEPTH:
            return params
        arg = _json_value_to_arg(value)
        if not _is_utf8(arg):
            return params
        if key not in params:
            params[key] = arg
        while i < len(text) and text[i] in _WS:
            i += 1
        if i < len(text) and text[i] == ",":
            i += 1
            continue
        return params


_BOUNDARY = re.compile(r'boundary=("?)([^";]+)\1', re.IGNORECASE)
_DISPOSITION_PARAM = re.compile(r';\s*([A-Za-z*]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))')


def parse_multipart(body: bytes, content_type: str, into: Params | None = None) -> tuple[Params, dict[str, bytes]]:
    """Parse multipart/form-data into (string fields, files). Framing faults raise the reader's 400."""
    params: Params = {} if into is None else into
    files: dict[str, bytes] = {}
    if "boundary" not in content_type.lower():
        raise BotApiError(400, "Bad Request: boundary not found")
    match = _BOUNDARY.search(content_type)
    if not match or not match.group(2).strip():
        raise BotApiError(400, "Bad Request: boundary value not found")
    boundary = match.group(2).strip()
    if len(boundary) > 70:
        raise BotApiError(400, "Bad Request: boundary too big or empty")
    delimiter = b"--" + boundary.encode("latin-1")
    # The first delimiter may start the body without a preceding CRLF.
    chunks = (b"\r\n" + body).split(b"\r\n" + delimiter)
    for part in chunks[1:]:
        if part.startswith(b"--"):
            break
        if part.startswith(b"\r\n"):
            part = part[2:]
        head, sep, value = part.partition(b"\r\n\r\n")
        if not sep:
            raise BotApiError(400, "Bad Request: headers in multipart/form-data are empty")
        name = None
        filename = None
        for line in head.decode("utf-8", "replace").split("\r\n"):
            header, _, header_value = line.partition(":")
            if header.strip().lower() != "content-disposition":
                continue
            header_value = header_value.strip()
            if not header_value.lower().startswith("form-data"):
                raise BotApiError(400, "Bad Request: expected form-data content disposition")
            for key, quoted, bare in _DISPOSITION_PARAM.findall(header_value):
                val = quoted.replace('\\"', '"') if quoted else bare.strip()
                if key.lower() == "name":
                    name = val
                elif key.lower() == "filename":
                    filename = val
        if not name:
            raise BotApiError(400, "Bad Request: field name in multipart/form-data not found")
        if filename is not None:
            files.setdefault(name, value)
        elif name not in params:
            params[name] = value.decode("utf-8", "replace")
    return params, files


def parse_body(body: bytes, content_type: str, into: Params | None = None,
               max_params_bytes: int = MAX_PARAMS_BYTES) -> tuple[Params, dict[str, bytes]]:
    """Decode a request body by its Content-Type; other content types carry no parameters."""
    params: Params = {} if into is None else into
    lowered = content_type.lower()
    if "multipart/form-data" in lowered:
        return parse_multipart(body, content_type, params)
    if "application/x-www-form-urlencoded" in lowered or "application/json" in lowered:
        if len(body) > max_params_bytes:
            raise BodyTooLarge(413, "Request Entity Too Large")
        text = body.decode("utf-8", "replace")
        if "application/x-www-form-urlencoded" in lowered:
            parse_urlencoded(text, params)
        else:
            parse_json_body(text, params)
    return params, {}


# ---- lenient readers, as Client.cpp reads arguments -------------------------------------------------

_INT_PREFIX = re.compile(r"\s*([+-]?)(\d*)")


def to_integer(text: str | None, bits: int = 64) -> int:
    """td::to_integer: optional sign, then leading digits; anything else ends the number (or gives 0)."""
    if not text:
        return 0
    match = _INT_PREFIX.match(text)
    sign, digits = match.group(1), match.group(2)
    if not digits:
        return 0
    value = int(digits) % (1 << bits)
    if sign == "-":
        value = (-value) % (1 << bits)
    if value >= 1 << (bits - 1):
        value -= 1 << bits
    return value


def to_integer_safe(text: str | None) -> int | None:
    """td::to_integer_safe: the whole string must be an integer, else None."""
    if not text:
        return None
    try:
        return int(text, 10) if text.strip() == text else None
    except ValueError:
        return None


def get_integer(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    """Client::get_integer_arg: default when empty, then clamp into [low, high]."""
    raw = params.get(name)
    value = default if not raw else to_integer(raw, 32)
    return min(max(value, low), high)


def to_bool(text: str | None) -> bool:
    if not text:
        return False
    return text.strip().lower() in ("true", "yes", "1")


def json_arg(params: Mapping[str, str], name: str) -> tuple[bool, Any]:
    """Decode a JSON-valued argument: (present, value); raises ValueError on bad JSON."""
    raw = params.get(name)
    if not raw:
        return False, None
    return True, json_loads(raw)
