"""The Bot API protocol core: bots, update queues, long-poll arbitration, webhook state, the methods.

No sockets and no event loop here. A request is `handle(token, method, params)`; the answer is a
`Reply` (status, JSON body, optional delay before sending), or a `LongPoll` when getUpdates has to wait.
A parked `LongPoll` is resolved by the core itself, synchronously, when something it waits for happens:
an update arrives (it answers with the updates), another long poll takes over (it answers with the 409),
setWebhook is called (409), or the transport says its timeout ran out (`expire_poll`). Nothing polls.

The rules follow tdlib/telegram-bot-api Client.cpp:
- getUpdates: webhook set -> 409; offset/limit/timeout read leniently and clamped (limit 1..100, timeout
  0..50); a repeat with the same offset within 3 s gets timeout >= 3, within 0.5 s limit 1; a negative
  offset keeps the last -offset updates; offset <= 0 reads from the head; updates below the offset are
  confirmed (forgotten); an offset more than 10 past the tail reads from the head without confirming.
  A long poll that finds nothing (timeout > 0) aborts the pending one with 409 "terminated by other
  getUpdates request"; a short poll, or one that finds updates, leaves it alone.
- A 409 sent less than 3 s after the previous 409 is delayed by 3 s (why logs show a 3-7 s rhythm).
- setWebhook: at most once a second (429 retry after 1); an identical call is "Webhook is already set";
  setting a URL ends a pending long poll with 409 "terminated by setWebhook request".
"""

from __future__ import annotations

import json
import re
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

from . import errors as E
from .errors import BotApiError, error_envelope, ok_envelope
from .params import get_integer, json_arg, to_bool, to_integer, to_integer_safe
from .ratelimit import FloodControl, RateLimits
from .world import Chat, User, World, command_entities

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


