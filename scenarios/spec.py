"""The bot under test: how to start it, which parts it has, and how the scenarios drive each part.

Given on the command line (`--bot-cmd "python -m mybot" --bot-parts polling,deriv`) or in a TOML
file (`--bot-spec bot.toml`, spec v2; a v1 file, with only name/command/parts/probe/env, is valid):

    [bot]
    name = "mybot"                     # default: the file's name without .toml
    command = "python -m mybot"        # a string (split like a shell) or a list
    cwd = "."                          # relative to this file's folder; default: the folder
                                       # `botfakes run` was started in
    parts = ["polling", "webhook", "mtproto", "deriv"]   # "telethon" = "mtproto"
    probe = "/start"                   # the command each scenario sends to see an update handled
    instances = 1                      # accepted; the scenarios decide how many run

    [bot.env]                          # extra variables; values may use {placeholders}
    BOT_TOKEN = "{telegram.token}"

    [bot.ready]                        # at most one of http / line; default: as each scenario
    http = "/health"                   # GET http://127.0.0.1:$PORT/health answers 2xx
    line = "Bot started"               # a regex searched in the bot's stdout/stderr
    timeout = 30                       # seconds

    [bot.mtproto]
    session = "telethon"               # telethon | telethon-file | gramjs | pyrogram | pyrogram-file
    triggers = ["GET /relay/latest", "/trending"]   # HTTP GETs on $PORT, or bot commands

    [bot.deriv]
    request = "/price {symbol}"        # a command making exactly one Deriv request
    stream = "/watch {symbol}"         # a command opening a tick stream

Every key is checked before anything starts; an error names the file and the key. A scenario that
needs a part the bot lacks is skipped with the reason.
"""

from __future__ import annotations

import re
import shlex
import sys
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from botfakes.testing.env import COMMAND_PLACEHOLDERS, PLACEHOLDERS, UnknownPlaceholder, check_placeholders

PARTS = ("polling", "webhook", "mtproto", "deriv")
PART_ALIASES = {"telethon": "mtproto"}
SESSION_FORMATS = ("telethon", "telethon-file", "gramjs", "pyrogram", "pyrogram-file")
DEFAULT_TRIGGERS = ("GET /trending-channels", "GET /trending-coins", "GET /trending-topics")
DEFAULT_DERIV_REQUEST = "/price {symbol}"
DEFAULT_DERIV_STREAM = "/watch {symbol}"
DEFAULT_READY_TIMEOUT = 30.0

_BOT_KEYS = {"name", "command", "cwd", "parts", "probe", "instances", "env", "ready", "mtproto",
             "telethon", "deriv"}
_READY_KEYS = {"http", "line", "timeout"}
_MTPROTO_KEYS = {"session", "triggers"}
_DERIV_KEYS = {"request", "stream"}


class SpecError(ValueError):
    """The bot spec is wrong; the message names the file (or flag) and the key."""


@dataclass(frozen=True)
class Trigger:
    """What makes the bot use its MTProto client: an HTTP GET on $PORT, or a bot command."""

    text: str

    @property
    def is_http(self) -> bool:
        return self.text.split(None, 1)[0].upper() == "GET"

    @property
    def path(self) -> str:
        return self.text.split(None, 1)[1].strip()

    @classmethod
    def parse(cls, text: Any, where: str) -> "Trigger":
        if not isinstance(text, str) or not text.strip():
            raise SpecError(f"{where}: a trigger is a non-empty string, got {text!r}")
        text = text.strip()
        words = text.split(None, 1)
        if words[0].upper() == "GET":
            if len(words) < 2 or not words[1].strip().startswith("/"):
                raise SpecError(f"{where}: {text!r}: an HTTP trigger is \"GET /path\"")
        elif words[0].isalpha() and words[0].isupper():
            raise SpecError(f"{where}: {text!r}: only GET requests are supported as triggers")
        elif not text.startswith("/"):
            raise SpecError(f"{where}: {text!r}: a trigger is \"GET /path\" (HTTP on $PORT) or a "
                            "bot command starting with /")
        check_placeholders(text, where)
        return cls(text)


@dataclass(frozen=True)
class Ready:
    """When a started instance counts as ready (None of http/line: the first Bot API call)."""

    http: str | None = None
    line: str | None = None
    timeout: float = DEFAULT_READY_TIMEOUT


