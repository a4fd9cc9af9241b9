"""The Bot API methods the fake answers besides getUpdates and the webhook calls (core.py):
getMe, sendMessage, editMessageText, deleteMessage, answerCallbackQuery, sendChatAction,
getChat, the bot-command methods, close and logOut, with their argument rules.

A mixin of BotApiCore: each method takes the bot and the request's parameters (strings) and
returns a Reply, or raises BotApiError with the real server's code and text.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from . import errors as E
from .errors import BotApiError
from .params import json_arg, json_loads, to_bool, to_integer
from .state import CHAT_ACTIONS, Bot, Reply
from .world import Chat



# A message text is at most 4096 characters after entity parsing; Telegram counts UTF-16 code units
# (an emoji outside the BMP is two), as its entity offsets do.
MAX_TEXT_LENGTH = 4096


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2

class BotApiMethods:
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

    @staticmethod
    def _message_text(params: Mapping[str, str]) -> str:
        """The `text` of sendMessage and editMessageText: present, and within the length limit."""
        text = params.get("text", "")
        if not text:
            raise BotApiError(400, E.MESSAGE_TEXT_EMPTY)
        if _utf16_length(text) > MAX_TEXT_LENGTH:
            raise BotApiError(400, E.MESSAGE_TOO_LONG)
        return text

    # ---- methods -----------------------------------------------------------------------------------
    def _get_me(self, bot: Bot, params: Mapping[str, str]) -> Reply:
        return Reply.success({
            **bot.user_dict(), "can_join_groups": True, "can_read_all_group_messages": True,
            "supports_inline_queries": False, "can_connect_to_business": False, "has_main_web_app": False,
        })

    def _send_message(self, bot: Bot, params: Mapping[str, str]) -> Reply:
        text = self._message_text(params)
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
        text = self._message_text(params)
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
            scope = json_loads(raw)
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
                value = json_loads(raw)
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
