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
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

from ..control.clock import Clock
from ..control.journal import UNSUPPORTED
from . import errors as E
from .errors import BotApiError
from .params import get_integer, json_loads, to_bool
from .ratelimit import FloodControl
from .world import Chat, User, World, command_entities

from .methods import BotApiMethods
from .state import (  # noqa: F401  (re-exported: the records tests and the transport name)
    CANONICAL_METHOD, CHAT_ACTIONS, DEFAULT_ALLOWED, LONG_POLL_MAX_TIMEOUT,
    MAX_CONCURRENT_MAX_CONNECTIONS, METHODS, UPDATE_TYPES, _SECRET_CHARS, Bot, BotApiConfig,
    LongPoll, Reply, Update, Webhook, bot_id_from_token, canonical_method,
)


class BotApiCore(BotApiMethods):
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
                reply = Reply.failure(BotApiError(404, E.METHOD_NOT_FOUND))
                reply.flag = UNSUPPORTED
                return reply
            return handler(bot, params)
        except BotApiError as error:
            if error.code == 429:
                self.count("botapi.429")
            return Reply.failure(error)

    def fault_reply(self, error: Mapping[str, Any]) -> Reply:
        """A fault rule's `error` as the Bot API answers it (the error-mapping hook):
        {"error_code": 429, "description": "Too Many Requests: retry after 5",
         "parameters": {"retry_after": 5}} -> that envelope, with a Retry-After header."""
        code = int(error.get("error_code", 500))
        parameters = error.get("parameters")
        if code == 429:
            self.count("botapi.429")
        return Reply.failure(BotApiError(code, str(error.get("description", "")),
                                         dict(parameters) if isinstance(parameters, dict) else {}))

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
            value = json_loads(raw)  # depth-limited as td's json_decode (params.py)
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
        try:  # "http://[x" and the like do not parse at all ("Invalid IPv6 URL")
            parts = urlsplit(new_url if "://" in new_url else "https://" + new_url)
            parts.port
        except ValueError:
            raise BotApiError(400, E.INVALID_WEBHOOK_URL) from None
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise BotApiError(400, E.INVALID_WEBHOOK_URL)
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
