"""The fake MTProto server as the runtime sees it: options, lifecycle, control routes.

Reset policy (the same for the Deriv and MTProto fakes): a reset is a new world, so it closes every
open client connection and waits (at most 2 s) until each one's disconnect is journaled, then starts
a new core; no key, session or pending answer of one test leaks into the next, and a reset journal
holds nothing of the connections before it. Each world's salts, session unique ids and minted keys
come from a generator seeded with (seed, number of the world), so runs repeat while keys minted in
one world never reappear in the next.

Control routes (under /_control/mtproto/, JSON in and out, the plane's envelope):
  POST /reset              {policy?, posts_per_channel?} fresh world and keys; closes connections
  GET  /world              users, bots and channels (ids, access hashes, pts, message counts)
  POST /users              {first_name?, username?, phone?} -> the new user
  POST /bots               {username?, first_name?} -> the new bot with its token
  POST /channels           {title, username?, about?, megagroup?} -> the new channel
  POST /sessions           {user_id? | username?, bot?, first_name?, ..., path?}
                           -> {session, path?, key_id, user}: an auth key the fake knows, signed
                           in as that account (a new user, or a new bot with bot=true, when none
                           is named); `session` is a Telethon StringSession string and, with
                           `path`, a Telethon .session SQLite file is written there too
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
"""

from __future__ import annotations

import argparse
import asyncio
import random
from typing import Any

from aiohttp import web

from ..control.fake import Fake
from ..control.http import json_object, ok, read_json
from ..control.plane import ControlPlane
from .core import POLICIES, MTProtoCore
from .keyexchange import test_key_fingerprint, test_public_key_pem
from .rpc import DC_ID
from .minting import session_string, write_session_file
from .transport import MTProtoTransport
from .world import Account, ChannelRecord, World, WorldError


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


