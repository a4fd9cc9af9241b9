"""Preloads that point unmodified clients at the MTProto fake, with no change to the bot's code.

- gramjs.cjs (Node, `--require`): GramJS trusts the fake's test RSA key and dials the fake
      NODE_OPTIONS="--require $(botfakes gramjs-preload)" BOTFAKES_MTPROTO_PORT=8443 node bot.js
- python/ (PYTHONPATH): a sitecustomize that does the same for Pyrogram/Kurigram
      PYTHONPATH="$(botfakes pyrogram-preload)" BOTFAKES_MTPROTO_PORT=8443 python bot.py
Both read BOTFAKES_MTPROTO_HOST (default 127.0.0.1) and BOTFAKES_MTPROTO_PORT, and redirect only
connections to ports 80/443 on that host or on Telegram's DC addresses (where the clients dial
whatever their session says); every other connection of the bot is left alone.
"""

from __future__ import annotations

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
GRAMJS_PRELOAD = HERE / "gramjs.cjs"
PYTHON_PRELOAD_DIR = HERE / "python"


def gramjs_preload_path() -> str:
    return str(GRAMJS_PRELOAD)


def preload_environment(host: str, port: int) -> dict[str, str]:
    """The variables both preloads read."""
    return {"BOTFAKES_MTPROTO_HOST": host, "BOTFAKES_MTPROTO_PORT": str(port)}


def node_options(existing: str | None = None) -> str:
    """NODE_OPTIONS with the GramJS preload added (quoted: the path may hold spaces)."""
    option = f'--require "{GRAMJS_PRELOAD}"'
    return f"{existing} {option}".strip() if existing else option


def python_path(existing: str | None = None) -> str:
    """PYTHONPATH with the Pyrogram preload's sitecustomize first."""
    return os.pathsep.join(p for p in (str(PYTHON_PRELOAD_DIR), existing) if p)


def gramjs_environment(host: str, port: int, base: dict[str, str] | None = None) -> dict[str, str]:
    """The variables a Node bot using GramJS needs on top of `base` (e.g. os.environ)."""
    base = base or {}
    return {**preload_environment(host, port), "NODE_OPTIONS": node_options(base.get("NODE_OPTIONS"))}


def pyrogram_environment(host: str, port: int, base: dict[str, str] | None = None) -> dict[str, str]:
    """The variables a Python bot using Pyrogram/Kurigram needs on top of `base`."""
    base = base or {}
    return {**preload_environment(host, port), "PYTHONPATH": python_path(base.get("PYTHONPATH"))}
