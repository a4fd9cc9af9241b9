"""Reply envelopes and the exact error texts of the Telegram Bot API server.

Texts are the ones tdlib/telegram-bot-api produces (Client.cpp, HttpConnection.cpp, ClientManager.cpp,
td/net/HttpReader.cpp). `BotApiError.bad_request` applies the server's own wording rule
(`Client::fail_query_with_error`): an internal message such as `Message text is empty` becomes
`Bad Request: message text is empty` (first letter lowered unless the message is an UPPER_CASE code).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# 401 / 404 from the HTTP front and the client manager.
UNAUTHORIZED = "Unauthorized"
INVALID_TOKEN = "Unauthorized: invalid token specified"
NOT_FOUND = "Not Found"
METHOD_NOT_FOUND = "Not Found: method not found"

# 409s (Client::abort_long_poll, Client::process_get_updates_query, Client::process_set_webhook_query).
CONFLICT_OTHER_GETUPDATES = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)
CONFLICT_WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)
CONFLICT_SET_WEBHOOK = "Conflict: terminated by setWebhook request"

# 400s.
CHAT_NOT_FOUND = "Bad Request: chat not found"
CHAT_ID_EMPTY = "Bad Request: chat_id is empty"
MESSAGE_TEXT_EMPTY = "Bad Request: message text is empty"
MESSAGE_TOO_LONG = "Bad Request: message is too long"
MESSAGE_TO_EDIT_NOT_FOUND = "Bad Request: message to edit not found"
MESSAGE_TO_DELETE_NOT_FOUND = "Bad Request: message to delete not found"
MESSAGE_CANT_BE_EDITED = "Bad Request: message can't be edited"
MESSAGE_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as "
    "a current content and reply markup of the message"
)
CHAT_IDENTIFIER_NOT_SPECIFIED = "Bad Request: chat identifier is not specified"
MESSAGE_IDENTIFIER_NOT_SPECIFIED = "Bad Request: message identifier is not specified"
QUERY_ID_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
WRONG_CHAT_ACTION = "Bad Request: wrong parameter action in request"
INVALID_WEBHOOK_URL = "Bad Request: invalid webhook URL specified"
SECRET_TOKEN_CHARS = "Bad Request: secret token contains unallowed characters"
SECRET_TOKEN_TOO_LONG = "Bad Request: secret token is too long"
BOT_ALREADY_CLOSED = "Bad Request: the bot has already been closed"

# 413 from the HTTP reader (parameters over 1 MiB) as Telegram's front end reports it.
REQUEST_TOO_LARGE = "Request Entity Too Large"

_PREFIXES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 500: "Internal Server Error"}


def too_many_requests(retry_after: int) -> str:
    return f"Too Many Requests: retry after {retry_after}"


@dataclass
class BotApiError(Exception):
    """An error reply: the HTTP status equals `code`; `parameters` appear only when non-empty."""

    code: int
    description: str
    parameters: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        Exception.__init__(self, self.code, self.description)

    def envelope(self) -> dict[str, Any]:
        return error_envelope(self.code, self.description, self.parameters)

    @classmethod
    def bad_request(cls, message: str) -> "BotApiError":
        """Word an internal 400 message the way Client::fail_query_with_error does."""
        return cls(400, prefixed(400, message))

    @classmethod
    def retry_after(cls, seconds: int) -> "BotApiError":
        seconds = max(1, int(seconds))
        return cls(429, too_many_requests(seconds), {"retry_after": seconds})


def prefixed(code: int, message: str) -> str:
    prefix = _PREFIXES.get(code, "Bad Request")
    if message.startswith(prefix):
        return message
    if not message:
        return prefix
    if len(message) >= 2 and (message[1] == "_" or "A" <= message[1] <= "Z"):
        return f"{prefix}: {message}"
    return f"{prefix}: {message[0].lower()}{message[1:]}"


def ok_envelope(result: Any, description: str | None = None) -> dict[str, Any]:
    reply: dict[str, Any] = {"ok": True, "result": result}
    if description:
        reply["description"] = description
    return reply


def error_envelope(code: int, description: str, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    reply: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        reply["parameters"] = dict(parameters)
    return reply
