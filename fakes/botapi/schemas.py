"""Schemas of the Bot API fake's control routes (under /_control/botapi/); see control/schemas.py.

Ranges follow what Telegram itself allows where a value reaches a bot: user and chat ids fit in 52
bits (the Bot API's documented bound, so they survive a double in JavaScript clients), a text is
at most 4096 characters, callback data 1-64 bytes, names 1-64 characters.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, StringConstraints, field_validator, model_validator

from ..control.schemas import Body

Id52 = Annotated[int, Field(ge=-(2**52), le=2**52)]
Name64 = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Username = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]{1,32}$")]
# as ClientManager accepts a token: a bot id 1..2**54-1 with no leading zero, at most 80 characters
Token = Annotated[str, StringConstraints(max_length=80, pattern=r"^[1-9][0-9]{0,16}:[A-Za-z0-9_-]{1,62}$")]
Seconds = Annotated[float, Field(ge=0.0, le=3600.0)]


class BotBody(Body):
    token: Token | None = None
    username: Username | None = None
    first_name: Name64 | None = None

    @field_validator("token")
    @classmethod
    def _bot_id(cls, token: str | None) -> str | None:
        if token is not None and int(token.split(":", 1)[0]) >= 1 << 54:
            raise ValueError("the bot id must be below 2**54")
        return token


class UserSpec(Body):
    id: Annotated[int, Field(ge=1, le=2**52)] | None = None
    first_name: Name64 | None = None
    last_name: Name64 | None = None
    username: Username | None = None
    language_code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})?$")] | None = None


class ChatSpec(Body):
    type: Literal["private", "group", "supergroup"] = "private"
    # a private chat's id is the user's (positive), a group's or supergroup's negative
    id: Id52 | None = None
    title: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    username: Username | None = None

    @model_validator(mode="after")
    def _id_sign(self) -> "ChatSpec":
        if self.id is not None:
            if self.id == 0:
                raise ValueError("id: a chat id is not 0")
            if self.type == "private" and self.id < 0:
                raise ValueError("id: a private chat's id is positive (the user's id)")
            if self.type != "private" and self.id > 0:
                raise ValueError(f"id: a {self.type}'s id is negative")
        return self


class MessageBody(Body):
    text: Annotated[str, StringConstraints(max_length=4096)]
    user: UserSpec | None = None
    chat: ChatSpec | None = None
    # extra Message fields as the bot sees them (reply_to_message, entities...): any JSON object
    extra: dict[str, Any] | None = None


class CallbackQueryBody(Body):
    data: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    message_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    user: UserSpec | None = None
    chat: ChatSpec | None = None

    @field_validator("data")
    @classmethod
    def _bytes(cls, data: str | None) -> str | None:
        if data is not None and len(data.encode("utf-8", "surrogatepass")) > 64:
            raise ValueError("callback data is 1-64 bytes")
        return data


Window = Annotated[tuple[Annotated[int, Field(ge=1, le=1_000_000)], Annotated[float, Field(gt=0.0, le=86400.0)]],
                   BeforeValidator(lambda v: tuple(v) if isinstance(v, list) else v)]


# Fields a route reads as given: null is refused (a default here is never applied to the body the
# route reads, only an omitted field keeps the fake's value), except where null means "none".


class RateLimitsSpec(Body):
    enabled: bool = True
    per_chat: Window | None = None
    per_group: Window | None = None
    per_bot: Window | None = None


class ConfigBody(Body):
    conflict_repeat_delay: Seconds = 3.0
    repeated_poll_rules: bool = True
    set_webhook_interval: Seconds = 1.0
    default_max_connections: Annotated[int, Field(ge=1, le=100)] = 40
    webhook_backoff_base: Annotated[float, Field(ge=0.0, le=3600.0)] = 1.0
    webhook_backoff_cap: Annotated[float, Field(ge=0.0, le=3600.0)] = 60.0
    webhook_allow_remote: bool = False
    rate_limits: RateLimitsSpec = Field(default_factory=RateLimitsSpec)
    first_update_id: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0


#: (HTTP method, path under /_control/botapi, body schema) for every route that takes a body
ROUTE_SCHEMAS = [
    ("POST", "/bots", BotBody),
    ("POST", "/bots/{token}/messages", MessageBody),
    ("POST", "/bots/{token}/callback_queries", CallbackQueryBody),
    ("POST", "/config", ConfigBody),
]
#: routes without a body
GET_ROUTES = ["/bots", "/bots/{token}/sent", "/bots/{token}/updates"]
