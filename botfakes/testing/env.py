"""The environment contract between botfakes and a bot: the default variables and {placeholders}.

Whatever starts a bot against the fakes (the scenario harness, a test fixture, a Locust load,
`ci/start-fakes.sh` through `python -m botfakes env`) builds the bot's environment here, so the
variable names and their values mean the same thing everywhere:

| variable | value |
|---|---|
| TELEGRAM_BOT_TOKEN, TELEGRAM_API_BASE_URL | the token; the Bot API root `http://127.0.0.1:P` (no /bot) |
| USE_WEBHOOK, WEBHOOK_URL, WEBHOOK_PATH, WEBHOOK_SECRET | webhook mode; the origin the bot registers (`http://127.0.0.1:$PORT`, no path), its path, the secret |
| PORT, HOST | where the bot's own HTTP server listens |
| DATA_DIR | a writable folder |
| TELEGRAM_API_ID, TELEGRAM_API_HASH, TELETHON_SESSION | MTProto credentials, a signed-in session (string or file path) |
| TRENDING_CHANNELS | the fake's public channels |
| DERIV_WS_URL, DERIV_APP_ID, DERIV_API_TOKEN | `ws://127.0.0.1:P/websockets/v3` (append ?app_id=), app id, account token |

A bot that reads its own names maps them with placeholders (`BOT_TOKEN = "{telegram.token}"`),
resolved by `resolve()`; an unknown name raises `UnknownPlaceholder` naming it and the known ones.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from typing import Any, Mapping

API_ID = "611335"  # any id/hash pair works with the fake; this one is Telethon's own test id
API_HASH = "d524b414d21f4d37f08684c1df41ac9c"
DERIV_APP_ID = "1089"
DERIV_PATH = "/websockets/v3"
WEBHOOK_PATH = "/webhook"
HOST = "127.0.0.1"

# Every placeholder a [bot.env] value or a trigger may use; {symbol} only in Deriv commands.
PLACEHOLDERS: tuple[str, ...] = (
    "telegram.token", "telegram.api_root", "telegram.base_url", "telegram.webhook_url",
    "telegram.webhook_path", "telegram.webhook_secret", "port", "host", "data_dir",
    "mtproto.session", "mtproto.api_id", "mtproto.api_hash", "mtproto.host", "mtproto.port",
    "mtproto.dc_id", "deriv.endpoint", "deriv.url", "deriv.app_id", "deriv.token",
)
COMMAND_PLACEHOLDERS: tuple[str, ...] = ("symbol",)
# Variables of the contract: inherited ones with these prefixes are dropped, so a developer's
# real token in the shell never reaches a bot pointed at the fakes.
CONTRACT_PREFIXES = ("TELEGRAM_", "DERIV_", "WEBHOOK_", "TELETHON_")

# {name} with {{ and }} as literal braces.
_FIELD = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")


class UnknownPlaceholder(ValueError):
    """A {name} no one mints; the message names it, where it was, and the known names."""


@dataclass
class Contract:
    """What was minted for one bot: its credentials and where the fakes and the bot listen."""

    bot_token: str = ""
    api_root: str = ""  # http://127.0.0.1:P, without /bot
    port: int = 0  # the bot's own HTTP server
    host: str = HOST
    webhook: bool = False
    webhook_path: str = WEBHOOK_PATH
    webhook_secret: str = ""
    data_dir: str = ""
    mtproto_session: str = ""  # as the bot gets it: a session string or a file path
    mtproto_host: str = ""
    mtproto_port: int = 0
    mtproto_dc_id: int = 0
    api_id: str = API_ID
    api_hash: str = API_HASH
    channels: tuple[str, ...] = ()
    deriv_url: str = ""  # ws://127.0.0.1:P
    deriv_path: str = DERIV_PATH
    deriv_app_id: str = DERIV_APP_ID
    deriv_token: str = ""
    extra: dict[str, str] = field(default_factory=dict)  # e.g. BOTFAKES_CONTROL_URL

    @property
    def webhook_url(self) -> str:
        """The origin the bot registers: Telegram's setWebhook gets this plus WEBHOOK_PATH."""
        return f"http://{self.host}:{self.port}" if self.port else ""

    @property
    def deriv_ws_url(self) -> str:
        return self.deriv_url + self.deriv_path if self.deriv_url else ""


def default_variables(c: Contract) -> dict[str, str]:
    """The contract's variables for what was minted (MTProto and Deriv only when present)."""
    env: dict[str, str] = {}
    if c.bot_token:
        env["TELEGRAM_BOT_TOKEN"] = c.bot_token
    if c.api_root:
        env["TELEGRAM_API_BASE_URL"] = c.api_root
    if c.port:
        env.update({
            "USE_WEBHOOK": "true" if c.webhook else "false",
            "WEBHOOK_URL": c.webhook_url,
            "WEBHOOK_PATH": c.webhook_path,
            "PORT": str(c.port),
            "HOST": c.host,
        })
        if c.webhook_secret:
            env["WEBHOOK_SECRET"] = c.webhook_secret
    if c.data_dir:
        env["DATA_DIR"] = c.data_dir
    if c.mtproto_session or c.mtproto_port:
        env.update({"TELEGRAM_API_ID": c.api_id, "TELEGRAM_API_HASH": c.api_hash})
    if c.mtproto_session:
        env["TELETHON_SESSION"] = c.mtproto_session
    if c.channels:
        env["TRENDING_CHANNELS"] = ",".join(c.channels)
    if c.deriv_url:
        env.update({"DERIV_WS_URL": c.deriv_ws_url, "DERIV_APP_ID": c.deriv_app_id})
        if c.deriv_token:
            env["DERIV_API_TOKEN"] = c.deriv_token
    env.update(c.extra)
    return env


