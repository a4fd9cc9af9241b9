"""The Bot API fake's records and limits: config, replies, updates, long polls, webhooks, bots.

Shared by the core (core.py) and the methods (methods.py); core.py re-exports them.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

from . import errors as E
from .errors import BotApiError, error_envelope, ok_envelope
from .params import to_integer_safe
from .ratelimit import RateLimits

LONG_POLL_MAX_TIMEOUT = 50
MAX_CONCURRENT_MAX_CONNECTIONS = 100

UPDATE_TYPES = (
    "message", "edited_message", "channel_post", "edited_channel_post", "business_connection",
    "business_message", "edited_business_message", "deleted_business_messages", "message_reaction",
    "message_reaction_count", "inline_query", "chosen_inline_result", "callback_query", "shipping_query",
    "pre_checkout_query", "purchased_paid_media", "poll", "poll_answer", "my_chat_member", "chat_member",
    "chat_join_request", "chat_boost", "removed_chat_boost",
)
# Without allowed_updates a bot gets everything except these (Bot API documentation of getUpdates).
DEFAULT_ALLOWED = frozenset(UPDATE_TYPES) - {"chat_member", "message_reaction", "message_reaction_count"}

# Method names as the API documents them; requests may use any letter case.
METHODS = (
    "getMe", "getUpdates", "setWebhook", "deleteWebhook", "getWebhookInfo", "sendMessage", "editMessageText",
    "deleteMessage", "answerCallbackQuery", "sendChatAction", "getChat", "setMyCommands", "getMyCommands",
    "deleteMyCommands", "close", "logOut",
)
CANONICAL_METHOD = {name.lower(): name for name in METHODS}

CHAT_ACTIONS = {
    "cancel", "typing", "record_video", "upload_video", "record_audio", "record_voice", "upload_audio",
    "upload_voice", "upload_photo", "upload_document", "choose_sticker", "pick_up_location", "find_location",
    "record_video_note", "upload_video_note",
}
_SECRET_CHARS = re.compile(r"^[A-Za-z0-9_-]*$")


def canonical_method(method: str) -> str:
    return CANONICAL_METHOD.get(method.lower(), method)


@dataclass
class BotApiConfig:
    conflict_repeat_delay: float = 3.0  # Client::fail_query_conflict
    repeated_poll_rules: bool = True  # same offset within 3 s -> timeout >= 3; within 0.5 s -> limit 1
    set_webhook_interval: float = 1.0
    default_max_connections: int = 40
    webhook_backoff_base: float = 1.0  # WebhookActor: 1 s, doubling...
    webhook_backoff_cap: float = 60.0  # ...capped at a random value in [cap, 2*cap]
    webhook_allow_remote: bool = False  # deliver only to loopback hosts unless told otherwise
    rate_limits: RateLimits = field(default_factory=RateLimits)
    first_update_id: int = 0  # 0 = a per-bot value derived from the bot id, as ids on a real server are large


@dataclass
class Reply:
    status: int
    body: dict[str, Any]
    delay: float = 0.0  # seconds to hold the reply before sending it (the 409 repeat rule)
    headers: dict[str, str] = field(default_factory=dict)
    flag: str | None = None  # journal flag: "unsupported" for a method the fake does not serve

    @property
    def ok(self) -> bool:
        return self.status == 200

    @classmethod
    def success(cls, result: Any, description: str | None = None) -> "Reply":
        return cls(200, ok_envelope(result, description))

    @classmethod
    def failure(cls, error: BotApiError, delay: float = 0.0) -> "Reply":
        headers = {}
        retry_after = error.parameters.get("retry_after") if error.parameters else None
        if retry_after:
            headers["Retry-After"] = str(retry_after)
        return cls(error.code, error_envelope(error.code, error.description, error.parameters), delay, headers)


@dataclass
class Update:
    update_id: int
    kind: str
    payload: dict[str, Any]
    queue_key: int | None  # the chat whose updates must stay in order for webhook delivery

    def to_dict(self) -> dict[str, Any]:
        return {"update_id": self.update_id, self.kind: self.payload}


class LongPoll:
    """A getUpdates waiting for updates; `reply` is set exactly once, then `on_resolved` is called."""

    __slots__ = ("bot", "offset", "limit", "timeout", "reply", "on_resolved")

    def __init__(self, bot: "Bot", offset: int, limit: int, timeout: int) -> None:
        self.bot = bot
        self.offset = offset
        self.limit = limit
        self.timeout = timeout
        self.reply: Reply | None = None
        self.on_resolved: Callable[[Reply], None] | None = None

    @property
    def done(self) -> bool:
        return self.reply is not None

    def resolve(self, reply: Reply) -> None:
        if self.reply is not None:
            return
        self.reply = reply
        if self.on_resolved is not None:
            self.on_resolved(reply)


@dataclass
class Webhook:
    url: str
    secret_token: str
    max_connections: int
    ip_address: str
    set_time: float
    last_error_date: int = 0
    last_error_message: str = ""


@dataclass
class Bot:
    token: str
    id: int
    username: str
    first_name: str
    queue: deque = field(default_factory=deque)  # Update, ascending update_id
    tail: int = 1  # update_id the next update gets
    queue_created: bool = False
    allowed_updates: frozenset = DEFAULT_ALLOWED
    long_poll: LongPoll | None = None
    previous_offset: int = -1
    previous_poll_time: float = float("-inf")
    next_conflict_time: float = 0.0
    next_set_webhook_time: float = 0.0
    webhook: Webhook | None = None
    commands: dict[tuple[str, str], list] = field(default_factory=dict)
    logged_out: bool = False

    @property
    def head(self) -> int:
        return self.queue[0].update_id if self.queue else self.tail

    def user_dict(self) -> dict[str, Any]:
        return {"id": self.id, "is_bot": True, "first_name": self.first_name, "username": self.username}


def bot_id_from_token(token: str) -> int:
    """Validate a token's shape as ClientManager::send does; return the bot id or raise its error."""
    if not token or token[0] == "0" or len(token) > 80 or "/" in token or ":" not in token:
        raise BotApiError(401, E.INVALID_TOKEN)
    bot_id = to_integer_safe(token.split(":", 1)[0])
    if bot_id is None:
        raise BotApiError(421, "Misdirected Request: unallowed token specified")
    if bot_id <= 0 or bot_id >= 1 << 54:
        raise BotApiError(401, E.INVALID_TOKEN)
    return bot_id
