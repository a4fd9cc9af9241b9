"""The simulated side of Telegram: users, chats, the messages in them, and what each bot sent.

Users talk to bots in private chats (chat id = user id, as in Telegram) or in groups (negative ids).
A bot can reach a private chat only after the user wrote to it, and a group only while it is a member,
as on the real service; anything else is `chat not found`. Every message and action a bot performs is
recorded per chat, so a test can read back exactly what the bot did.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_COMMAND = re.compile(r"(?<![^\s])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def command_entities(text: str) -> list[dict[str, Any]]:
    """bot_command entities for every /command in the text, offsets in UTF-16 code units as Telegram's."""
    entities = []
    for match in _COMMAND.finditer(text):
        entities.append({"offset": utf16_len(text[: match.start()]), "length": utf16_len(match.group(0)),
                         "type": "bot_command"})
    return entities


@dataclass
class User:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "en"
    is_bot: bool = False
    blocked_bots: set[int] = field(default_factory=set)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code and not self.is_bot:
            data["language_code"] = self.language_code
        return data


@dataclass
class Chat:
    id: int
    type: str  # "private" | "group" | "supergroup"
    title: str | None = None
    username: str | None = None
    user: User | None = None
    bot_members: set[int] = field(default_factory=set)

    @property
    def is_group(self) -> bool:
        return self.type in ("group", "supergroup")

    def to_dict(self) -> dict[str, Any]:
        if self.type == "private" and self.user is not None:
            data: dict[str, Any] = {"id": self.id, "first_name": self.user.first_name}
            if self.user.last_name:
                data["last_name"] = self.user.last_name
            if self.user.username:
                data["username"] = self.user.username
            data["type"] = "private"
            return data
        data = {"id": self.id, "title": self.title or ""}
        if self.username:
            data["username"] = self.username
        data["type"] = self.type
        if self.type == "group":
            data["all_members_are_administrators"] = True
        return data

    def full_info(self) -> dict[str, Any]:
        """getChat's ChatFullInfo: the basic chat plus the fields the API marks as always present."""
        data = self.to_dict()
        data.pop("all_members_are_administrators", None)
        data["accent_color_id"] = self.id % 7 if self.id > 0 else 0
        data["max_reaction_count"] = 11
        data["accepted_gift_types"] = {"unlimited_gifts": False, "limited_gifts": False, "unique_gifts": False,
                                       "premium_subscription": False, "gifts_from_channels": False}
        return data


@dataclass
class CallbackQuery:
    id: str
    bot_id: int
    user: User
    chat_id: int | None
    message_id: int | None
    data: str | None
    answered: bool = False
    answer: dict[str, Any] | None = None