class MTProtoFake(Fake):
    name = "mtproto"
    default_port = 8443

    def __init__(self, plane: ControlPlane, *, policy: str = "both", seed: int | None = None,
                 posts_per_channel: int = 40, **options: Any) -> None:
        super().__init__(plane, **options)
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}")
        self.seed = plane.seed if seed is None else seed
        self.default_policy = policy
        self.posts_per_channel = posts_per_channel
        self._worlds = 0
        self.core = MTProtoCore(self._new_world(), policy=policy, rng=self._new_rng())
        self.transport = MTProtoTransport(plane, self.core)

    def _new_rng(self) -> random.Random:
        self._worlds += 1
        return random.Random(f"{self.seed}:mtproto:{self._worlds}")

    def _new_world(self) -> World:
        world = World(seed=self.seed)
        world.seed_default(self.posts_per_channel)
        return world

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self, host: str, port: int) -> None:
        self.port = await self.transport.start(host, port)
        self.host = host

    async def stop(self) -> None:
        await self.transport.stop()

    @property
    def url(self) -> str:
        return f"tcp://{self.host}:{self.port}"

    def info(self) -> dict[str, Any]:
        return {"url": self.url, "host": self.host, "port": self.port, "dc_id": DC_ID,
                "rsa_fingerprint": test_key_fingerprint()}

    async def reset(self, *, policy: str | None = None, posts_per_channel: int | None = None) -> None:
        if policy is not None and policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}")
        if posts_per_channel is not None:
            self.posts_per_channel = posts_per_channel
        # Close every connection and wait until their tasks have ended (and journaled their
        # disconnects), so a reset journal is clean; the new core starts without them so a reset
        # can never leave a key half-used by a previous test.
        serving = self.transport.close_all()
        if serving:
            await asyncio.wait(serving, timeout=2.0)
        self.core = MTProtoCore(self._new_world(), policy=policy or self.default_policy,
                                port=self.port, rng=self._new_rng())
        self.transport.core = self.core

    def stats(self) -> dict[str, Any]:
        return {**self.core.stats, "connections": len(self.transport.connection_ids()),
                "keys": len(self.core.keys), "policy": self.core.policy}

    @classmethod
    def add_cli_arguments(cls, group: argparse._ArgumentGroup) -> None:
        group.add_argument("--mtproto-policy", choices=POLICIES, default="both",
                           help="who gets 406 AUTH_KEY_DUPLICATED: both connections "
                                "(Telegram) or the newer one only")
        group.add_argument("--mtproto-posts", type=int, default=40,
                           help="seeded posts per crypto channel (default 40)")

    @classmethod
    def options_from_args(cls, args: argparse.Namespace) -> dict[str, Any]:
        return {"policy": args.mtproto_policy, "posts_per_channel": args.mtproto_posts}

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

    def control_routes(self) -> list[web.RouteDef]:
        return [
            web.post("/reset", self._route_reset),
            web.get("/world", self._route_world),
            web.post("/users", self._route_user),
            web.post("/bots", self._route_bot),
            web.post("/channels", self._route_channel),
            web.post("/sessions", self._route_session),
            web.post("/channels/{channel}/messages", self._route_post),
            web.post("/messages", self._route_message),
            web.get("/keys", self._route_keys),
            web.post("/revive", self._route_revive),
            web.get("/policy", self._route_policy),
            web.post("/policy", self._route_set_policy),
            web.get("/connections", self._route_connections),
            web.post("/connections/{conn}/close", self._route_close),
            web.get("/rsa", self._route_rsa),
        ]

    async def _body(self, request: web.Request) -> dict[str, Any]:
        return json_object(await read_json(request, default={}))

    @staticmethod
    def _world_error(exc: WorldError) -> web.Response:
        from ..control.http import fail
        return fail(400, f"Bad Request: {exc.message}")

    async def _route_reset(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        await self.reset(policy=body.get("policy"), posts_per_channel=body.get("posts_per_channel"))
        return ok(self.stats())

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

    async def _route_session(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        world = self.core.world
        try:
            if body.get("user_id") is not None or body.get("username"):
                account = self._account(body.get("user_id") or body.get("username"))
            elif body.get("bot"):
                account = world.create_bot(body.get("new_username"), body.get("first_name", "Bot"))
            else:
                account = world.create_user(body.get("first_name", "User"), body.get("new_username"),
                                            body.get("phone"))
        except WorldError as exc:
            return self._world_error(exc)
        record = self.core.mint_key(account)
        result = {
            "session": session_string(DC_ID, self.host, self.port, record.key),
            "key_id": str(record.key_id), "user": account_json(account),
            "dc_id": DC_ID, "host": self.host, "port": self.port,
        }
        if body.get("path"):
            # sqlite is blocking: write the file off the loop so the fake keeps serving
            result["path"] = await asyncio.to_thread(
                write_session_file, str(body["path"]), DC_ID, self.host, self.port, record.key)
        return ok(result)

    async def _route_post(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        try:
            channel = self._channel(request.match_info["channel"])
            message, deliveries = self.core.post_to_channel(
                channel.id, body.get("text") or self.core.world.crypto_post())
        except WorldError as exc:
            return self._world_error(exc)
        delivered = self.transport.deliver(deliveries)
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
        delivered = self.transport.deliver(deliveries)
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

    async def _route_connections(self, request: web.Request) -> web.Response:
        out = []
        for conn_id in self.transport.connection_ids():
            protocol = self.core.connections.get(conn_id)
            record = protocol.record if protocol else None
            out.append({"conn": conn_id, "transport": protocol.codec.mode if protocol else None,
                        "key_id": str(record.key_id) if record else None,
                        "user_id": record.user_id if record else None})
        return ok(out)

    async def _route_close(self, request: web.Request) -> web.Response:
        conn = request.match_info["conn"]
        if not self.transport.close_connection(conn):
            raise KeyError(f"no open connection {conn}")
        return ok()

    async def _route_rsa(self, request: web.Request) -> web.Response:
        return ok({"pem": test_public_key_pem().decode(), "fingerprint": str(test_key_fingerprint())})
