"""The fake's model objects and the wire, for any layer.

The fake builds its answers, and reads requests, as the installed Telethon's TL classes: that is
layer 229's model (Telethon 1.45), and its handlers (rpc.py) are written against it. On the wire
every connection speaks its own layer: `describe` lets a layer's codec encode a Telethon object
by constructor *name* (so layer 198 gets its own `user#...` id and fields), and `to_model` turns
a request decoded in any layer into the Telethon object of the same name for the handlers.
"""

from __future__ import annotations

import inspect
from functools import lru_cache
from typing import Any, Callable

from telethon.tl.alltlobjects import LAYER as MODEL_LAYER
from telethon.tl.alltlobjects import tlobjects
from telethon.tl.tlobject import TLObject

from .codec import TL, EncodeError, TLError

# Telethon's names for TL params that are Python keywords
TELETHON_NAMES = {"self": "is_self", "from": "from_"}


class NotInModel(TLError):
    """A constructor of the client's layer that the fake's model (layer 229) does not have."""

    def __init__(self, name: str) -> None:
        super().__init__(f"{name} has no counterpart in the fake's layer {MODEL_LAYER}")
        self.name = name


def _model():
    from . import schema

    return schema(MODEL_LAYER)


@lru_cache(maxsize=None)
def _name_of(cls: type) -> str:
    ctor = _model().by_id.get(cls.CONSTRUCTOR_ID)
    if ctor is None:
        raise EncodeError(f"{cls.__name__} is not in layer {MODEL_LAYER}")
    return ctor.name


def describe(obj: Any) -> tuple[str, Callable[[str], Any]]:
    """(constructor name, TL field getter) of a Telethon object or a TL."""
    if isinstance(obj, TL):
        return obj.name, obj.fields.get
    if isinstance(obj, TLObject):
        return _name_of(type(obj)), lambda name: getattr(obj, TELETHON_NAMES.get(name, name), None)
    raise EncodeError(f"cannot encode {type(obj).__name__} as a TL object")


@lru_cache(maxsize=None)
def _model_class(name: str) -> tuple[type, frozenset[str]]:
    ctor = _model().named(name)
    cls = tlobjects.get(ctor.id) if ctor is not None else None
    if cls is None:
        raise NotInModel(name)
    generated = next(c for c in cls.__mro__ if "__init__" in c.__dict__)
    accepted = frozenset(p for p in inspect.signature(generated.__init__).parameters if p != "self")
    return cls, accepted


def to_model(value: Any) -> Any:
    """A decoded value with every TL turned into the installed Telethon's object of that name."""
    if isinstance(value, TL):
        cls, accepted = _model_class(value.name)
        kwargs = {}
        for key, item in value.fields.items():
            attr = TELETHON_NAMES.get(key, key)
            if attr in accepted:
                kwargs[attr] = to_model(item)
        for attr in accepted - kwargs.keys() - {"args", "kwargs"}:
            kwargs[attr] = None
        if "args" in accepted or "kwargs" in accepted:
            kwargs = {k: v for k, v in kwargs.items() if k not in ("args", "kwargs")}
        return cls(**kwargs)
    if isinstance(value, list):
        return [to_model(v) for v in value]
    return value