class World:
    def __init__(self) -> None:
        self.users: dict[int, User] = {}
        self.chats: dict[int, Chat] = {}
        self.messages: dict[tuple[int, int], dict[int, dict[str, Any]]] = {}
        self._last_message_id: dict[tuple[int, int], int] = {}
        self.sent: dict[int, dict[int, list[dict[str, Any]]]] = {}
        self.callback_queries: dict[str, CallbackQuery] = {}
        self._known_private: set[tuple[int, int]] = set()
        self._next_user_id = 100_000_001
        self._next_group_id = 1_000_001
        self._next_callback = 4_000_000_000_000_000_001

    # ---- users and chats -------------------------------------------------------------------------
    def user(self, user_id: int | None = None, first_name: str | None = None, username: str | None = None,
             last_name: str | None = None, language_code: str | None = "en") -> User:
        if user_id is None:
            user_id = self._next_user_id
            self._next_user_id += 1
        existing = self.users.get(user_id)
        if existing is not None:
            return existing
        user = User(user_id, first_name or f"User{user_id}", last_name, username, language_code)
        self.users[user_id] = user
        return user

    def private_chat(self, user: User) -> Chat:
        chat = self.chats.get(user.id)
        if chat is None:
            chat = self.chats[user.id] = Chat(user.id, "private", user=user)
        return chat

    def group(self, chat_id: int | None = None, title: str | None = None, supergroup: bool = False,
              username: str | None = None) -> Chat:
        if chat_id is None:
            base = self._next_group_id
            self._next_group_id += 1
            chat_id = -(1_000_000_000_000 + base) if supergroup else -base
        chat = self.chats.get(chat_id)
        if chat is None:
            chat = Chat(chat_id, "supergroup" if supergroup else "group", title=title or f"Group {-chat_id}",
                        username=username)
            self.chats[chat_id] = chat
        return chat

    def add_bot_to_group(self, bot_id: int, chat: Chat) -> None:
        chat.bot_members.add(bot_id)

    def resolve_chat(self, bot_id: int, chat_ref: str) -> Chat | None:
        """The chat a bot may address by `chat_id` (a number or @username), or None = chat not found."""
        if chat_ref.startswith("@"):
            name = chat_ref[1:].lower()
            for chat in self.chats.values():
                if chat.type == "supergroup" and chat.username and chat.username.lower() == name:
                    return chat if bot_id in chat.bot_members else None
            return None
        from .params import to_integer

        chat = self.chats.get(to_integer(chat_ref))
        if chat is None or not self.can_access(bot_id, chat):
            return None
        return chat

    def remember_private(self, bot_id: int, chat_id: int) -> None:
        """The user of private chat `chat_id` has talked to the bot, so the bot may write there."""
        self._known_private.add((bot_id, chat_id))

    def can_access(self, bot_id: int, chat: Chat) -> bool:
        if chat.type == "private":
            return (bot_id, chat.id) in self._known_private
        return bot_id in chat.bot_members

    # ---- messages ------------------------------------------------------------------------------
    def new_message(self, bot_id: int, chat: Chat, sender: dict[str, Any], date: int, text: str | None,
                    entities: list | None = None, reply_markup: Any = None,
                    extra: dict[str, Any] | None = None) -> dict[str, Any]:
        key = (bot_id, chat.id)
        if chat.type == "private":
            self.remember_private(bot_id, chat.id)
        elif not sender.get("is_bot"):
            # A user writing in a group the bot is in; the bot must be a member to see it.
            chat.bot_members.add(bot_id)
        message_id = self._last_message_id.get(key, 0) + 1
        self._last_message_id[key] = message_id
        message: dict[str, Any] = {"message_id": message_id, "from": sender, "chat": chat.to_dict(), "date": date}
        if extra:
            message.update(extra)
        if text is not None:
            message["text"] = text
        if entities:
            message["entities"] = entities
        if reply_markup is not None:
            message["reply_markup"] = reply_markup
        self.messages.setdefault(key, {})[message_id] = message
        return message

    def find_message(self, bot_id: int, chat_id: int, message_id: int) -> dict[str, Any] | None:
        return self.messages.get((bot_id, chat_id), {}).get(message_id)

    def delete_message(self, bot_id: int, chat_id: int, message_id: int) -> bool:
        return self.messages.get((bot_id, chat_id), {}).pop(message_id, None) is not None

    def record(self, bot_id: int, chat_id: int, entry: dict[str, Any]) -> None:
        self.sent.setdefault(bot_id, {}).setdefault(chat_id, []).append(entry)

    def sent_by(self, bot_id: int) -> dict[int, list[dict[str, Any]]]:
        return self.sent.get(bot_id, {})

    # ---- callback queries ----------------------------------------------------------------------
    def new_callback_query(self, bot_id: int, user: User, chat_id: int | None, message_id: int | None,
                           data: str | None) -> CallbackQuery:
        query_id = str(self._next_callback)
        self._next_callback += 1
        query = CallbackQuery(query_id, bot_id, user, chat_id, message_id, data)
        self.callback_queries[query_id] = query
        return query
