"""The TL schemas the MTProto fake serves, one per layer, and their codecs.

- layer<N>.tl   the API schema of layer N as text (package data, written by generate.py from the
                clients installed here: GramJS 2.26 = 198, Telethon 1.45 / Kurigram 2.2.26 = 229)
- parser.py     TL schema text -> Schema (constructors by id and by name)
- codec.py      TL bytes <-> values for one layer; invokeWithLayer switches layers mid-request
- bridge.py     the fake's model objects (Telethon's layer-229 classes) <-> any layer's TL
- generate.py   rebuilds the layer files

`codec(layer)` is the codec a connection that declared `layer` is answered with; `LAYERS` lists
the layers the fake has, and any other raises `UnknownLayer`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

from .codec import TL, Codec, EncodeError, TLError, Truncated, UnknownConstructor, UnknownLayer
from .parser import Schema, parse

__all__ = ["LAYERS", "NEWEST", "TL", "Codec", "EncodeError", "TLError", "Truncated",
           "UnknownConstructor", "UnknownLayer", "codec", "schema"]


def _layers() -> tuple[int, ...]:
    names = (p.name for p in resources.files(__package__).iterdir())
    return tuple(sorted(int(m.group(1)) for m in map(re.compile(r"layer(\d+)\.tl$").match, names) if m))


LAYERS = _layers()
NEWEST = LAYERS[-1]


@lru_cache(maxsize=None)
def schema(layer: int) -> Schema:
    if layer not in LAYERS:
        raise UnknownLayer(layer, list(LAYERS))
    text = resources.files(__package__).joinpath(f"layer{layer}.tl").read_text()
    return parse(text, layer)


@lru_cache(maxsize=None)
def codec(layer: int) -> Codec:
    """The codec of `layer`, encoding the fake's model objects (and TLs) in that layer."""
    from .bridge import describe

    return Codec(schema(layer), describe=describe, layers=codec)
