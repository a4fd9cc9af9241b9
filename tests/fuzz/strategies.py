"""Hypothesis strategies for hostile input, derived from what the fakes already know.

- Bot API: the fake's method table and the parameters those methods read, in every encoding the
  real server takes (query string, urlencoded, JSON, multipart, gzip), plus HTTP framing abuse.
- Deriv: the calls and field types of the fake's request schemas (send_schemas.json), with
  wrong types, NaN/Infinity, deep nesting, lone surrogates and frames that are not JSON.
- MTProto: Telethon requests the fake answers, serialized, then mutated, gzip-packed (bombs too),
  containered, and sent with wrong msg_ids, seqnos and salts; plus raw transport bytes.
(The control API's strategies, from each route's pydantic schema, are in schema_strategies.py.)
"""

from __future__ import annotations

import gzip
import json
import struct
import zlib
from typing import Any

from hypothesis import strategies as st
from telethon.tl import functions as F
from telethon.tl import types as T

# ---- values every protocol gets ---------------------------------------------------------------

NASTY_TEXT = [
    "", " ", "\x00", "\ud800", "a\udfffb", "\ufeff", "\u202e", "𝕏" * 10, "é" * 3000, "%", "%zz", "+",
    "&", "=", "\r\n", '"', "\\", "{", "[", "NaN", "Infinity", "-Infinity", "1e309", "-0", "0x10",
    "99999999999999999999999999", "true", "null", "/start", "<b>x</b>", "*" * 5000,
]


def nasty_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(NASTY_TEXT),
        st.text(max_size=40),
        st.text(alphabet=st.characters(codec=None, categories=None), max_size=20),
        st.builds(lambda c, n: c * n, st.sampled_from(["a", "я", "😀", "\u0301"]), st.integers(0, 6000)),
    )


def nested(depth: int, leaf: Any = 1, kind: str = "list") -> Any:
    value = leaf
    for _ in range(depth):
        value = [value] if kind == "list" else {"a": value}
    return value


def deep_json() -> st.SearchStrategy[Any]:
    return st.builds(nested, st.sampled_from([50, 99, 100, 101, 150, 990, 1500, 5000]),
                     st.just(1), st.sampled_from(["list", "dict"]))


NUMBERS = [0, -1, 1, 2**31, 2**31 - 1, -(2**31), 2**53 + 1, 2**63, -(2**63) - 1, 2**64, 10**30,
           1e308, -1e308, 1e-320, 0.5, -0.0, float("nan"), float("inf"), float("-inf")]


def json_values(max_leaves: int = 8) -> st.SearchStrategy[Any]:
    scalars = st.one_of(st.none(), st.booleans(), st.sampled_from(NUMBERS), st.integers(),
                        st.floats(allow_nan=True, allow_infinity=True), nasty_text())
    return st.recursive(scalars, lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(nasty_text(), children, max_size=4)),
        max_leaves=max_leaves) | deep_json()


def dumps_loose(value: Any) -> str:
    """JSON text as a careless client writes it: NaN/Infinity tokens allowed, surrogates escaped."""
    try:
        return json.dumps(value, allow_nan=True)
    except (RecursionError, ValueError):
        return "[" * 5000 + "]" * 5000


# ---- Bot API ----------------------------------------------------------------------------------

def botapi_methods() -> list[str]:
    try:
        from botfakes.fakes.botapi.core import METHODS
    except ImportError:  # the reshaped package keeps the table in its methods module
        from botfakes.fakes.botapi.methods import METHODS  # type: ignore[no-redef]
    return list(METHODS)


# the parameters those methods read (Bot API documentation)
BOTAPI_PARAMS = [
    "chat_id", "text", "parse_mode", "entities", "reply_markup", "message_id", "offset", "limit",
    "timeout", "allowed_updates", "url", "secret_token", "max_connections", "drop_pending_updates",
    "ip_address", "callback_query_id", "show_alert", "cache_time", "action", "commands", "scope",
    "language_code", "reply_parameters", "link_preview_options", "disable_notification",
    "message_thread_id", "business_connection_id", "protect_content", "certificate", "method",
]
JSON_PARAMS = {"entities", "reply_markup", "allowed_updates", "commands", "scope",
               "reply_parameters", "link_preview_options"}

