"""A small parser for TL schema text (https://core.telegram.org/mtproto/TL).

Reads the lines the API schema is made of,

    user#b1b8cc83 flags:# self:flags.10?true ... id:long access_hash:flags.0?long ... = User;
    ---functions---
    invokeWithLayer#da9b0d0d {X:Type} layer:int query:!X = X;

into `Constructor`s (name, id, params, result type, function or type). Each `Param` keeps its
TL type text split into what serialization needs: the flags field and bit it depends on, whether
it is a vector, bare or a generic query (`!X`). Built-in lines (vector, boolFalse/True, true,
int/long/... declarations) are kept out of the constructor tables: the codec handles those types.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Types the codec reads and writes itself; lines declaring them are not constructors.
BUILTIN_NAMES = {"vector", "int", "long", "double", "string", "bytes", "int128", "int256"}
BUILTIN_CONSTRUCTORS = {"boolFalse", "boolTrue", "true"}
_LINE = re.compile(r"^(?P<name>[\w.]+)(?:#(?P<id>[0-9a-fA-F]{1,8}))?\s*(?P<params>.*?)\s*=\s*(?P<type>[^;]+);$")
_FLAG = re.compile(r"^(?P<flags>\w+)\.(?P<bit>\d+)\?(?P<type>.+)$")


class SchemaError(ValueError):
    """Schema text that does not parse as TL."""


@dataclass(frozen=True)
class Param:
    name: str  # the TL name ("self", "from_id")
    type: str  # the full TL type text ("flags.0?Vector<long>", "#", "!X")
    flag_field: str | None = None  # "flags" / "flags2" for conditional params
    flag_bit: int | None = None
    inner: str = ""  # the type without its flag condition ("Vector<long>", "true")

    @property
    def is_flags(self) -> bool:
        return self.type == "#"


@dataclass
class Constructor:
    name: str  # "user", "messages.sendMessage"
    id: int  # unsigned 32-bit
    params: list[Param]
    result: str  # "User", "Vector<User>", "X" (generic)
    function: bool
    generic: str | None = None  # "X" for {X:Type}

    @property
    def line(self) -> str:
        """The constructor as a schema line (what `parse` reads back to the same object)."""
        parts = [f"{self.name}#{self.id:08x}"]
        if self.generic:
            parts.append(f"{{{self.generic}:Type}}")
        parts += [f"{p.name}:{p.type}" for p in self.params]
        return " ".join(parts) + f" = {self.result};"


@dataclass
class Schema:
    """One layer: constructors by id and by name, types by name; functions kept apart."""

    layer: int
    by_id: dict[int, Constructor] = field(default_factory=dict)
    types: dict[str, Constructor] = field(default_factory=dict)  # name -> type constructor
    functions: dict[str, Constructor] = field(default_factory=dict)  # name -> function
    of_type: dict[str, list[Constructor]] = field(default_factory=dict)  # "User" -> [userEmpty, user]

    def add(self, ctor: Constructor) -> None:
        self.by_id[ctor.id] = ctor
        if ctor.function:
            self.functions[ctor.name] = ctor
        else:
            self.types[ctor.name] = ctor
            self.of_type.setdefault(ctor.result, []).append(ctor)

    def named(self, name: str) -> Constructor | None:
        return self.types.get(name) or self.functions.get(name)


def _split_params(text: str) -> tuple[str | None, list[str]]:
    generic = None
    out = []
    for token in text.split():
        if token.startswith("{"):
            match = re.fullmatch(r"\{(\w+):Type\}", token)
            if not match:
                raise SchemaError(f"unsupported generic declaration {token!r}")
            generic = match.group(1)
        elif token in ("#", "[", "]", "t") or token.startswith("["):
            raise SchemaError("repeated params are not supported")
        else:
            out.append(token)
    return generic, out


def _param(token: str) -> Param:
    name, sep, type_text = token.partition(":")
    if not sep or not name or not type_text:
        raise SchemaError(f"bad param {token!r}")
    match = _FLAG.match(type_text)
    if match:
        return Param(name, type_text, match.group("flags"), int(match.group("bit")), match.group("type"))
    return Param(name, type_text, inner=type_text)


def parse(text: str, layer: int) -> Schema:
    schema = Schema(layer)
    function = False
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("//", 1)[0].strip()
        if not line:
            continue
        if line.startswith("---"):
            section = line.strip("-")
            if section not in ("functions", "types"):
                raise SchemaError(f"line {number}: unknown section {line!r}")
            function = section == "functions"
            continue
        match = _LINE.match(line)
        if not match:
            raise SchemaError(f"line {number}: not a TL constructor: {line!r}")
        name = match.group("name")
        if name in BUILTIN_NAMES or (not function and name in BUILTIN_CONSTRUCTORS):
            continue
        if not match.group("id"):
            raise SchemaError(f"line {number}: {name} has no #id")
        try:
            generic, tokens = _split_params(match.group("params"))
            params = [_param(t) for t in tokens]
        except SchemaError as exc:
            raise SchemaError(f"line {number}: {exc}") from None
        ctor_id = int(match.group("id"), 16)
        schema.add(Constructor(name, ctor_id, params, match.group("type").strip(), function, generic))
    return schema
