"""TL binary serialization (https://core.telegram.org/mtproto/serialize) driven by one layer's schema.

`Codec(schema).decode(data)` reads a boxed object into `TL(name, fields)` values (nested TLs,
lists, ints, strings, bytes, bools); `encode(value, type)` writes a value of a TL type. Objects
to encode are either `TL`s or anything a `describe` hook turns into (constructor name, field
getter) — the fake hands it Telethon objects that way (bridge.py) — and are written with the
constructor *of the same name in this codec's layer*, so one object is encoded for any layer:
fields the layer lacks are left out, fields only the layer has get their type's empty value
(0, "", [], false, or the type's argument-less constructor such as peerColor / chatPhotoEmpty).
A name the layer does not have is an `EncodeError`, never another layer's constructor id.

Decoding follows `invokeWithLayer`: the query inside is read in the layer it declares (through
the `layers` resolver), which is how a connection's first request sets its layer.
"""

from __future__ import annotations

import datetime
import struct
from dataclasses import dataclass, field
from typing import Any, Callable

from ..framing import inflate
from .parser import Constructor, Schema

VECTOR_ID = 0x1CB5C415
BOOL_TRUE_ID = 0x997275B5
BOOL_FALSE_ID = 0xBC799737
GZIP_PACKED_ID = 0x3072CFA1
INVOKE_WITH_LAYER = "invokeWithLayer"
MAX_VECTOR = 1 << 20
MAX_DEPTH = 64  # objects nested in one value; real requests nest a handful deep


class TLError(ValueError):
    """A value that cannot be read or written in this layer."""


class Truncated(TLError):
    """The bytes end inside a TL object."""


class UnknownConstructor(TLError):
    """A constructor id the layer does not have (a client of another layer, or garbage)."""

    def __init__(self, ctor_id: int, layer: int) -> None:
        super().__init__(f"constructor {ctor_id:#010x} is not in layer {layer}")
        self.ctor_id = ctor_id
        self.layer = layer


class UnknownLayer(TLError):
    def __init__(self, layer: int, known: list[int]) -> None:
        super().__init__(f"layer {layer} is not served by the fake (it has {', '.join(map(str, known))})")
        self.layer = layer
        self.known = known


class EncodeError(TLError):
    """An answer the layer cannot express (a constructor it lacks, a value of the wrong type)."""


@dataclass
class TL:
    """A decoded (or hand-built) TL object: constructor name and fields by TL param name."""

    name: str
    fields: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.fields[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)


def _describe_tl(obj: Any) -> tuple[str, Callable[[str], Any]]:
    if isinstance(obj, TL):
        return obj.name, obj.fields.get
    raise EncodeError(f"cannot encode {type(obj).__name__} as a TL object")


# -- primitives -----------------------------------------------------------------------------------

def tl_bytes(data: bytes) -> bytes:
    size = len(data)
    if size < 254:
        head = bytes([size])
        pad = -(size + 1) % 4
    else:
        head = b"\xfe" + size.to_bytes(3, "little")
        pad = -size % 4
    return head + data + b"\x00" * pad


def _stamp(value: Any) -> int:
    if isinstance(value, datetime.datetime):
        return int(value.timestamp())
    return int(value)


class _Reader:
    __slots__ = ("data", "pos", "depth")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos
        self.depth = 0

    def take(self, size: int) -> bytes:
        end = self.pos + size
        if end > len(self.data):
            raise Truncated(f"truncated TL object: needed {size} bytes at offset {self.pos}, "
                            f"{len(self.data) - self.pos} left")
        chunk = self.data[self.pos:end]
        self.pos = end
        return chunk

    def u32(self) -> int:
        return struct.unpack("<I", self.take(4))[0]

    def i32(self) -> int:
        return struct.unpack("<i", self.take(4))[0]

    def bytes_(self) -> bytes:
        first = self.take(1)[0]
        if first == 254:
            size = int.from_bytes(self.take(3), "little")
            data = self.take(size)
            self.take(-size % 4)
        else:
            data = self.take(first)
            self.take(-(first + 1) % 4)
        return data


_SCALARS = {
    "int": ("<i", 4), "long": ("<q", 8), "double": ("<d", 8),
}


