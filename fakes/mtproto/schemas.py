"""Schemas of the MTProto fake's control routes (under /_control/mtproto/); see control/schemas.py.

What Telegram allows where the value reaches a client: names 1-64 characters, usernames 5-32 of
[A-Za-z0-9_] starting with a letter, a message 1-4096 characters, phone numbers as digits.
A wrongly typed name would otherwise be serialized into a TL User that Telethon cannot read, and
its calls would go unanswered.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, StringConstraints

from ..control.schemas import Body

Name = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Username = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]{3,31}$")]
Phone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{5,15}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=4096)]
UserId = Annotated[int, Field(ge=1, le=2**52)]
AccountRef = Union[UserId, Username, Annotated[str, StringConstraints(pattern=r"^[0-9]{1,16}$")]]


class ResetBody(Body):
    policy: Literal["both", "newer"] | None = None
    posts_per_channel: Annotated[int, Field(ge=0, le=1000)] | None = None


class UserBody(Body):
    first_name: Name = "User"
    username: Username | None = None
    phone: Phone | None = None


class BotBody(Body):
    username: Username | None = None
    first_name: Name = "Bot"


class ChannelBody(Body):
    title: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    username: Username | None = None
    about: Annotated[str, StringConstraints(max_length=255)] = ""
    megagroup: bool = False


class SessionBody(Body):
    user_id: UserId | None = None
    username: Username | None = None
    bot: bool = False
    first_name: Name = "User"
    new_username: Username | None = None
    phone: Phone | None = None
    path: Annotated[str, StringConstraints(min_length=1, max_length=4096)] | None = None
    # the client whose session format to mint (minting.FORMATS); file formats need `path`
    format: Literal["telethon", "telethon-file", "gramjs", "pyrogram", "pyrogram-file"] = "telethon"
    # Pyrogram/Kurigram keep the app's api_id in the session
    api_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None


class PostBody(Body):
    text: Text | None = None


class MessageBody(Body):
    model_config = Body.model_config | {"populate_by_name": True}

    sender: AccountRef = Field(alias="from")
    to: AccountRef
    text: Text


class ReviveBody(Body):
    key_id: Annotated[int, Field(ge=-(2**63), le=2**64 - 1)] | Annotated[
        str, StringConstraints(pattern=r"^-?[0-9]{1,20}$")] | None = None


class PolicyBody(Body):
    policy: Literal["both", "newer"]


class CloseBody(Body):
    pass


ROUTE_SCHEMAS = [
    ("POST", "/reset", ResetBody),
    ("POST", "/users", UserBody),
    ("POST", "/bots", BotBody),
    ("POST", "/channels", ChannelBody),
    ("POST", "/sessions", SessionBody),
    ("POST", "/channels/{channel}/messages", PostBody),
    ("POST", "/messages", MessageBody),
    ("POST", "/revive", ReviveBody),
    ("POST", "/policy", PolicyBody),
]
GET_ROUTES = ["/world", "/sessions", "/keys", "/policy", "/connections", "/rsa"]