WEBHOOK_URLS = ["http://[x", "https://[::1", "[", "http://[::1]:99999/x", "https://127.0.0.1:0/",
                "https://:80", "ftp://x", "https://" + "a" * 3000, "http://127.0.0.1:8443/hook",
                "https://user:pw@127.0.0.1/", "https://127.0.0.1/%zz", "https://\ud800/"]


def botapi_value(name: str) -> st.SearchStrategy[str]:
    options = [nasty_text(), st.integers().map(str), st.sampled_from(NUMBERS).map(str)]
    if name in JSON_PARAMS or name == "chat_id":
        options.append(json_values().map(dumps_loose))
    if name == "url":
        options.append(st.sampled_from(WEBHOOK_URLS))
    if name == "text":
        options.append(st.integers(4000, 4200).map(lambda n: "x" * n))
    return st.one_of(*options)


@st.composite
def botapi_params(draw) -> dict[str, str]:
    names = draw(st.lists(st.sampled_from(BOTAPI_PARAMS) | nasty_text(), max_size=6, unique=True))
    return {name: draw(botapi_value(name)) for name in names}


def _urlencode(params: dict[str, str]) -> bytes:
    from urllib.parse import quote

    return "&".join(f"{quote(k.encode('utf-8', 'surrogatepass'))}={quote(v.encode('utf-8', 'surrogatepass'))}"
                    for k, v in params.items()).encode()


@st.composite
def botapi_requests(draw, token: str) -> tuple[str, str, list[tuple[str, str]], bytes]:
    """(HTTP method, target, headers, body) of one hostile Bot API request."""
    methods = botapi_methods()
    method = draw(st.sampled_from(methods) | st.sampled_from(methods).map(str.upper)
                  | st.sampled_from(["", "nope", "getMe/extra", "test/getMe", "%00", "getme"]))
    path_token = draw(st.sampled_from([token, token, token, "123:abc", "abc", "", "0:x" * 300]))
    target = draw(st.sampled_from([f"/bot{path_token}/{method}", f"/bot{path_token}", f"/{method}",
                                   f"/bot{path_token}/{method}?", "/", "*"]))
    params = draw(botapi_params())
    http_method = draw(st.sampled_from(["GET", "POST", "POST", "POST", "PUT", "DELETE", "OPTIONS",
                                        "PATCH", "HEAD", "TRACE"]))
    encoding = draw(st.sampled_from(["query", "urlencoded", "json", "json-raw", "multipart", "none",
                                     "gzip-json", "gzip-junk", "deflate", "br", "deep-body"]))
    headers: list[tuple[str, str]] = []
    body = b""
    if encoding == "query":
        target += ("&" if "?" in target else "?") + _urlencode(params).decode()
    elif encoding == "urlencoded":
        headers.append(("Content-Type", "application/x-www-form-urlencoded"))
        body = _urlencode(params)
    elif encoding in ("json", "gzip-json", "deflate", "br"):
        headers.append(("Content-Type", "application/json"))
        body = json.dumps({k: _maybe_json(v) for k, v in params.items()}, allow_nan=True).encode()
        if encoding == "gzip-json":
            headers.append(("Content-Encoding", "gzip"))
            body = gzip.compress(body)
        elif encoding == "deflate":
            headers.append(("Content-Encoding", "deflate"))
            body = zlib.compress(body)
        elif encoding == "br":
            headers.append(("Content-Encoding", draw(st.sampled_from(["br", "x-unknown", "identity"]))))
    elif encoding == "json-raw":
        headers.append(("Content-Type", "application/json"))
        body = draw(st.sampled_from(['{"chat_id": 1, "text": "\\ud800"}', '{"text": "a", ', '"just text"',
                                     "[1,2]", '{"a":NaN}', "\xff\xfe", '{"chat_id":1,"text":' + "[" * 2000])
                    ).encode("utf-8", "surrogateescape")
    elif encoding == "multipart":
        boundary = draw(st.sampled_from(["xyz", "", "a" * 80, "b\"q"]))
        headers.append(("Content-Type", f"multipart/form-data; boundary={boundary}"))
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                 for k, v in params.items()]
        body = ("".join(parts) + f"--{boundary}--\r\n").encode("utf-8", "surrogatepass")
    elif encoding == "gzip-junk":
        headers += [("Content-Type", "application/json"), ("Content-Encoding", "gzip")]
        body = draw(st.binary(min_size=1, max_size=64))
    elif encoding == "deep-body":
        headers.append(("Content-Type", "application/json"))
        depth = draw(st.sampled_from([100, 101, 1000, 20000]))
        body = ('{"chat_id": 1, "reply_markup": ' + "[" * depth + "]" * depth + ', "text": "hi"}').encode()
    extra = draw(st.sampled_from(["none", "none", "long-header", "many-headers", "huge-header"]))
    if extra == "long-header":
        headers.append(("X-Long", "a" * draw(st.integers(8000, 20000))))
    elif extra == "many-headers":
        headers += [(f"X-H{i}", "v") for i in range(draw(st.integers(120, 600)))]
    elif extra == "huge-header":
        headers += [(f"X-Huge-{i}", "a" * (70 << 10)) for i in range(draw(st.integers(1, 5)))]
    return http_method, target, headers, body


