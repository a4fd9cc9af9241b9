"""What the journal keeps of a payload: small ones whole, large ones as prefix + size + digest.

A journal event holds what a client sent and what a fake answered. Most are a few hundred bytes,
but a client may send a 1 MiB text or a 50 MiB upload, and the journal lives as long as the run:
kept whole, thirty such requests would pin 35 MiB. So a string (or bytes) over MAX_KEPT characters
is replaced by {"prefix": first PREFIX characters, "size": its length, "sha256": digest of its
UTF-8}, enough to see what it was and to compare two of them, and nesting deeper than MAX_DEPTH is
cut. `measure` gives the size the journal counts against its byte cap (about the JSON length).
"""

from __future__ import annotations

import hashlib
from typing import Any

MAX_KEPT = 8192  # a Bot API text (4096) or a Deriv value (300) is always kept whole
PREFIX = 1024
MAX_DEPTH = 64
_SCALAR_SIZE = 8


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def summary(value: str | bytes) -> dict[str, Any]:
    if isinstance(value, str):
        raw = value.encode("utf-8", "surrogatepass")
        prefix: str = value[:PREFIX].encode("utf-8", "replace").decode("utf-8")
    else:
        raw = bytes(value)
        prefix = raw[:PREFIX // 2].hex()
    return {"prefix": prefix, "size": len(value), "sha256": _digest(raw), "truncated": True}


def _needs_compaction(value: Any) -> tuple[int, bool]:
    """(approximate JSON size, whether anything must be shortened), without recursion."""
    size = 0
    compact = False
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            size += len(item) + 2
            if len(item) > MAX_KEPT or _has_surrogate(item):
                compact = True
        elif isinstance(item, (bytes, bytearray, memoryview)):
            size += 2 * len(item) + 2
            compact = True  # bytes are not JSON: always summarized
        elif isinstance(item, dict):
            size += 2
            if depth > MAX_DEPTH:
                compact = True
                continue
            for key, child in item.items():
                if not isinstance(key, str):
                    compact = True
                    key = str(key)
                size += len(key) + 4
                stack.append((child, depth + 1))
        elif isinstance(item, (list, tuple)):
            size += 2
            if depth > MAX_DEPTH:
                compact = True
                continue
            for child in item:
                size += 1
                stack.append((child, depth + 1))
        elif isinstance(item, float) and (item != item or item in (float("inf"), float("-inf"))):
            size += _SCALAR_SIZE
            compact = True  # NaN/Infinity are not JSON
        else:
            size += _SCALAR_SIZE
    return size, compact


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _compact(value: Any, depth: int) -> Any:
    if isinstance(value, str):
        if len(value) > MAX_KEPT:
            return summary(value)
        if _has_surrogate(value):
            return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return summary(bytes(value))
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return repr(value)
    if isinstance(value, (dict, list, tuple)):
        if depth > MAX_DEPTH:
            return {"truncated": True, "nested_deeper_than": MAX_DEPTH}
        if isinstance(value, dict):
            return {str(k): _compact(v, depth + 1) for k, v in value.items()}
        return [_compact(v, depth + 1) for v in value]
    return value


def keep(value: dict[str, Any] | None) -> tuple[dict[str, Any], int]:
    """What the journal stores of a data/outcome mapping, and its size."""
    if not value:
        return {}, 2
    size, compact = _needs_compaction(value)
    if not compact:
        return dict(value), size
    kept = _compact(dict(value), 1)
    return kept, _needs_compaction(kept)[0]
