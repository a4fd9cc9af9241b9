"""API calls read, and answers written, in a connection's layer (https://core.telegram.org/api/invoking#layers).

The fake's model is layer 229 (the installed Telethon's TL classes, methods.py); tl/ reads and
writes any layer it has. `read_call` turns a call's bytes into the model object, or into the
error Telegram documents for input that does not decode in the layer
(https://core.telegram.org/api/errors), always answered to the call's msg_id:
  a layer the fake lacks             400 INPUT_LAYER_INVALID  (detail names the layers it has)
  a method the layer lacks           400 INPUT_METHOD_INVALID
  a constructor the layer lacks      400 INPUT_CONSTRUCTOR_INVALID
  a truncated TL object              400 INPUT_FETCH_FAIL
  a method the model lacks           400 METHOD_NOT_SUPPORTED_BY_FAKE (as any call not served)
`encode_result` writes a handler's answer as the TL type the call's function returns, in the layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..control import journal
from . import methods, tl
from .session import tl_name
from .tl.bridge import NotInModel, to_model

INPUT_LAYER_INVALID = "INPUT_LAYER_INVALID"
INPUT_METHOD_INVALID = "INPUT_METHOD_INVALID"
INPUT_CONSTRUCTOR_INVALID = "INPUT_CONSTRUCTOR_INVALID"
INPUT_FETCH_FAIL = "INPUT_FETCH_FAIL"


@dataclass
class ReadCall:
    """A call's model object, or what went wrong: (code, message, detail, journal flag)."""

    obj: Any = None
    method: str = ""  # the TL name of the outer constructor (or its id) when it failed
    failure: tuple[int, str, str, str | None] | None = None
    params: dict[str, Any] = field(default_factory=dict)


def read_call(body: bytes, constructor_id: int, layer: int, count: Callable[[str], None]) -> ReadCall:
    codec = tl.codec(layer)
    outer = codec.schema.by_id.get(constructor_id)
    method = outer.name if outer is not None else f"{constructor_id:#010x}"
    try:
        return ReadCall(to_model(codec.decode_prefix(body)[0]), method)
    except tl.UnknownLayer as exc:
        count(f"unknown_layer.{exc.layer}")
        return ReadCall(None, method, (400, INPUT_LAYER_INVALID, str(exc), journal.UNSUPPORTED),
                        {"layer": exc.layer})
    except tl.UnknownConstructor as exc:
        message = INPUT_METHOD_INVALID if outer is None else INPUT_CONSTRUCTOR_INVALID
        return ReadCall(None, method, (400, message, str(exc), None))
    except NotInModel as exc:
        # the client's layer has it, the fake's model (layer 229) does not
        is_method = outer is not None and outer.function and exc.name == outer.name
        message = methods.UNSUPPORTED if is_method else INPUT_CONSTRUCTOR_INVALID
        return ReadCall(None, method, (400, message, str(exc), journal.UNSUPPORTED))
    except tl.TLError as exc:
        return ReadCall(None, method, (400, INPUT_FETCH_FAIL, str(exc), None))
    except Exception as exc:  # a value Telethon's model refuses: still the client's input
        return ReadCall(None, method, (400, INPUT_FETCH_FAIL, f"{type(exc).__name__}: {exc}", None))


def encode_result(query: Any, result: Any, layer: int) -> bytes:
    """`result` as the TL type `query`'s function returns, in `layer` (EncodeError if it cannot)."""
    if isinstance(result, bytes):
        return result
    codec = tl.codec(layer)
    name = tl_name(query)
    function = codec.schema.functions.get(name)
    if function is None:
        raise tl.EncodeError(f"{name} is not in layer {layer}")
    return codec.encode(result, function.result)
