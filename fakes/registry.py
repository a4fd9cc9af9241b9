"""The fakes botfakes knows, imported lazily so that using one does not import the others."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .control.fake import Fake

# name -> (the Fake subclass, the typed control client class for its /_control/<name>/ routes)
FAKES: dict[str, tuple[str, str]] = {
    "botapi": ("botfakes.fakes.botapi.fake:BotApiFake", "botfakes.fakes.botapi.control:BotApiControl"),
    "deriv": ("botfakes.fakes.deriv.fake:DerivFake", "botfakes.fakes.deriv.control:DerivControl"),
    "mtproto": ("botfakes.fakes.mtproto.fake:MTProtoFake", "botfakes.fakes.mtproto.control:MTProtoControl"),
}


def fake_class(name: str) -> type["Fake"]:
    return _load(FAKES[name][0])


def control_class(name: str) -> type:
    return _load(FAKES[name][1])


def names() -> list[str]:
    return list(FAKES)


def _load(path: str):
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)