def _maybe_json(value: str) -> Any:
    try:
        return json.loads(value)
    except (ValueError, RecursionError):
        return value


# ---- Deriv ------------------------------------------------------------------------------------

def deriv_calls() -> dict[str, Any]:
    from botfakes.fakes.deriv.schema import CALLS

    return CALLS


def _field_value(field: Any) -> st.SearchStrategy[Any]:
    """A value a field's schema (a JSON Schema dict from send_schemas.json) accepts, roughly: enough
    to get past validation into the call, where the fake's own logic runs."""
    if not isinstance(field, dict):
        return st.just(1)
    if field.get("enum"):
        return st.sampled_from(list(field["enum"]))
    if field.get("oneOf"):
        return st.one_of(*[_field_value(branch) for branch in field["oneOf"]])
    kind = field.get("type", "string")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "integer":
        low = int(field.get("minimum", -(2**31)))
        high = int(field.get("maximum", 2**31))
        return st.integers(low, max(low, high))
    if kind == "number":
        low = float(field.get("minimum", -1e6))
        return st.floats(low, max(low, float(field.get("maximum", 1e6))), allow_nan=False)
    if kind == "string":
        pattern = field.get("pattern")
        samples = st.sampled_from(["R_50", "R_100", "1HZ100V", "CALL", "USD", "10", "payout", "t", "5"])
        if pattern:
            try:
                import re

                re.compile(pattern)
                return st.from_regex(pattern, fullmatch=True) | samples
            except Exception:
                return samples
        return samples
    if kind == "object":
        properties = field.get("properties") or {}
        return st.fixed_dictionaries({}, optional={k: _field_value(v) for k, v in list(properties.items())[:6]})
    if kind == "array":
        return st.lists(_field_value(field.get("items") or {}), max_size=3)
    return st.just(1)


def deriv_hostile_value() -> st.SearchStrategy[Any]:
    return json_values() | st.sampled_from([[], {}, [[]], "", 1.5, True, False, None, -1, 10**20])


@st.composite
def deriv_requests(draw) -> dict[str, Any]:
    calls = deriv_calls()
    name = draw(st.sampled_from(sorted(calls)))
    spec = calls[name]
    request: dict[str, Any] = {}
    for field_name, field in spec.fields.items():
        if field_name in ("req_id", "passthrough"):
            continue
        if field_name == name or field_name in spec.required or draw(st.booleans()):
            request[field_name] = draw(_field_value(field) if draw(st.integers(0, 3)) else deriv_hostile_value())
    if draw(st.integers(0, 4)) == 0:
        request[draw(nasty_text())] = draw(deriv_hostile_value())
    if draw(st.booleans()):
        request["passthrough"] = draw(st.one_of(st.dictionaries(nasty_text(), json_values(), max_size=3),
                                                deep_json().map(lambda v: {"deep": v}), json_values()))
    return request