def placeholder_values(c: Contract) -> dict[str, str]:
    """Every placeholder's value for this contract ("" for what was not minted)."""
    endpoint = f"{c.deriv_ws_url}?app_id={c.deriv_app_id}" if c.deriv_url else ""
    return {
        "telegram.token": c.bot_token,
        "telegram.api_root": c.api_root,
        "telegram.base_url": c.api_root + "/bot" if c.api_root else "",
        "telegram.webhook_url": c.webhook_url,
        "telegram.webhook_path": c.webhook_path,
        "telegram.webhook_secret": c.webhook_secret,
        "port": str(c.port) if c.port else "",
        "host": c.host,
        "data_dir": c.data_dir,
        "mtproto.session": c.mtproto_session,
        "mtproto.api_id": c.api_id,
        "mtproto.api_hash": c.api_hash,
        "mtproto.host": c.mtproto_host,
        "mtproto.port": str(c.mtproto_port) if c.mtproto_port else "",
        "mtproto.dc_id": str(c.mtproto_dc_id) if c.mtproto_dc_id else "",
        "deriv.endpoint": endpoint,
        "deriv.url": c.deriv_url,
        "deriv.app_id": c.deriv_app_id,
        "deriv.token": c.deriv_token,
    }


def placeholder_names(text: str) -> list[str]:
    """The {names} in `text`, in order ({{ and }} are literal braces)."""
    return [m.group(1) for m in _FIELD.finditer(text) if m.group(1) is not None]


def check_placeholders(text: str, where: str, allowed: tuple[str, ...] = PLACEHOLDERS) -> None:
    """Raise UnknownPlaceholder for a name outside `allowed`; run before anything starts."""
    for name in placeholder_names(text):
        if name.strip() not in allowed:
            raise UnknownPlaceholder(
                f"{where}: unknown placeholder {{{name}}}; known: "
                + ", ".join("{" + n + "}" for n in allowed))


def resolve(text: str, values: Mapping[str, str], where: str = "value") -> str:
    """`text` with each {name} replaced by values[name]; {{ and }} become { and }."""

    def substitute(m: re.Match) -> str:
        if m.group(0) == "{{":
            return "{"
        if m.group(0) == "}}":
            return "}"
        name = m.group(1).strip()
        if name not in values:
            raise UnknownPlaceholder(f"{where}: unknown placeholder {{{name}}}; known: "
                                     + ", ".join("{" + n + "}" for n in values))
        return str(values[name])

    return _FIELD.sub(substitute, text)


def bot_environment(c: Contract, extra: Mapping[str, str] | None = None,
                    base: Mapping[str, str] | None = None, *,
                    values: Mapping[str, str] | None = None) -> dict[str, str]:
    """The full environment of a bot process: `base` (os.environ) without inherited contract
    variables, the default variables, PYTHONUNBUFFERED, then `extra` with placeholders resolved."""
    base = os.environ if base is None else base
    env = {k: v for k, v in base.items() if not k.startswith(CONTRACT_PREFIXES)}
    env.update(default_variables(c))
    env["PYTHONUNBUFFERED"] = "1"  # so its output reaches the runner as it happens
    if extra:
        values = placeholder_values(c) if values is None else values
        for name, value in extra.items():
            env[name] = resolve(value, values, where=f"bot.env.{name}")
    return env


def contract_from_ready(info: Mapping[str, Any], mint: bool = True) -> Contract:
    """The contract of a running `botfakes serve` (its ready-file JSON), for tests outside the
    harness; with `mint`, a fresh Deriv account and MTProto session are minted over its control API.
    """
    from botfakes.fakes.control.client import ControlClient

    fakes = info["fakes"]
    control = ControlClient(info["control_url"])
    c = Contract(extra={"BOTFAKES_CONTROL_URL": info["control_url"]})
    if "botapi" in fakes:
        c.api_root = fakes["botapi"]["url"]
        c.bot_token = fakes["botapi"].get("token", "")
    if "deriv" in fakes:
        c.deriv_url = fakes["deriv"]["url"]
        c.deriv_path = fakes["deriv"].get("path", DERIV_PATH)
        if mint:
            c.deriv_token = control.deriv.create_account(balance=10_000)["token"]
    if "mtproto" in fakes:
        c.mtproto_host = str(fakes["mtproto"]["host"])
        c.mtproto_port = int(fakes["mtproto"]["port"])
        c.mtproto_dc_id = int(fakes["mtproto"].get("dc_id", 0))
        c.extra.update({"BOTFAKES_MTPROTO_HOST": c.mtproto_host,
                        "BOTFAKES_MTPROTO_PORT": str(c.mtproto_port)})
        if mint:
            c.mtproto_session = control.mtproto.mint_session()["session"]
    return c


def export_lines(variables: Mapping[str, str], style: str = "export") -> str:
    """`export NAME='value'` lines for a shell's eval, or NAME=value lines (style "dotenv",
    for $GITHUB_ENV, which takes values unquoted)."""
    if style == "dotenv":
        return "".join(f"{k}={v}\n" for k, v in variables.items())
    return "".join(f"export {k}={shlex.quote(v)}\n" for k, v in variables.items())
