"""Configuration of the reference bot, read from environment variables only.

These are the variables the scenario harness hands to any bot under test, so a bot that reads them
runs unchanged against the fakes and, with real credentials, against the real services.

| variable | meaning | default |
|---|---|---|
| `TELEGRAM_BOT_TOKEN` | the bot's token (required) | |
| `TELEGRAM_API_BASE_URL` | Bot API root, without `/bot<token>` | `https://api.telegram.org` |
| `USE_WEBHOOK` | `true`/`1`/`yes`: webhook mode; otherwise long polling | `false` |
| `WEBHOOK_URL` | public origin Telegram posts to (`https://bot.example.com`) | required in webhook mode |
| `WEBHOOK_PATH` | path of the webhook route on this server | `/webhook` |
| `WEBHOOK_SECRET` | secret for `X-Telegram-Bot-Api-Secret-Token` (`A-Za-z0-9_-`, up to 256) | random per start |
| `PORT` | port of the bot's HTTP server (webhook, `/health`, `/trending-*`) | `8080` |
| `HOST` | address that server binds | `0.0.0.0` |
| `DATA_DIR` | writable folder: instance lock, confirmed polling offset | `./data` |
| `TELEGRAM_API_ID`, `TELEGRAM_API_HASH` | Telethon application credentials | Telethon part off if unset |
| `TELETHON_SESSION` | a `StringSession` string, or the path of a `.session` file | Telethon part off if unset |
| `TRENDING_CHANNELS` | comma-separated channel usernames the trending service reads | `crypto_signals,defi_daily,altcoin_radar` |
| `TRENDING_CACHE_SECONDS` | how long a computed trending answer is reused | `900` |
| `DERIV_WS_URL` | Deriv WebSocket endpoint | `wss://ws.derivws.com/websockets/v3` |
| `DERIV_APP_ID` | Deriv application id | `1089` (Deriv's public test app) |
| `DERIV_API_TOKEN` | Deriv API token for `/balance` | `/balance` answers "not configured" |
| `BOT_VARIANT` | `reference` or one naive variant (see `reference_bot.naive`) | `reference` |
| `LOG_LEVEL` | Python logging level | `INFO` |

`HOST`, `TRENDING_CHANNELS`, `TRENDING_CACHE_SECONDS`, `BOT_VARIANT` and `LOG_LEVEL` are additions to
the harness's list: each has a default, so a harness that does not know them still runs the bot.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

VARIANTS = (
    "reference",
    "naive_no_instance_guard",  # seed 001
    "naive_webhook_plus_polling",  # seed 004
    "naive_webhook_no_secret_check",  # seed 001's webhook, secret never compared
    "naive_client_per_request",  # seed 000
    "naive_shared_session_file",  # seed 002
    "naive_concurrent_recv",  # seed 003
    "naive_recv_lock_no_routing",  # seed 003, the half-fix
    "naive_deque_ends_router",  # issue 14: wrong only in an order exploration finds
)

# What Telegram accepts as a secret_token (setWebhook): 1-256 characters of A-Z a-z 0-9 _ -.
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class ConfigError(ValueError):
    """A variable is missing or malformed; the message names the variable."""


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Config:
    bot_token: str = field(repr=False)
    api_base_url: str = "https://api.telegram.org"
    use_webhook: bool = False
    webhook_url: str = ""
    webhook_path: str = "/webhook"
    # Never printed: repr=False keeps it out of logs and tracebacks.
    webhook_secret: str = field(default="", repr=False)
    host: str = "0.0.0.0"
    port: int = 8080
    data_dir: Path = Path("data")
    telegram_api_id: int | None = None
    telegram_api_hash: str = field(default="", repr=False)
    telethon_session: str = field(default="", repr=False)
    trending_channels: tuple[str, ...] = ("crypto_signals", "defi_daily", "altcoin_radar")
    trending_cache_seconds: float = 900.0
    deriv_ws_url: str = "wss://ws.derivws.com/websockets/v3"
    deriv_app_id: str = "1089"
    deriv_api_token: str = field(default="", repr=False)
    variant: str = "reference"
    log_level: str = "INFO"

    @property
    def webhook_full_url(self) -> str:
        return self.webhook_url.rstrip("/") + self.webhook_path

    @property
    def telethon_enabled(self) -> bool:
        return bool(self.telegram_api_id and self.telegram_api_hash and self.telethon_session)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Config":
        env = os.environ if env is None else env

        def get(name: str, default: str = "") -> str:
            return env.get(name, default).strip()

        token = get("TELEGRAM_BOT_TOKEN")
        if not token:
            raise ConfigError("TELEGRAM_BOT_TOKEN is required")
        use_webhook = _flag(env.get("USE_WEBHOOK"))
        webhook_url = get("WEBHOOK_URL")
        if use_webhook and not webhook_url:
            raise ConfigError("USE_WEBHOOK is on but WEBHOOK_URL is empty")
        webhook_path = get("WEBHOOK_PATH", "/webhook") or "/webhook"
        if not webhook_path.startswith("/"):
            webhook_path = "/" + webhook_path
        secret = get("WEBHOOK_SECRET")
        if secret and not _SECRET_RE.match(secret):
            raise ConfigError("WEBHOOK_SECRET must be 1-256 characters of A-Z a-z 0-9 _ -")
        if not secret:
            # Auto-generated per start: a webhook without a secret accepts anyone's POSTs.
            secret = secrets.token_urlsafe(32)
        try:
            port = int(get("PORT", "8080") or "8080")
        except ValueError:
            raise ConfigError("PORT must be an integer") from None
        api_id_text = get("TELEGRAM_API_ID")
        try:
            api_id = int(api_id_text) if api_id_text else None
        except ValueError:
            raise ConfigError("TELEGRAM_API_ID must be an integer") from None
        channels = tuple(
            c.strip().lstrip("@") for c in get("TRENDING_CHANNELS", "").split(",") if c.strip()
        ) or cls.trending_channels
        try:
            cache_seconds = float(get("TRENDING_CACHE_SECONDS", "900") or "900")
        except ValueError:
            raise ConfigError("TRENDING_CACHE_SECONDS must be a number") from None
        variant = get("BOT_VARIANT", "reference") or "reference"
        if variant not in VARIANTS:
            raise ConfigError(f"BOT_VARIANT must be one of {', '.join(VARIANTS)}; got {variant!r}")
        return cls(
            bot_token=token,
            api_base_url=(get("TELEGRAM_API_BASE_URL") or cls.api_base_url).rstrip("/"),
            use_webhook=use_webhook,
            webhook_url=webhook_url,
            webhook_path=webhook_path,
            webhook_secret=secret,
            host=get("HOST", "0.0.0.0") or "0.0.0.0",
            port=port,
            data_dir=Path(get("DATA_DIR", "data") or "data"),
            telegram_api_id=api_id,
            telegram_api_hash=get("TELEGRAM_API_HASH"),
            telethon_session=get("TELETHON_SESSION"),
            trending_channels=channels,
            trending_cache_seconds=cache_seconds,
            deriv_ws_url=get("DERIV_WS_URL") or cls.deriv_ws_url,
            deriv_app_id=get("DERIV_APP_ID") or cls.deriv_app_id,
            deriv_api_token=get("DERIV_API_TOKEN"),
            variant=variant,
            log_level=(get("LOG_LEVEL", "INFO") or "INFO").upper(),
        )
