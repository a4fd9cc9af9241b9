"""The simulated Telegram world as the dashboard shows it: each bot, its chats, both sides of them.

Read on the fakes' loop from the Bot API fake's world (messages are kept per bot and chat; the
bot's other actions, e.g. answerCallbackQuery, come from its per-chat record). Bounded: the last
MESSAGES_PER_CHAT messages and ACTIONS_PER_CHAT actions of each chat.
"""

from __future__ import annotations

from itertools import islice
from typing import Any, Mapping

MESSAGES_PER_CHAT = 40
ACTIONS_PER_CHAT = 12
MAX_CHATS = 50


def _last(values, n: int) -> list:
    """The last n of a dict's values or a list, without walking the rest (a chat may be long)."""
    return list(islice(reversed(values), n))[::-1]


def world_snapshot(fakes: Mapping[str, Any]) -> dict[str, Any]:
    fake = fakes.get("botapi")
    if fake is None:
        return {"bots": []}
    core = fake.core
    world = core.world
    bots = []
    for bot in core.bots.values():
        chats = []
        for (bot_id, chat_id), messages in islice(
                ((k, v) for k, v in world.messages.items() if k[0] == bot.id), MAX_CHATS):
            chat = world.chats.get(chat_id)
            actions = [a for a in _last(world.sent_by(bot.id).get(chat_id, []), ACTIONS_PER_CHAT * 3)
                       if a.get("method") not in ("sendMessage", "editMessageText")][-ACTIONS_PER_CHAT:]
            chats.append({
                "id": chat_id,
                "type": chat.type if chat else "private",
                "title": (chat.title if chat and chat.title else
                          (chat.user.first_name if chat and chat.user else str(chat_id))),
                "user": chat.user.to_dict() if chat and chat.user else None,
                "messages": _last(messages.values(), MESSAGES_PER_CHAT),
                "message_count": len(messages),
                "actions": actions,
            })
        bots.append({
            "token": bot.token, "id": bot.id, "username": bot.username,
            "first_name": bot.first_name, "webhook": bot.webhook.url if bot.webhook else "",
            "polling": bot.long_poll is not None, "pending_update_count": len(bot.queue),
            "chats": chats,
        })
    return {"bots": bots}