class Codec:
    def __init__(self, schema: Schema, *, describe: Callable[[Any], tuple[str, Callable[[str], Any]]] | None = None,
                 layers: Callable[[int], "Codec"] | None = None) -> None:
        self.schema = schema
        self.layer = schema.layer
        self.describe = describe or _describe_tl
        self.layers = layers
        self._defaults: dict[str, Any] = {}

    # -- encoding -------------------------------------------------------------------------------

    def encode(self, value: Any, type_text: str) -> bytes:
        out: list[bytes] = []
        self._write(out, value, type_text, type_text)
        return b"".join(out)

    def encode_object(self, obj: Any) -> bytes:
        out: list[bytes] = []
        self._write_object(out, obj, None, boxed=True)
        return b"".join(out)

    def _write(self, out: list[bytes], value: Any, type_text: str, where: str) -> None:
        scalar = _SCALARS.get(type_text)
        try:
            if scalar is not None:
                out.append(struct.pack(scalar[0], _stamp(value) if type_text == "int" else value))
                return
            if type_text == "string":
                out.append(tl_bytes(value.encode() if isinstance(value, str) else bytes(value)))
                return
            if type_text == "bytes":
                out.append(tl_bytes(value.encode() if isinstance(value, str) else bytes(value)))
                return
            if type_text == "Bool":
                out.append(struct.pack("<I", BOOL_TRUE_ID if value else BOOL_FALSE_ID))
                return
            if type_text in ("int128", "int256"):
                size = 16 if type_text == "int128" else 32
                out.append(value.to_bytes(size, "little", signed=True) if isinstance(value, int) else bytes(value))
                return
        except (struct.error, TypeError, AttributeError, OverflowError) as exc:
            raise EncodeError(f"{where}: {value!r} is not a {type_text} ({exc})") from None
        if type_text.startswith(("Vector<", "vector<")):
            if not isinstance(value, (list, tuple)):
                raise EncodeError(f"{where}: expected a list for {type_text}, got {type(value).__name__}")
            inner = type_text[7:-1]
            if type_text[0] == "V":
                out.append(struct.pack("<I", VECTOR_ID))
            out.append(struct.pack("<i", len(value)))
            for item in value:
                self._write(out, item, inner, where)
            return
        if type_text.startswith("%"):
            self._write_object(out, value, type_text[1:], boxed=False)
            return
        self._write_object(out, value, type_text, boxed=True)

    def _write_object(self, out: list[bytes], obj: Any, expected: str | None, boxed: bool) -> None:
        if isinstance(obj, (bytes, bytearray)) and expected in (None, "X", "Object"):
            out.append(bytes(obj))  # already serialized (an inner query of a wrapper)
            return
        name, get = self.describe(obj)
        ctor = self.schema.types.get(name) or self.schema.functions.get(name)
        if ctor is None:
            raise EncodeError(f"{name} is not in layer {self.layer}")
        if expected not in (None, "X", "Object", "!X") and ctor.result != expected and not ctor.function:
            raise EncodeError(f"{name} is a {ctor.result}, layer {self.layer} expects a {expected} here")
        if boxed:
            out.append(struct.pack("<I", ctor.id))
        self._write_params(out, ctor, get)

    def _write_params(self, out: list[bytes], ctor: Constructor, get: Callable[[str], Any]) -> None:
        values = {p.name: get(p.name) for p in ctor.params if not p.is_flags}
        for param in ctor.params:
            if param.is_flags:
                bits = 0
                for other in ctor.params:
                    if other.flag_field == param.name:
                        value = values.get(other.name)
                        if value is not None and value is not False or (
                                value is False and other.inner == "Bool"):
                            bits |= 1 << other.flag_bit
                out.append(struct.pack("<I", bits))
                continue
            value = values[param.name]
            if param.flag_field is not None:
                if value is None or (value is False and param.inner != "Bool") or param.inner == "true":
                    continue
                self._write(out, value, param.inner, f"{ctor.name}.{param.name}")
                continue
            if value is None:
                value = self.default(param.inner, f"{ctor.name}.{param.name}")
            if param.inner == "!X":
                self._write_object(out, value, "X", boxed=True)
            else:
                self._write(out, value, param.inner, f"{ctor.name}.{param.name}")

    def default(self, type_text: str, where: str) -> Any:
        """The empty value of a required field the answer does not set (a field of this layer
        the fake's model has no value for)."""
        if type_text in ("int", "long", "double", "int128", "int256"):
            return 0
        if type_text in ("string", "bytes"):
            return b""
        if type_text == "Bool":
            return False
        if type_text.startswith(("Vector<", "vector<")):
            return []
        if type_text in self._defaults:
            return self._defaults[type_text]
        candidates = [c for c in self.schema.of_type.get(type_text, ())
                      if all(p.is_flags or p.flag_field for p in c.params)]
        candidates.sort(key=lambda c: (not c.name.endswith("Empty"), len(c.params)))
        if not candidates:
            raise EncodeError(f"{where}: no value, and layer {self.layer}'s {type_text} has no empty constructor")
        self._defaults[type_text] = TL(candidates[0].name)
        return self._defaults[type_text]

    # -- decoding -------------------------------------------------------------------------------

    def decode(self, data: bytes, type_text: str = "Object") -> Any:
        """One value of `type_text` (default: any boxed object) from the start of `data`."""
        return self._read(_Reader(data), type_text)

    def decode_prefix(self, data: bytes, type_text: str = "Object") -> tuple[Any, int]:
        """One value and how many bytes it took (the rest may be padding)."""
        reader = _Reader(data)
        return self._read(reader, type_text), reader.pos

    def _read(self, r: _Reader, type_text: str) -> Any:
        scalar = _SCALARS.get(type_text)
        if scalar is not None:
            return struct.unpack(scalar[0], r.take(scalar[1]))[0]
        if type_text == "string":
            return r.bytes_().decode("utf-8", errors="replace")
        if type_text == "bytes":
            return r.bytes_()
        if type_text == "Bool":
            value = r.u32()
            if value == BOOL_TRUE_ID:
                return True
            if value == BOOL_FALSE_ID:
                return False
            raise UnknownConstructor(value, self.layer)
        if type_text in ("int128", "int256"):
            return int.from_bytes(r.take(16 if type_text == "int128" else 32), "little", signed=True)
        if type_text.startswith(("Vector<", "vector<")):
            if type_text[0] == "V":
                ctor_id = r.u32()
                if ctor_id != VECTOR_ID:
                    raise UnknownConstructor(ctor_id, self.layer)
            count = r.i32()
            if count < 0 or count > MAX_VECTOR or count > len(r.data) - r.pos:
                raise Truncated(f"truncated TL object: a vector of {count} items at offset {r.pos}")
            inner = type_text[7:-1]
            return [self._read(r, inner) for _ in range(count)]
        if type_text.startswith("%"):
            ctors = self.schema.of_type.get(type_text[1:]) or []
            if len(ctors) != 1:
                raise TLError(f"bare type {type_text} is ambiguous in layer {self.layer}")
            return self._read_params(r, ctors[0])
        return self._read_object(r)

    def _read_object(self, r: _Reader) -> Any:
        r.depth += 1
        if r.depth > MAX_DEPTH:  # a hostile nesting must be an answer, not a RecursionError
            raise TLError(f"objects nested more than {MAX_DEPTH} deep at offset {r.pos}")
        try:
            return self._read_boxed(r)
        finally:
            r.depth -= 1

    def _read_boxed(self, r: _Reader) -> Any:
        ctor_id = r.u32()
        if ctor_id == GZIP_PACKED_ID:
            try:
                inner = inflate(r.bytes_())  # bounded: ../framing.py
            except ValueError as exc:
                raise TLError(str(exc)) from None
            return self._read(_Reader(inner), "Object")
        ctor = self.schema.by_id.get(ctor_id)
        if ctor is None:
            raise UnknownConstructor(ctor_id, self.layer)
        return self._read_params(r, ctor)

    def _read_params(self, r: _Reader, ctor: Constructor) -> TL:
        fields: dict[str, Any] = {}
        flags: dict[str, int] = {}
        codec = self
        for param in ctor.params:
            if param.is_flags:
                flags[param.name] = r.u32()
                continue
            if param.flag_field is not None:
                if not flags.get(param.flag_field, 0) & (1 << param.flag_bit):
                    fields[param.name] = None
                    continue
                if param.inner == "true":
                    fields[param.name] = True
                    continue
            if param.inner == "!X":
                fields[param.name] = codec._read_object(r)
            else:
                fields[param.name] = codec._read(r, param.inner)
            if ctor.name == INVOKE_WITH_LAYER and param.name == "layer":
                codec = self.for_layer(fields["layer"])
        return TL(ctor.name, fields)

    def for_layer(self, layer: int) -> "Codec":
        if layer == self.layer:
            return self
        if self.layers is None:
            raise UnknownLayer(layer, [self.layer])
        return self.layers(layer)
