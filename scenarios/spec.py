"""The bot under test: how to start it and which parts it has.

Given on the command line (`--bot-cmd "python -m mybot" --bot-parts polling,deriv`) or in a TOML
file (`--bot-spec bot.toml`):

    [bot]
    name = "mybot"
    command = "python -m mybot"
    parts = ["polling", "webhook", "telethon", "deriv"]
    probe = "/start"             # the command each scenario sends to see that an update is handled
    [bot.env]                    # extra environment for the bot
    LOG_LEVEL = "debug"

Parts: "polling" (Bot API long polling), "webhook" (Bot API webhook on $PORT), "telethon" (an HTTP
API on $PORT serving /trending-* from Telethon), "deriv" (/price SYMBOL through Deriv). A scenario
that needs a part the bot lacks is skipped with the reason.
"""

from __future__ import annotations

import shlex
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

PARTS = ("polling", "webhook", "telethon", "deriv")


@dataclass(frozen=True)
class BotSpec:
    name: str
    command: tuple[str, ...]
    parts: frozenset[str]
    env: tuple[tuple[str, str], ...] = ()
    probe: str = "/start"
    # For the bundled bots only: scenario id -> the bug it must show (the self-test's expectation).
    expected: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        unknown = set(self.parts) - set(PARTS)
        if unknown:
            raise ValueError(f"unknown part(s) {sorted(unknown)}; parts are {', '.join(PARTS)}")
        if not self.command:
            raise ValueError("the bot needs a command")

    def has(self, part: str) -> bool:
        return part in self.parts

    def expected_bug(self, scenario: str) -> str | None:
        return dict(self.expected).get(scenario)

    @classmethod
    def from_command(cls, command: str, parts: str | list[str], name: str = "bot",
                     probe: str = "/start") -> "BotSpec":
        if isinstance(parts, str):
            parts = [p.strip() for p in parts.split(",") if p.strip()]
        return cls(name=name, command=tuple(shlex.split(command)), parts=frozenset(parts),
                   probe=probe)

    @classmethod
    def from_toml(cls, path: Path) -> "BotSpec":
        data = tomllib.loads(Path(path).read_text())
        bot = data.get("bot")
        if not isinstance(bot, dict):
            raise ValueError(f"{path}: a [bot] table is required")
        command = bot.get("command")
        if isinstance(command, str):
            command = shlex.split(command)
        if not isinstance(command, list) or not all(isinstance(c, str) for c in command):
            raise ValueError(f"{path}: bot.command must be a string or a list of strings")
        env = bot.get("env") or {}
        return cls(
            name=str(bot.get("name") or Path(path).stem),
            command=tuple(command),
            parts=frozenset(bot.get("parts") or PARTS),
            env=tuple((str(k), str(v)) for k, v in env.items()),
            probe=str(bot.get("probe") or "/start"),
        )


# The options that name the bot under test: the same for `botfakes run` (argparse) and for the
# scenarios' pytest plugin (whose addoption takes argparse's keywords).
BOT_OPTIONS: tuple[tuple[str, dict], ...] = (
    ("--bot-cmd", {"help": "command that starts the bot under test (default: the bundled bots)"}),
    ("--bot-parts", {"default": "polling",
                     "help": "parts the bot has: polling, webhook, telethon, deriv (comma-separated)"}),
    ("--bot-name", {"default": "bot", "help": "name of the bot in the reports"}),
    ("--bot-probe", {"default": "/start",
                     "help": "command sent to check that an update is handled (default /start)"}),
    ("--bot-spec", {"type": Path, "help": "a TOML file describing the bot (see botfakes.scenarios.spec)"}),
    ("--bundled", {"default": "all",
                   "help": "with no --bot-cmd/--bot-spec: 'all' or a comma list of bundled bots"}),
)


def _bundled(variant: str, expected: dict[str, str]) -> BotSpec:
    return BotSpec(
        name=variant,
        command=(sys.executable, "-m", "botfakes.reference_bot"),
        parts=frozenset(PARTS),
        env=(("BOT_VARIANT", variant),),
        expected=tuple(sorted(expected.items())),
    )


# The reference bot and its naive variants, with the bug each variant must be caught with. The
# scenario ids are the test function names in scenarios/test_*.py.
BUNDLED: dict[str, BotSpec] = {
    spec.name: spec
    for spec in (
        _bundled("reference", {}),
        _bundled("naive_no_instance_guard", {"two_instances_polling": "two-pollers"}),
        _bundled("naive_webhook_plus_polling", {"webhook_mode_never_polls": "polling-while-webhook"}),
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
    )
}