@st.composite
def deriv_frames(draw) -> tuple[str | bytes, Any]:
    """(frame, the req_id it carries or None)."""
    shape = draw(st.sampled_from(["call"] * 6 + ["raw", "binary", "constants", "not-object"]))
    if shape == "raw":
        return draw(st.sampled_from(["", "{", "}", "null", "[", '{"ping":1', '"\\ud800"', '{"ping": 1}x',
                                     "[" * 5000, '{"a":' * 3000])), None
    if shape == "binary":
        return draw(st.binary(max_size=64) | st.sampled_from(
            [b'{"ping": 1, "req_id": 3}', b"\xff\xfe", b'{"ping": "\xed\xa0\x80"}'])), None
    if shape == "not-object":
        return dumps_loose(draw(json_values())), None
    request = draw(deriv_requests())
    req_id = draw(st.one_of(st.integers(1, 2**31), st.integers(1, 2**31), deriv_hostile_value()))
    request["req_id"] = req_id
    text = dumps_loose(request)
    if shape == "constants":
        text = text.replace('"req_id": ', '"req_id": NaN, "x": ', 1) if '"req_id": ' in text else text
        req_id = None
    return text, req_id if isinstance(req_id, int) and not isinstance(req_id, bool) else None


# ---- MTProto ----------------------------------------------------------------------------------

def _int_edge() -> st.SearchStrategy[int]:
    return st.sampled_from([0, 1, -1, 2**31 - 1, -(2**31), 7, 100]) | st.integers(-(2**31), 2**31 - 1)


def _peer() -> st.SearchStrategy[Any]:
    return st.sampled_from([T.InputPeerSelf(), T.InputPeerEmpty(), T.InputPeerUser(1, 0),
                            T.InputPeerUser(2**31 - 1, -1), T.InputPeerChannel(2**31 - 1, 5),
                            T.InputPeerChat(5)])


def _tl_text() -> st.SearchStrategy[str]:
    return st.sampled_from(["", "hi", "x" * 5000, "é" * 100, "\x00", "/start", "a" * 300])


def mtproto_requests() -> st.SearchStrategy[Any]:
    """Requests the fake's RPC table answers (and a few it does not), with edge values."""
    return st.one_of(
        st.builds(lambda: F.help.GetConfigRequest()),
        st.builds(lambda u: F.users.GetUsersRequest(u), st.lists(st.sampled_from(
            [T.InputUserSelf(), T.InputUserEmpty(), T.InputUser(1, 0), T.InputUser(2**31 - 1, -5)]), max_size=5)),
        st.builds(lambda u: F.users.GetFullUserRequest(u), st.sampled_from([T.InputUserSelf(), T.InputUser(3, 3)])),
        st.builds(lambda p, m, r: F.messages.SendMessageRequest(p, m, random_id=r), _peer(), _tl_text(),
                  st.integers(-(2**63), 2**63 - 1)),
        st.builds(lambda p, o, a, lim, mx, mn: F.messages.GetHistoryRequest(p, o, None, a, lim, mx, mn, 0),
                  _peer(), _int_edge(), _int_edge(), _int_edge(), _int_edge(), _int_edge()),
        st.builds(lambda o, lim: F.messages.GetDialogsRequest(None, o, T.InputPeerEmpty(), lim, 0),
                  _int_edge(), _int_edge()),
        st.builds(lambda name: F.contacts.ResolveUsernameRequest(name), _tl_text()),
        st.builds(lambda: F.updates.GetStateRequest()),
        st.builds(lambda pts, date, qts: F.updates.GetDifferenceRequest(pts, date, qts), _int_edge(),
                  st.sampled_from([None, 0, 2**31 - 1]).map(lambda d: d if d is not None else 0), _int_edge()),
        st.builds(lambda c: F.channels.GetChannelsRequest(c), st.lists(st.sampled_from(
            [T.InputChannel(1, 1), T.InputChannelEmpty(), T.InputChannel(2**31 - 1, 0)]), max_size=3)),
        st.builds(lambda c, ids: F.channels.GetMessagesRequest(c, ids), st.sampled_from(
            [T.InputChannel(1, 1), T.InputChannelEmpty()]), st.lists(st.builds(T.InputMessageID, _int_edge()), max_size=4)),
        st.builds(lambda t: F.auth.ImportBotAuthorizationRequest(0, 1, "h", t), _tl_text()),
        st.builds(lambda p: F.auth.SendCodeRequest(p, 1, "h", T.CodeSettings()), _tl_text()),
        st.builds(lambda: F.account.GetPasswordRequest()),  # not served: must get a real error
        st.builds(lambda i: F.PingRequest(i), st.integers(-(2**63), 2**63 - 1)),
    )