@dataclass(frozen=True)
class BotSpec:
    name: str
    command: tuple[str, ...]
    parts: frozenset[str]
    env: tuple[tuple[str, str], ...] = ()
    probe: str = "/start"
    # None: the folder `botfakes run` (pytest) was started in.
    cwd: Path | None = None
    # None: each scenario's own readiness (getUpdates, setWebhook, the HTTP server answering).
    ready: Ready | None = None
    # None: Telethon, a session string or a .session file as the scenario needs (v1 behaviour).
    session: str | None = None
    triggers: tuple[Trigger, ...] = tuple(Trigger(t) for t in DEFAULT_TRIGGERS)
    deriv_request: str = DEFAULT_DERIV_REQUEST
    deriv_stream: str = DEFAULT_DERIV_STREAM
    instances: int | None = None
    # For the bundled bots only: scenario id -> the bug it must show (the self-test's expectation).
    expected: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    # ... and the bug it must show when `botfakes run --explore` varies the schedules, where that
    # differs (a bug one forced order misses); None there: the same as `expected`.
    explore_expected: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        unknown = set(self.parts) - set(PARTS)
        if unknown:
            raise SpecError(f"unknown part(s) {sorted(unknown)}; parts are {', '.join(PARTS)} "
                            "(telethon = mtproto)")
        if not self.command:
            raise SpecError("the bot needs a command")

    def has(self, part: str) -> bool:
        return PART_ALIASES.get(part, part) in self.parts

    def expected_bug(self, scenario: str) -> str | None:
        return dict(self.expected).get(scenario)

    def explore_expected_bug(self, scenario: str) -> str | None:
        return dict(self.explore_expected).get(scenario)

    def with_options(self, **options: Any) -> "BotSpec":
        """This spec with the given keys replaced (None values are ignored)."""
        return replace(self, **{k: v for k, v in options.items() if v is not None})

    @property
    def http_triggers(self) -> bool:
        return all(t.is_http for t in self.triggers)

    # -- construction --------------------------------------------------------------------------

    @classmethod
    def from_command(cls, command: str, parts: str | list[str] = "polling", name: str = "bot",
                     probe: str = "/start", **options: Any) -> "BotSpec":
        try:
            argv = tuple(shlex.split(command or ""))
        except ValueError as exc:
            raise SpecError(f"--bot-cmd: {exc}") from None
        if isinstance(parts, str):
            parts = [p.strip() for p in parts.split(",") if p.strip()]
        return cls(name=name or "bot", command=argv, parts=_parts(parts, "--bot-parts"),
                   probe=_probe(probe, "--bot-probe")).with_options(**options)

    @classmethod
    def from_toml(cls, path: Path | str) -> "BotSpec":
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text())
        except OSError as exc:
            raise SpecError(f"{path}: cannot read the bot spec: {exc.strerror or exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise SpecError(f"{path}: not valid TOML: {exc}") from None
        bot = data.get("bot")
        if not isinstance(bot, dict):
            raise SpecError(f"{path}: a [bot] table is required")
        extra = sorted(set(data) - {"bot"})
        if extra:
            raise SpecError(f"{path}: unknown table(s) {extra}; everything goes under [bot]")
        _known(bot, _BOT_KEYS, f"{path}: bot")
        where = lambda key: f"{path}: bot.{key}"  # noqa: E731
        options: dict[str, Any] = {}

        command = bot.get("command")
        if isinstance(command, str):
            try:
                command = shlex.split(command)
            except ValueError as exc:
                raise SpecError(f"{where('command')}: {exc}") from None
        if not isinstance(command, list) or not command or not all(isinstance(c, str) and c for c in command):
            raise SpecError(f"{where('command')} is required: a string or a non-empty list of strings")
        name = bot.get("name", path.stem)
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise SpecError(f"{where('name')} must be letters, digits, _ . - (it names the report "
                            f"cells), got {name!r}")
        if "cwd" in bot:
            if not isinstance(bot["cwd"], str) or not bot["cwd"]:
                raise SpecError(f"{where('cwd')} must be a folder path (a string)")
            cwd = (path.resolve().parent / bot["cwd"]).resolve()
            if not cwd.is_dir():
                raise SpecError(f"{where('cwd')}: {bot['cwd']!r} is not a folder (resolved to {cwd})")
            options["cwd"] = cwd
        parts = bot.get("parts", list(PARTS))
        if isinstance(parts, str):
            parts = [p.strip() for p in parts.split(",") if p.strip()]
        if not isinstance(parts, list) or not all(isinstance(p, str) for p in parts):
            raise SpecError(f"{where('parts')} must be a list of part names")
        if "probe" in bot:
            options["probe"] = _probe(bot["probe"], where("probe"))
        if "instances" in bot:
            n = bot["instances"]
            if not isinstance(n, int) or isinstance(n, bool) or n < 1:
                raise SpecError(f"{where('instances')} must be a whole number >= 1, got {n!r}")
            options["instances"] = n
        env = bot.get("env", {})
        if not isinstance(env, dict):
            raise SpecError(f"{where('env')} must be a table of NAME = \"value\"")
        env_items = []
        for key, value in env.items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
                raise SpecError(f"{where('env')}: {key!r} is not a variable name")
            if isinstance(value, bool):
                value = "true" if value else "false"
            if not isinstance(value, (str, int, float)):
                raise SpecError(f"{where('env.' + key)} must be a string or a number, got {value!r}")
            check_placeholders(str(value), where("env." + key))
            env_items.append((key, str(value)))
        options["env"] = tuple(env_items)
        if "ready" in bot:
            options["ready"] = _ready(bot["ready"], where("ready"))
        if "mtproto" in bot and "telethon" in bot:
            raise SpecError(f"{path}: give [bot.mtproto] or its alias [bot.telethon], not both")
        table = "mtproto" if "mtproto" in bot else "telethon" if "telethon" in bot else None
        if table:
            options.update(_mtproto(bot[table], where(table)))
        if "deriv" in bot:
            options.update(_deriv(bot["deriv"], where("deriv")))
        try:
            return cls(name=name, command=tuple(command), parts=_parts(parts, where("parts")),
                       **options)
        except SpecError as exc:
            raise SpecError(f"{path}: {exc}") from None


def _known(table: dict, keys: set[str], where: str) -> None:
    unknown = sorted(set(table) - keys)
    if unknown:
        raise SpecError(f"{where}: unknown key(s) {unknown}; known: {', '.join(sorted(keys))}")


def _parts(parts: list[str], where: str) -> frozenset[str]:
    if not parts:
        raise SpecError(f"{where}: name at least one part ({', '.join(PARTS)})")
    canonical = [PART_ALIASES.get(p, p) for p in parts]
    unknown = [p for p, c in zip(parts, canonical) if c not in PARTS]
    if unknown:
        raise SpecError(f"{where}: unknown part(s) {unknown}; parts are {', '.join(PARTS)} "
                        "(telethon = mtproto)")
    return frozenset(canonical)


def _probe(probe: Any, where: str) -> str:
    if not isinstance(probe, str) or not probe.strip().startswith("/"):
        raise SpecError(f"{where} must be a bot command starting with /, got {probe!r}")
    return probe.strip()


def _ready(table: Any, where: str) -> Ready:
    if not isinstance(table, dict):
        raise SpecError(f"{where} must be a table (http = \"/health\" or line = \"regex\", timeout)")
    _known(table, _READY_KEYS, where)
    if "http" in table and "line" in table:
        raise SpecError(f"{where}: give http or line, not both")
    http, line = table.get("http"), table.get("line")
    if http is not None and (not isinstance(http, str) or not http.startswith("/")):
        raise SpecError(f"{where}.http must be a path starting with /, got {http!r}")
    if line is not None:
        if not isinstance(line, str) or not line:
            raise SpecError(f"{where}.line must be a regular expression (a string)")
        try:
            re.compile(line)
        except re.error as exc:
            raise SpecError(f"{where}.line is not a valid regular expression: {exc}") from None
    timeout = table.get("timeout", DEFAULT_READY_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise SpecError(f"{where}.timeout must be a positive number of seconds, got {timeout!r}")
    return Ready(http=http, line=line, timeout=float(timeout))


def _mtproto(table: Any, where: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise SpecError(f"{where} must be a table (session, triggers)")
    _known(table, _MTPROTO_KEYS, where)
    options: dict[str, Any] = {}
    if "session" in table:
        if table["session"] not in SESSION_FORMATS:
            raise SpecError(f"{where}.session must be one of {', '.join(SESSION_FORMATS)}, got "
                            f"{table['session']!r}")
        options["session"] = table["session"]
    if "triggers" in table:
        triggers = table["triggers"]
        if not isinstance(triggers, list) or not triggers:
            raise SpecError(f"{where}.triggers must be a non-empty list of \"GET /path\" or "
                            "\"/command\" strings")
        options["triggers"] = tuple(Trigger.parse(t, f"{where}.triggers") for t in triggers)
    return options


def _deriv(table: Any, where: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise SpecError(f"{where} must be a table (request, stream)")
    _known(table, _DERIV_KEYS, where)
    options: dict[str, Any] = {}
    for key in ("request", "stream"):
        if key in table:
            options[f"deriv_{key}"] = deriv_command(table[key], f"{where}.{key}")
    return options


def deriv_command(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip().startswith("/"):
        raise SpecError(f"{where} must be a bot command starting with /, e.g. \"/price {{symbol}}\"; "
                        f"got {value!r}")
    check_placeholders(value, where, PLACEHOLDERS + COMMAND_PLACEHOLDERS)
    if "{symbol}" not in value:
        raise SpecError(f"{where}: {value!r} must contain {{symbol}} (the scenarios pick the symbols)")
    return value.strip()


# The options that name the bot under test: the same for `botfakes run` (argparse) and for the
# scenarios' pytest plugin (whose addoption takes argparse's keywords).
BOT_OPTIONS: tuple[tuple[str, dict], ...] = (
    ("--bot-cmd", {"help": "command that starts the bot under test (default: the bundled bots)"}),
    ("--bot-parts", {"help": "parts the bot has: polling, webhook, mtproto (alias telethon), deriv "
                     "(comma-separated; default polling, or the spec's)"}),
    ("--bot-name", {"help": "name of the bot in the reports (default: bot, or the spec's)"}),
    ("--bot-probe", {"help": "command sent to check that an update is handled (default /start)"}),
    ("--bot-spec", {"type": Path, "help": "a TOML file describing the bot (see botfakes.scenarios.spec)"}),
    ("--bot-cwd", {"type": Path, "help": "folder the bot starts in (default: the current folder)"}),
    ("--bot-env", {"action": "append", "metavar": "NAME=VALUE",
                   "help": "an extra variable for the bot, may use {placeholders} (repeatable)"}),
    ("--bot-ready-http", {"metavar": "PATH", "help": "ready once GET $PORT PATH answers 2xx"}),
    ("--bot-ready-line", {"metavar": "REGEX", "help": "ready once an output line matches REGEX"}),
    ("--bot-session", {"choices": SESSION_FORMATS, "help": "the MTProto session format the bot reads"}),
    ("--bot-trigger", {"action": "append", "metavar": "TRIGGER",
                       "help": "what makes the bot use MTProto: \"GET /path\" or \"/command\" (repeatable)"}),
    ("--deriv-request", {"metavar": "CMD", "help": "command making one Deriv request (default \"/price {symbol}\")"}),
    ("--deriv-stream", {"metavar": "CMD", "help": "command opening a Deriv stream (default \"/watch {symbol}\")"}),
    ("--bundled", {"default": "all",
                   "help": "with no --bot-cmd/--bot-spec: 'all' or a comma list of bundled bots"}),
)


def spec_from_options(get) -> BotSpec | None:
    """The user's bot from the options (`get(flag)` reads one), or None for the bundled bots.
    Raises SpecError on any bad value, before anything starts."""
    spec_path, command = get("--bot-spec"), get("--bot-cmd")
    if spec_path and command:
        raise SpecError("give --bot-spec or --bot-cmd, not both")
    if spec_path:
        spec = BotSpec.from_toml(spec_path)
    elif command:
        spec = BotSpec.from_command(command, get("--bot-parts") or "polling")
    else:
        return None
    options: dict[str, Any] = {}
    if command is None and get("--bot-parts"):
        options["parts"] = _parts([p.strip() for p in get("--bot-parts").split(",") if p.strip()],
                                  "--bot-parts")
    if get("--bot-name"):
        options["name"] = get("--bot-name")
    if get("--bot-probe"):
        options["probe"] = _probe(get("--bot-probe"), "--bot-probe")
    if get("--bot-cwd"):
        cwd = Path(get("--bot-cwd")).resolve()
        if not cwd.is_dir():
            raise SpecError(f"--bot-cwd: {cwd} is not a folder")
        options["cwd"] = cwd
    if get("--bot-env"):
        env = dict(spec.env)
        for item in get("--bot-env"):
            key, sep, value = item.partition("=")
            if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
                raise SpecError(f"--bot-env takes NAME=VALUE, got {item!r}")
            check_placeholders(value, f"--bot-env {key}")
            env[key] = value
        options["env"] = tuple(env.items())
    if get("--bot-ready-http") or get("--bot-ready-line"):
        table = {k: v for k, v in (("http", get("--bot-ready-http")), ("line", get("--bot-ready-line"))) if v}
        if spec.ready:
            table["timeout"] = spec.ready.timeout
        options["ready"] = _ready(table, "--bot-ready-http/--bot-ready-line")
    if get("--bot-session"):
        options["session"] = get("--bot-session")
    if get("--bot-trigger"):
        options["triggers"] = tuple(Trigger.parse(t, "--bot-trigger") for t in get("--bot-trigger"))
    if get("--deriv-request"):
        options["deriv_request"] = deriv_command(get("--deriv-request"), "--deriv-request")
    if get("--deriv-stream"):
        options["deriv_stream"] = deriv_command(get("--deriv-stream"), "--deriv-stream")
    return spec.with_options(**options)


def _bundled(variant: str, expected: dict[str, str], parts: tuple[str, ...] = PARTS,
             explore: dict[str, str] | None = None) -> BotSpec:
    return BotSpec(
        name=variant,
        command=(sys.executable, "-m", "botfakes.reference_bot"),
        parts=frozenset(parts),
        env=(("BOT_VARIANT", variant),),
        expected=tuple(sorted(expected.items())),
        explore_expected=tuple(sorted((explore or {}).items())),
    )


# The reference bot and its naive variants, with the bug each variant must be caught with. The
# scenario ids are the test function names in scenarios/test_*.py.
BUNDLED: dict[str, BotSpec] = {
    spec.name: spec
    for spec in (
        _bundled("reference", {}),
        _bundled("naive_no_instance_guard", {"two_instances_polling": "two-pollers"}),
        _bundled("naive_webhook_plus_polling", {"webhook_mode_never_polls": "polling-while-webhook"}),
        # Only its webhook route differs from the reference: the other parts' scenarios would
        # re-run the reference's verdicts (and the matrix must stay under 3 minutes).
        _bundled("naive_webhook_no_secret_check", {"forged_webhook_requests": "forged-webhook"},
                 parts=("webhook",)),
        _bundled("naive_client_per_request", {
            "trending_cold_start_burst": "auth-key-duplicated",
            # its per-request clients also overlap on the .session file under load
            "shared_session_under_load": "auth-key-duplicated",
        }),
        _bundled("naive_shared_session_file", {
            "shared_session_under_load": "database-locked",
            # its two workers also connect at once with one auth key
            "trending_cold_start_burst": "auth-key-duplicated",
        }),
        # The seed's socket-per-process code re-subscribed nothing after a drop either: both naive
        # Deriv variants lose their streams when the connection closes.
        _bundled("naive_concurrent_recv", {
            "deriv_replies_out_of_order": "concurrent-recv",
            "deriv_disconnect_mid_subscription": "hung-after-disconnect",
        }),
        _bundled("naive_recv_lock_no_routing", {
            "deriv_replies_out_of_order": "crossed-replies",
            "deriv_disconnect_mid_subscription": "hung-after-disconnect",
        }),
        # Issue 14's proof: its replies cross only when the middle of three pending requests is
        # answered first, an order neither arrival nor the scenario's reverse produces. The
        # default run passes it (one forced order misses the bug: that is the point);
        # `botfakes run --explore` must catch it.
        _bundled("naive_deque_ends_router", {}, parts=("polling", "deriv"),
                 explore={"deriv_replies_out_of_order": "crossed-replies"}),
    )
}

__all__ = ["BOT_OPTIONS", "BUNDLED", "BotSpec", "PARTS", "Ready", "SpecError", "Trigger",
           "UnknownPlaceholder", "spec_from_options"]
