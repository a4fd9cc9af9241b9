"""The MTProto fake's control routes, under /_control/mtproto/ (JSON in and out, the plane's envelope).

  POST /reset              {policy?, posts_per_channel?} fresh world and keys; closes connections
  GET  /world              users, bots and channels (ids, access hashes, pts, message counts)
  POST /users              {first_name?, username?, phone?} -> the new user
  POST /bots               {username?, first_name?} -> the new bot with its token
  POST /channels           {title, username?, about?, megagroup?} -> the new channel
  POST /sessions           {user_id? | username?, bot?, first_name?, ..., format?, path?, api_id?}
                           -> {format, session, path?, key_id, user, dc_id, host, port}: an auth
                           key the fake knows, signed in as that account (a new user, or a new
                           bot with bot=true, when none is named), in the client's own format
                           (minting.FORMATS: telethon (default), telethon-file, gramjs, pyrogram,
                           pyrogram-file); `session` is the string, or for a file format the
                           file's path. With format telethon and `path`, a Telethon .session
                           file is written there too.
  GET  /sessions           {formats: {name: description}, file_formats, layers}: what can be minted
  POST /channels/{channel}/messages  {text?} (channel = id or username) -> the post; connected
                           member clients get it as UpdateNewChannelMessage (text defaults to a
                           seeded crypto post)
  POST /messages           {from, to, text} (user ids or usernames) -> a private message; the
                           recipient's connected clients get it as UpdateNewMessage
  GET  /keys               auth keys: key_id, user_id, invalidated, open connections
  POST /revive             {key_id?} clear AUTH_KEY_DUPLICATED invalidation (one key or all)
  GET  /policy, POST /policy  {policy: "both" | "newer"} who gets 406 AUTH_KEY_DUPLICATED
  GET  /connections        open connections: conn id, user, key
  POST /connections/{conn}/close
  GET  /rsa                the test RSA public key (PKCS#1 PEM) and fingerprint, for clients in
                           other processes: telethon.crypto.rsa.add_key(pem, old=False)
  (GET /connections and POST /connections/{conn}/close are the kit's generic routes.)
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from ..control.http import fail, json_object, ok, read_json
from .core import POLICIES
from .keyexchange import test_key_fingerprint, test_public_key_pem
from .methods import DC_ID
from ..control.schemas import parse_body
from . import tl
from .minting import (
    API_ID, FILE_FORMATS, FORMATS, gramjs_session_string, pyrogram_session_string,
    session_string, write_pyrogram_session_file, write_session_file,
)
from .schemas import SessionBody
from .world import Account, ChannelRecord, WorldError


def account_json(account: Account) -> dict[str, Any]:
    return {
        "id": account.id, "access_hash": account.access_hash, "first_name": account.first_name,
        "username": account.username, "phone": account.phone, "bot": account.bot,
        "token": account.bot_token, "pts": account.pts,
    }


def channel_json(channel: ChannelRecord) -> dict[str, Any]:
    return {
        "id": channel.id, "access_hash": channel.access_hash, "title": channel.title,
        "username": channel.username, "megagroup": channel.megagroup, "pts": channel.pts,
        "messages": len(channel.messages), "top_message": channel.top_message,
    }


class MTProtoRoutes:
    def __init__(self, fake: Any) -> None:  # an MTProtoFake (fake.py imports this module)
        self.fake = fake

    @property
    def core(self):
        return self.fake.core

    @property
    def transport(self):
        return self.fake.transport

    @property
    def host(self) -> str:
        return self.fake.host

    @property
    def port(self) -> int:
        return self.fake.port

    # -- world helpers (loop thread) ------------------------------------------------------------

    def _account(self, ref: Any) -> Account:
        world = self.core.world
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
            return world.account(int(ref))
        found = world.resolve(str(ref)) if ref else None
        if not isinstance(found, Account):
            raise WorldError(400, "USERNAME_NOT_OCCUPIED")
        return found

    def _channel(self, ref: str) -> ChannelRecord:
        if ref.lstrip("-").isdigit():
            return self.core.world.channel(int(ref))
        found = self.core.world.resolve(ref)
        if not isinstance(found, ChannelRecord):
            raise WorldError(400, "CHANNEL_INVALID")
        return found

    # -- control routes -------------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/reset", self._route_reset),
            web.get("/world", self._route_world),
            web.post("/users", self._route_user),
            web.post("/bots", self._route_bot),
            web.post("/channels", self._route_channel),
            web.post("/sessions", self._route_session),
            web.get("/sessions", self._route_session_formats),
            web.post("/channels/{channel}/messages", self._route_post),
            web.post("/messages", self._route_message),
            web.get("/keys", self._route_keys),
            web.post("/revive", self._route_revive),
            web.get("/policy", self._route_policy),
            web.post("/policy", self._route_set_policy),
            web.get("/rsa", self._route_rsa),
        ]

    async def _body(self, request: web.Request) -> dict[str, Any]:
        return json_object(await read_json(request, default={}))

    @staticmethod
    def _world_error(exc: WorldError) -> web.Response:
        return fail(400, f"Bad Request: {exc.message}")

    async def _route_reset(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        await self.fake.reset(policy=body.get("policy"), posts_per_channel=body.get("posts_per_channel"))
        return ok(self.fake.stats())

    async def _route_world(self, request: web.Request) -> web.Response:
        world = self.core.world
        return ok({
            "users": [account_json(a) for a in world.accounts.values() if not a.bot],
            "bots": [account_json(a) for a in world.accounts.values() if a.bot],
            "channels": [channel_json(c) for c in world.channels.values()],
        })

    async def _route_user(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        try:
            account = self.core.world.create_user(body.get("first_name", "User"),
                                                  body.get("username"), body.get("phone"))
        except WorldError as exc:
            return self._world_error(exc)
        return ok(account_json(account))

    async def _route_bot(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        try:
            account = self.core.world.create_bot(body.get("username"), body.get("first_name", "Bot"))
        except WorldError as exc:
            return self._world_error(exc)
        return ok(account_json(account))

    async def _route_channel(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        if not body.get("title"):
            raise ValueError("title is required")
        try:
            channel = self.core.world.create_channel(body["title"], body.get("username"),
                                                     body.get("about", ""), bool(body.get("megagroup")))
        except WorldError as exc:
            return self._world_error(exc)
        return ok(channel_json(channel))

    async def _route_session_formats(self, request: web.Request) -> web.Response:
        return ok({"formats": FORMATS, "file_formats": sorted(FILE_FORMATS), "layers": list(tl.LAYERS)})

    async def _route_session(self, request: web.Request) -> web.Response:
        body = await parse_body(request, SessionBody)
        if body.format in FILE_FORMATS and not body.path:
            raise ValueError(f"path: required for format {body.format}")
        world = self.core.world
        try:
            if body.user_id is not None or body.username:
                account = self._account(body.user_id or body.username)
            elif body.bot:
                account = world.create_bot(body.new_username, body.first_name or "Bot")
            else:
                account = world.create_user(body.first_name or "User", body.new_username, body.phone)
        except WorldError as exc:
            return self._world_error(exc)
        if body.format == "gramjs":  # refuse before a key is minted for nothing
            gramjs_session_string(DC_ID, self.host, self.port, b"")
        record = self.core.mint_key(account)
        key, api_id = record.key, body.api_id or API_ID
        result: dict[str, Any] = {
            "format": body.format, "key_id": str(record.key_id), "user": account_json(account),
            "dc_id": DC_ID, "host": self.host, "port": self.port,
        }
        # sqlite is blocking: files are written off the loop so the fake keeps serving
        if body.format == "telethon":
            result["session"] = session_string(DC_ID, self.host, self.port, key)
            if body.path:
                result["path"] = await asyncio.to_thread(
                    write_session_file, body.path, DC_ID, self.host, self.port, key)
        elif body.format == "telethon-file":
            result["session"] = result["path"] = await asyncio.to_thread(
                write_session_file, body.path, DC_ID, self.host, self.port, key)
        elif body.format == "gramjs":
            result["session"] = gramjs_session_string(DC_ID, self.host, self.port, key)
        elif body.format == "pyrogram":
            result["session"] = pyrogram_session_string(DC_ID, api_id, key, account.id, account.bot)
        else:
            result["session"] = result["path"] = await asyncio.to_thread(
                write_pyrogram_session_file, body.path, DC_ID, self.host, self.port, key, api_id,
                account.id, account.bot)
        return ok(result)

    async def _route_post(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        try:
            channel = self._channel(request.match_info["channel"])
            message, deliveries = self.core.post_to_channel(
                channel.id, body.get("text") or self.core.world.crypto_post())
        except WorldError as exc:
            return self._world_error(exc)
        delivered = await self.transport.deliver(deliveries)
        return ok({"id": message.id, "pts": message.pts, "date": message.date, "text": message.text,
                   "channel_id": channel.id, "delivered": delivered})

    async def _route_message(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        if not body.get("text"):
            raise ValueError("text is required")
        try:
            sender = self._account(body.get("from"))
            recipient = self._account(body.get("to"))
            message, deliveries = self.core.send_private(sender.id, recipient.id, body["text"])
        except WorldError as exc:
            return self._world_error(exc)
        delivered = await self.transport.deliver(deliveries)
        return ok({"id": message.id, "pts": message.pts, "date": message.date,
                   "from": sender.id, "to": recipient.id, "delivered": delivered})

    async def _route_keys(self, request: web.Request) -> web.Response:
        return ok([{"key_id": str(r.key_id), "user_id": r.user_id, "invalidated": r.invalidated,
                    "minted": r.minted, "connections": sorted(r.conns)}
                   for r in self.core.keys.values()])

    async def _route_revive(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        key_id = body.get("key_id")
        return ok({"revived": self.core.revive(int(key_id) if key_id is not None else None)})

    async def _route_policy(self, request: web.Request) -> web.Response:
        return ok({"policy": self.core.policy})

    async def _route_set_policy(self, request: web.Request) -> web.Response:
        policy = (await self._body(request)).get("policy")
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}")
        self.core.policy = policy
        return ok({"policy": policy})

    async def _route_rsa(self, request: web.Request) -> web.Response:
        return ok({"pem": test_public_key_pem().decode(), "fingerprint": str(test_key_fingerprint())})