def wrap_layer(request: Any) -> Any:
    return F.InvokeWithLayerRequest(229, F.InitConnectionRequest(
        1, "fuzz", "1", "1", "en", "", "en", request))


def gzip_packed(body: bytes) -> bytes:
    from telethon.tl import TLObject

    return struct.pack("<I", 0x3072CFA1) + TLObject.serialize_bytes(gzip.compress(body, 1))


def container(bodies: list[tuple[int, int, bytes]]) -> bytes:
    out = struct.pack("<Ii", 0x73F1F8DC, len(bodies))
    for msg_id, seqno, body in bodies:
        out += struct.pack("<qii", msg_id, seqno, len(body)) + body
    return out


# A 16 MiB zero-filled sendMessage text gzip-packed into ~16 KiB: the bomb.
_BOMB: dict[int, bytes] = {}


def bomb(size: int = 16 << 20) -> bytes:
    if size not in _BOMB:
        from telethon.tl import TLObject

        payload = struct.pack("<I", F.messages.SendMessageRequest.CONSTRUCTOR_ID) + TLObject.serialize_bytes(b"\x00" * size)
        _BOMB[size] = gzip_packed(payload)
    return _BOMB[size]


@st.composite
def mtproto_bodies(draw) -> bytes:
    """The TL body of one encrypted message."""
    request = draw(mtproto_requests())
    if draw(st.integers(0, 5)) == 0:
        request = wrap_layer(request)
    body = bytes(request)
    shape = draw(st.sampled_from(["plain"] * 4 + ["truncate", "flip", "junk", "random-id", "gzip",
                                                  "gzip-junk", "bomb", "nested-gzip", "empty"]))
    if shape == "truncate":
        body = body[:draw(st.integers(0, max(0, len(body) - 1)))]
    elif shape == "flip":
        at = draw(st.integers(0, max(0, len(body) - 1)))
        body = body[:at] + bytes([body[at] ^ draw(st.integers(1, 255))]) + body[at + 1:] if body else body
    elif shape == "junk":
        body += draw(st.binary(min_size=1, max_size=32))
    elif shape == "random-id":
        body = struct.pack("<I", draw(st.integers(0, 2**32 - 1))) + draw(st.binary(max_size=64))
    elif shape == "gzip":
        body = gzip_packed(body)
    elif shape == "gzip-junk":
        from telethon.tl import TLObject

        body = struct.pack("<I", 0x3072CFA1) + TLObject.serialize_bytes(draw(st.binary(max_size=64)))
    elif shape == "bomb":
        body = bomb(draw(st.sampled_from([2 << 20, 16 << 20])))
    elif shape == "nested-gzip":
        body = gzip_packed(gzip_packed(body))
    elif shape == "empty":
        body = b""
    return body


@st.composite
def mtproto_wire(draw) -> bytes:
    """Raw bytes of a fresh connection: a transport tag (or none) and whatever follows."""
    tag = draw(st.sampled_from([b"", b"\xef", b"\xee\xee\xee\xee", b"\xdd\xdd\xdd\xdd", b"GET ", b"POST"]))
    shape = draw(st.sampled_from(["junk", "length", "plain", "huge"]))
    if shape == "junk":
        return tag + draw(st.binary(max_size=200))
    if shape == "length":
        return tag + struct.pack("<I", draw(st.integers(0, 2**32 - 1))) + draw(st.binary(max_size=64))
    if shape == "huge":
        return tag + struct.pack("<i", 1 << 20) + b"\x00" * draw(st.integers(0, 4096))
    # an unencrypted message (key id 0) with a hostile body, in the intermediate transport
    body = draw(st.one_of(st.binary(max_size=128), st.builds(
        lambda n: bytes(F.ReqPqMultiRequest(n)), st.integers(-(2**127), 2**127 - 1)),
        st.builds(lambda b: struct.pack("<I", 0x3072CFA1) + b, st.binary(max_size=64))))
    length = draw(st.sampled_from([len(body), len(body) + 100, -1, 0]))
    payload = struct.pack("<qqi", 0, draw(st.integers(-(2**63), 2**63 - 1)), length) + body
    return b"\xee\xee\xee\xee" + struct.pack("<i", len(payload)) + payload