class Clock:
    """Monotonic time for rules and timeouts, wall time for message dates; tests substitute both."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()


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


class BotApiCore:
    def __init__(self, config: BotApiConfig | None = None, clock: Clock | None = None) -> None:
        self.config = config or BotApiConfig()
        self.clock = clock or Clock()
        self.world = World()
        self.flood = FloodControl(self.config.rate_limits, self.clock.monotonic)
        self.bots: dict[str, Bot] = {}
        # Hooks set by the transport: counters, and the webhook deliverer's wake-up.
        self.count: Callable[[str], None] = lambda name: None
        self.on_webhook_changed: Callable[[Bot], None] = lambda bot: None
        self.on_update_queued: Callable[[Bot, Update], None] = lambda bot, update: None
        self._handlers = {
            "getme": self._get_me, "getupdates": self._get_updates,
            "setwebhook": lambda bot, params: self._set_webhook(bot, params, True),
            "deletewebhook": lambda bot, params: self._set_webhook(bot, params, False), "getwebhookinfo": self._get_webhook_info,
            "sendmessage": self._send_message, "editmessagetext": self._edit_message_text,
            "deletemessage": self._delete_message, "answercallbackquery": self._answer_callback_query,
            "sendchataction": self._send_chat_action, "getchat": self._get_chat,
            "setmycommands": self._set_my_commands, "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands, "close": self._close, "logout": self._log_out,
        }

    # ---- bots ------------------------------------------------------------------------------------
    def register_bot(self, token: str, username: str | None = None, first_name: str | None = None) -> Bot:
        bot_id = bot_id_from_token(token)
        bot = self.bots.get(token)
        if bot is not None and not bot.logged_out:
            return bot
        first = self.config.first_update_id or (bot_id % 900_000) * 1000 + 100_000_000
        bot = Bot(token, bot_id, username or f"fake{bot_id}_bot", first_name or f"Fake Bot {bot_id}", tail=first)
        self.bots[token] = bot
        return bot

    def reset(self) -> None:
        for bot in self.bots.values():
            if bot.long_poll is not None:
                poll, bot.long_poll = bot.long_poll, None
                poll.resolve(Reply.success([]))
        self.bots.clear()
        self.world = World()
        self.flood = FloodControl(self.config.rate_limits, self.clock.monotonic)

    def bot(self, token: str) -> Bot:
        bot = self.bots.get(token)
        if bot is None:
            raise KeyError(token)
        return bot

    # ---- requests --------------------------------------------------------------------------------
    def handle(self, token: str, method: str, params: Mapping[str, str]) -> Reply | LongPoll:
        """Answer one Bot API request."""
        try:
            bot_id_from_token(token)
            bot = self.bots.get(token)
            if bot is None or bot.logged_out:
                # The real server would ask Telegram to log the bot in; an unknown token fails there.
                raise BotApiError(401, E.UNAUTHORIZED)
            name = method.lower()
            if not name:
                name = params.get("method", "").lower()
            handler = self._handlers.get(name)
            if handler is None:
                raise BotApiError(404, E.METHOD_NOT_FOUND)
            return handler(bot, params)
        except BotApiError as error:
            if error.code == 429:
                self.count("botapi.429")
            return Reply.failure(error)

    # ---- getUpdates and long polling ---------------------------------------------------------------
    def _get_updates(self, bot: Bot, params: Mapping[str, str]) -> Reply | LongPoll:
        if bot.webhook is not None:
            return self._conflict(bot, E.CONFLICT_WEBHOOK_ACTIVE, "webhook_active")
        offset = get_integer(params, "offset", 0, -(1 << 31), (1 << 31) - 1)
        limit = get_integer(params, "limit", 100, 1, 100)
        timeout = get_integer(params, "timeout", 0, 0, LONG_POLL_MAX_TIMEOUT)
        self._update_allowed_updates(bot, params)
        now = self.clock.monotonic()
        if self.config.repeated_poll_rules and offset == bot.previous_offset:
            if timeout < 3 and now < bot.previous_poll_time + 3.0:
                timeout = 3
            if now < bot.previous_poll_time + 0.5:
                limit = 1
        bot.previous_offset = offset
        bot.previous_poll_time = now
        return self._do_get_updates(bot, offset, limit, timeout)

    def _do_get_updates(self, bot: Bot, offset: int, limit: int, timeout: int) -> Reply | LongPoll:
        if offset < 0:
            while len(bot.queue) > -offset:
                bot.queue.popleft()
        if offset <= 0:
            offset = bot.head
        updates: list[dict[str, Any]] = []
        if bot.queue_created:
            if offset <= bot.tail + 10:
                while bot.queue and bot.queue[0].update_id < offset:
                    bot.queue.popleft()
            for update in bot.queue:
                if len(updates) == limit:
                    break
                updates.append(update.to_dict())
        if timeout and not updates:
            self._abort_long_poll(bot, from_set_webhook=False)
            poll = LongPoll(bot, offset, limit, timeout)
            bot.long_poll = poll
            return poll
        return Reply.success(updates)

    def expire_poll(self, poll: LongPoll) -> None:
        """The poll's timeout ran out: answer it with whatever is there (normally nothing)."""
        if poll.done:
            return
        bot = poll.bot
        if bot.long_poll is poll:
            bot.long_poll = None
        poll.resolve(self._do_get_updates(bot, poll.offset, poll.limit, 0))

    def _wake_long_poll(self, bot: Bot) -> None:
        poll = bot.long_poll
        if poll is not None:
            bot.long_poll = None
            poll.resolve(self._do_get_updates(bot, poll.offset, poll.limit, 0))

    def _abort_long_poll(self, bot: Bot, from_set_webhook: bool) -> None:
        poll = bot.long_poll
        if poll is None:
            return
        bot.long_poll = None
        if from_set_webhook:
            poll.resolve(self._conflict(bot, E.CONFLICT_SET_WEBHOOK, "set_webhook"))
        else:
            poll.resolve(self._conflict(bot, E.CONFLICT_OTHER_GETUPDATES, "other_getupdates"))

    def _conflict(self, bot: Bot, message: str, kind: str) -> Reply:
        self.count(f"botapi.409.{kind}")
        now = self.clock.monotonic()
        if now >= bot.next_conflict_time:
            bot.next_conflict_time = now + self.config.conflict_repeat_delay
            return Reply.failure(BotApiError(409, message))
        return Reply.failure(BotApiError(409, message), delay=self.config.conflict_repeat_delay)

    def _update_allowed_updates(self, bot: Bot, params: Mapping[str, str]) -> bool:
        """Client::update_allowed_update_types: an unparsable or empty list leaves the setting alone."""
        raw = params.get("allowed_updates")
        if not raw:
            return False
        try:
            value = json.loads(raw)
        except ValueError:
            return False
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            return False
        kinds = frozenset(item for item in value if item in UPDATE_TYPES)
        if not value:
            kinds = DEFAULT_ALLOWED
        if not kinds or kinds == bot.allowed_updates:
            return False
        bot.allowed_updates = kinds
        return True

    # ---- queueing updates --------------------------------------------------------------------------
    def push_update(self, bot: Bot, kind: str, payload: dict[str, Any], queue_key: int | None) -> Update | None:
        """Queue an update for a bot; filtered by allowed_updates at creation, as on Telegram's side."""
        if kind not in bot.allowed_updates:
            return None
        bot.queue_created = True
        update = Update(bot.tail, kind, payload, queue_key)
        bot.tail += 1
        bot.queue.append(update)
        if bot.webhook is None:
            self._wake_long_poll(bot)
        self.on_update_queued(bot, update)
        return update

    def confirm_update(self, bot: Bot, update_id: int) -> None:
        """A webhook delivery succeeded: drop that update from the queue."""
        for update in bot.queue:
            if update.update_id == update_id:
                bot.queue.remove(update)
                return

    # ---- the simulated world -------------------------------------------------------------------
    def _user_from(self, spec: Mapping[str, Any] | None) -> User:
        spec = spec or {}
        return self.world.user(spec.get("id"), spec.get("first_name"), spec.get("username"),
                               spec.get("last_name"), spec.get("language_code", "en"))

    def _chat_from(self, user: User, spec: Mapping[str, Any] | None, bot: Bot) -> Chat:
        if not spec or spec.get("type", "private") == "private":
            return self.world.private_chat(user)
        chat = self.world.group(spec.get("id"), spec.get("title"), spec.get("type") == "supergroup",
                                spec.get("username"))
        self.world.add_bot_to_group(bot.id, chat)
        return chat

    def inject_message(self, token: str, text: str, user: Mapping[str, Any] | None = None,
                       chat: Mapping[str, Any] | None = None, extra: Mapping[str, Any] | None = None
                       ) -> dict[str, Any]:
        """A user writes `text` to the bot (private chat by default, or the group given in `chat`).

        Returns the Update as the bot will see it (its update_id is None if allowed_updates filtered it).
        """
        bot = self.bot(token)
        sender = self._user_from(user)
        target = self._chat_from(sender, chat, bot)
        entities = command_entities(text) if text else []
        message = self.world.new_message(bot.id, target, sender.to_dict(), int(self.clock.time()), text, entities,
                                         extra=dict(extra or {}))
        update = self.push_update(bot, "message", message, target.id)
        return {"update_id": update.update_id if update else None, "message": message}

    def inject_callback_query(self, token: str, data: str | None, message_id: int | None = None,
                              user: Mapping[str, Any] | None = None, chat: Mapping[str, Any] | None = None
                              ) -> dict[str, Any]:
        """A user presses an inline button under the bot's message `message_id` in the chat."""
        bot = self.bot(token)
        sender = self._user_from(user)
        target = self._chat_from(sender, chat, bot)
        if target.type == "private":
            self.world.remember_private(bot.id, target.id)
        message = None
        if message_id is not None:
            message = self.world.find_message(bot.id, target.id, int(message_id))
            if message is None:
                raise KeyError(f"no message {message_id} in chat {target.id}")
        query = self.world.new_callback_query(bot.id, sender, target.id, message_id, data)
        payload: dict[str, Any] = {"id": query.id, "from": sender.to_dict()}
        if message is not None:
            payload["message"] = message
        payload["chat_instance"] = str(abs(hash((bot.id, target.id))) % 10**18)
        if data is not None:
            payload["data"] = data
        update = self.push_update(bot, "callback_query", payload, target.id)
        return {"update_id": update.update_id if update else None, "callback_query": payload}

    def sent(self, token: str) -> dict[int, list[dict[str, Any]]]:
        return self.world.sent_by(self.bot(token).id)

    # ---- argument helpers -----------------------------------------------------------------------
    def _chat(self, bot: Bot, params: Mapping[str, str]) -> Chat:
        chat_ref = params.get("chat_id", "")
        if not chat_ref:
            raise BotApiError(400, E.CHAT_ID_EMPTY)
        chat = self.world.resolve_chat(bot.id, chat_ref)
        if chat is None:
            raise BotApiError(400, E.CHAT_NOT_FOUND)
        return chat

    @staticmethod
    def _reply_markup(params: Mapping[str, str]) -> Any:
        try:
            present, markup = json_arg(params, "reply_markup")
        except ValueError:
            raise BotApiError.bad_request("Can't parse reply keyboard markup JSON object") from None
        if not present:
            return None
        if not isinstance(markup, dict):
            raise BotApiError.bad_request("Object expected as reply markup")
        keyboard = markup.get("inline_keyboard")
        if keyboard is not None and (not isinstance(keyboard, list)
                                     or not all(isinstance(row, list) for row in keyboard)):
            raise BotApiError.bad_request(
                'Field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
        return markup

    @staticmethod
    def _message_id(params: Mapping[str, str]) -> int:
        value = to_integer(params.get("message_id"), 32)
        return value if value > 0 else 0

    def _check_can_write(self, bot: Bot, chat: Chat) -> None:
        if chat.type == "private" and chat.user is not None and bot.id in chat.user.blocked_bots:
            raise BotApiError(403, "Forbidden: bot was blocked by the user")

    # ---- methods -----------------------------------------------------------------------------------
    def _get_me(self, bot: Bot, params: Mapping[str, str]) -> Reply:
        return Reply.success({
            **bot.user_dict(), "can_join_groups": True, "can_read_all_group_messages": True,
            "supports_inline_queries": False, "can_connect_to_business": False, "has_main_web_app": False,
        })

    def _send_message(self, bot: Bot, params: Mapping[str, str]) -> Reply:
        text = params.get("text", "")
        if not text:
            raise BotApiError(400, E.MESSAGE_TEXT_EMPTY)
        markup = self._reply_markup(params)
        chat = self._chat(bot, params)
        self._check_can_write(bot, chat)
        retry_after = self.flood.check(bot.id, chat.id, chat.is_group)
        if retry_after:
            raise BotApiError.retry_after(retry_after)
        message = self.world.new_message(bot.id, chat, bot.user_dict(), int(self.clock.time()), text,
                                         reply_markup=markup)
        entry = {"method": "sendMessage", "message_id": message["message_id"], "text": text}
        if markup is not None:
            entry["reply_markup"] = markup
        if params.get("parse_mode"):
            entry["parse_mode"] = params["parse_mode"]
        self.world.record(bot.id, chat.id, entry)
        return Reply.success(message)

    def _edit_message_text(self, bot: Bot, params: Mapping[str, str]) -> Reply:
        text = params.get("text", "")
        if not text:
            raise BotApiError(400, E.MESSAGE_TEXT_EMPTY)
        message_id = self._message_id(params)
        markup = self._reply_markup(params)
        if not params.get("chat_id") and message_id == 0:
            if not params.get("inline_message_id"):
                raise BotApiError(400, E.MESSAGE_IDENTIFIER_NOT_SPECIFIED)
            raise BotApiError(400, "Bad Request: MESSAGE_ID_INVALID")
        chat = self._chat(bot, params)
        message = self.world.find_message(bot.id, chat.id, message_id) if message_id else None
        if message is None:
            raise BotApiError(400, E.MESSAGE_TO_EDIT_NOT_FOUND)
        if message.get("from", {}).get("id") != bot.id:
            raise BotApiError(400, E.MESSAGE_CANT_BE_EDITED)
        if message.get("text") == text and message.get("reply_markup") == markup:
            raise BotApiError(400, E.MESSAGE_NOT_MODIFIED)
        message["text"] = text
        message["edit_date"] = int(self.clock.time())
        if markup is not None:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        entry = {"method": "editMessageText", "message_id": message_id, "text": text}
        if markup is not None:
            entry["reply_markup"] = markup
        self.world.record(bot.id, chat.id, entry)
        return Reply.success(message)

    def _delete_message(self, bot: Bot, params: Mapping[str, str]) -> Reply:
        if not params.get("chat_id"):
            raise BotApiError(400, E.CHAT_IDENTIFIER_NOT_SPECIFIED)
        message_id = self._message_id(params)
        if message_id == 0:
            raise BotApiError(400, E.MESSAGE_IDENTIFIER_NOT_SPECIFIED)
        chat = self._chat(bot, params)
        if not self.world.delete_message(bot.id, chat.id, message_id):
            raise BotApiError(400, E.MESSAGE_TO_DELETE_NOT_FOUND)
        self.world.record(bot.id, chat.id, {"method": "deleteMessage", "message_id": message_id})
        return Reply.success(True)

    def _answer_callback_query(self, bot: Bot, params: Mapping[str, str]) -> Reply:
        query_id = str(to_integer(params.get("callback_query_id")))
        query = self.world.callback_queries.get(query_id)
        if query is None or query.bot_id != bot.id or query.answered:
            raise BotApiError(400, E.QUERY_ID_INVALID)
        query.answered = True
        query.answer = {"text": params.get("text", ""), "show_alert": to_bool(params.get("show_alert")),
                        "url": params.get("url", "")}
        entry = {"method": "answerCallbackQuery", "callback_query_id": query_id, **query.answer}
        self.world.record(bot.id, query.chat_id if query.chat_id is not None else query.user.id, entry)
        return Reply.success(True)

    def _send_chat_action(self, bot: Bot, params: Mapping[str, str]) -> Reply:
        action = params.get("action", "").lower()
        if action not in CHAT_ACTIONS:
            raise BotApiError(400, E.WRONG_CHAT_ACTION)
        chat = self._chat(bot, params)
        self._check_can_write(bot, chat)
        self.world.record(bot.id, chat.id, {"method": "sendChatAction", "action": action})
        return Reply.success(True)

    def _get_chat(self, bot: Bot, params: Mapping[str, str]) -> Reply:
        return Reply.success(self._chat(bot, params).full_info())

    @staticmethod
    def _command_scope(params: Mapping[str, str]) -> str:
        raw = params.get("scope")
        if not raw:
            return "default"
        try:
            scope = json.loads(raw)
        except ValueError:
            raise BotApiError.bad_request("Can't parse BotCommandScope JSON object") from None
        if not isinstance(scope, dict):
            raise BotApiError.bad_request("Can't parse BotCommandScope: expected an Object")
        if "type" not in scope:
            raise BotApiError.bad_request('Can\'t parse BotCommandScope: Can\'t find field "type"')
        return json.dumps(scope, sort_keys=True)

    def _set_my_commands(self, bot: Bot, params: Mapping[str, str]) -> Reply:
        raw = params.get("commands")
        commands: list[dict[str, str]] = []
        if raw:
            try:
                value = json.loads(raw)
            except ValueError:
                raise BotApiError.bad_request("Can't parse commands JSON object") from None
            if not isinstance(value, list):
                raise BotApiError.bad_request("Expected an Array of BotCommand")
            for item in value:
                if not isinstance(item, dict):
                    raise BotApiError.bad_request("Can't parse BotCommand: expected an Object")
                for key in ("command", "description"):
                    if key not in item:
                        raise BotApiError.bad_request(f'Can\'t parse BotCommand: Can\'t find field "{key}"')
                    if not isinstance(item[key], (str, int, float)) or isinstance(item[key], bool):
                        raise BotApiError.bad_request(
                            f'Can\'t parse BotCommand: Field "{key}" must be of type String')
                commands.append({"command": str(item["command"]), "description": str(item["description"])})
        scope = self._command_scope(params)
        bot.commands[(scope, params.get("language_code", ""))] = commands
        return Reply.success(True)

    def _get_my_commands(self, bot: Bot, params: Mapping[str, str]) -> Reply:
        scope = self._command_scope(params)
        return Reply.success(bot.commands.get((scope, params.get("language_code", "")), []))

    def _delete_my_commands(self, bot: Bot, params: Mapping[str, str]) -> Reply:
        scope = self._command_scope(params)
        bot.commands.pop((scope, params.get("language_code", "")), None)
        return Reply.success(True)

    def _close(self, bot: Bot, params: Mapping[str, str]) -> Reply:
        # Closing answers a parked long poll with what is there (Client::close -> long_poll_wakeup(true)).
        self._wake_long_poll(bot)
        return Reply.success(True)

    def _log_out(self, bot: Bot, params: Mapping[str, str]) -> Reply:
        self._wake_long_poll(bot)
        bot.queue.clear()
        if bot.webhook is not None:
            bot.webhook = None
            self.on_webhook_changed(bot)
        bot.logged_out = True
        return Reply.success(True)

    # ---- webhooks --------------------------------------------------------------------------------
    def _set_webhook(self, bot: Bot, params: Mapping[str, str], is_set: bool) -> Reply:
        new_url = params.get("url", "") if is_set else ""
        now = self.clock.monotonic()
        if new_url:
            if now < bot.next_set_webhook_time:
                raise BotApiError.retry_after(1)
            bot.next_set_webhook_time = now + self.config.set_webhook_interval
        max_connections = (get_integer(params, "max_connections", self.config.default_max_connections, 1,
                                       MAX_CONCURRENT_MAX_CONNECTIONS) if new_url else 0)
        secret = params.get("secret_token", "") if new_url else ""
        ip_address = params.get("ip_address", "") if new_url else ""
        drop_pending = to_bool(params.get("drop_pending_updates"))
        current = bot.webhook
        if (current.url if current else "") == new_url and not drop_pending and (
                current is None or (current.max_connections == max_connections and current.secret_token == secret
                                    and current.ip_address == ip_address)):
            self._update_allowed_updates(bot, params)
            return Reply.success(True, "Webhook is already set" if new_url else "Webhook is already deleted")
        if new_url:
            self._abort_long_poll(bot, from_set_webhook=True)
        was_deleted = current is not None
        if current is not None:
            bot.webhook = None
            self.on_webhook_changed(bot)
        if drop_pending:
            bot.queue.clear()
        if not new_url:
            return Reply.success(True, "Webhook was deleted" if was_deleted else "Webhook is already deleted")
        parts = urlsplit(new_url if "://" in new_url else "https://" + new_url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise BotApiError(400, E.INVALID_WEBHOOK_URL)
        try:
            parts.port
        except ValueError:
            raise BotApiError(400, E.INVALID_WEBHOOK_URL) from None
        if len(secret) > 256:
            raise BotApiError(400, E.SECRET_TOKEN_TOO_LONG)
        if not _SECRET_CHARS.match(secret):
            raise BotApiError(400, E.SECRET_TOKEN_CHARS)
        bot.webhook = Webhook(new_url, secret, max_connections, ip_address, now)
        self._update_allowed_updates(bot, params)
        self.on_webhook_changed(bot)
        return Reply.success(True, "Webhook was set")

    def _get_webhook_info(self, bot: Bot, params: Mapping[str, str]) -> Reply:
        hook = bot.webhook
        info: dict[str, Any] = {"url": hook.url if hook else "", "has_custom_certificate": False,
                                "pending_update_count": len(bot.queue)}
        if hook is not None:
            if hook.last_error_date:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
            info["max_connections"] = hook.max_connections
            info["ip_address"] = hook.ip_address or "127.0.0.1"
        if bot.allowed_updates != DEFAULT_ALLOWED:
            info["allowed_updates"] = [kind for kind in UPDATE_TYPES if kind in bot.allowed_updates]
        return Reply.success(info)

    def webhook_error(self, bot: Bot, message: str) -> None:
        """The deliverer saw a failure: getWebhookInfo reports it (Client::webhook_error)."""
        if bot.webhook is not None:
            bot.webhook.last_error_date = int(self.clock.time())
            bot.webhook.last_error_message = message
