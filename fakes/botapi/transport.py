"""HTTP transport of the fake Bot API: aiohttp in front of the sans-I/O core.

`/bot<token>/<method>` by GET or POST, with parameters from the query string and an urlencoded,
multipart or JSON body (the query string wins on a clash, as `Query::arg` takes the first). Paths are
read the way HttpConnection.cpp reads them: no `/bot` prefix or no `/` after the token is `404 Not
Found`. Each request passes the shared control plane (journal, gates, faults) before the core answers.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import errors as E
from .core import BotApiCore, LongPoll, Reply, bot_id_from_token, canonical_method
from .errors import BotApiError, error_envelope
from .params import MAX_PARAMS_BYTES, parse_body, parse_urlencoded

if TYPE_CHECKING:
    from botfakes.fakes.control.plane import ControlPlane

FAKE = "botapi"
MAX_MULTIPART_BYTES = 50 << 20  # Telegram's upload limit for bots
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def json_response(reply: Reply) -> web.Response:
    return web.Response(body=_dumps(reply.body).encode(), status=reply.status,
                        content_type="application/json", headers=reply.headers or None)


def error_response(code: int, description: str, parameters: dict | None = None) -> web.Response:
    return json_response(Reply(code, error_envelope(code, description, parameters)))


def outcome_of(reply: Reply) -> dict[str, Any]:
    if reply.status == 200:
        return {"ok": True}
    return {"ok": False, "code": reply.status, "text": reply.body.get("description", "")}


class _Connection:
    """One client TCP connection as the journal knows it (keep-alive requests share it)."""

    __slots__ = ("conn", "peer", "generation", "lost")

    def __init__(self, conn: str, peer: str, generation: int) -> None:
        self.conn = conn
        self.peer = peer
        self.generation = generation  # the world its "connect" event was journaled in
        self.lost = asyncio.Event()  # set when the client's TCP connection has closed


class BotApiHttp:
    """The request handler; one per fake, bound to its core and the runtime's control plane."""

    def __init__(self, core: BotApiCore, plane: "ControlPlane", max_params_bytes: int = MAX_PARAMS_BYTES) -> None:
        self.core = core
        self.plane = plane
        self.max_params_bytes = max_params_bytes
        # keyed by the connection's aiohttp protocol object (one RequestHandler per TCP connection);
        # an entry leaves when aiohttp reports the connection lost (see observe())
        self._conns: dict[Any, _Connection] = {}
        # Bumped by a reset: a reply that was still waiting then (a parked poll, a delayed 409) belongs
        # to the test before, so it is sent but kept out of the new journal.
        self.generation = 0
        # set when requests held unanswered by a "drop" rule must let go (reset, stop)
        self._release_dropped = asyncio.Event()

    def observe(self, server: web.Server) -> None:
        """Hear of every closed client connection from aiohttp's low-level server, to journal it."""
        forward = server.connection_lost

        def connection_lost(handler: Any, exc: BaseException | None = None) -> None:
            forward(handler, exc)
            self.connection_lost(handler)

        server.connection_lost = connection_lost  # type: ignore[method-assign]

    def connection_lost(self, handler: Any) -> None:
        state = self._conns.pop(handler, None)
        if state is None:
            return  # never carried a Bot API request (e.g. a /_control/ client): not journaled
        state.lost.set()
        if state.generation == self.generation:
            self.plane.journal.record(FAKE, "disconnect", conn=state.conn, data={"peer": state.peer})

    def new_world(self) -> None:
        """A reset: later replies to earlier requests stay out of the journal; dropped requests let go."""
        self.generation += 1
        self._release_dropped.set()
        self._release_dropped = asyncio.Event()

    def release_dropped(self) -> None:
        self._release_dropped.set()

    def conn_id(self, request: web.Request) -> str:
        handler = request.protocol
        state = self._conns.get(handler)
        if state is None:
            transport = request.transport
            if transport is None:
                return f"{FAKE}#?"
            # host:port, so that the scenario harness can tell which bot process this is
            peername = transport.get_extra_info("peername")
            peer = f"{peername[0]}:{peername[1]}" if peername else (request.remote or "")
            state = _Connection(self.plane.new_conn_id(FAKE), peer, self.generation)
            self._conns[handler] = state
            self.plane.journal.record(FAKE, "connect", conn=state.conn, data={"peer": peer})
        elif state.generation != self.generation:
            # A keep-alive connection from before a reset: the new journal had no "connect" for it.
            state.generation = self.generation
            self.plane.journal.record(FAKE, "connect", conn=state.conn,
                                      data={"peer": state.peer, "kept_alive": True})
        return state.conn

    def rejected(self, request: web.Request, response: web.Response, description: str) -> web.Response:
        """Journal a request refused before it named a method (bad path, bad body): the pair of events."""
        conn = self.conn_id(request)
        event = self.plane.journal.record(FAKE, "request", conn=conn, method="",
                                          data={"path": request.path, "http_method": request.method})
        self.plane.journal.record(FAKE, "response", conn=conn, method="", request=event.seq,
                                  outcome={"ok": False, "code": response.status, "text": description})
        return response

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if not path.startswith("/bot"):
            return self.rejected(request, error_response(404, E.NOT_FOUND), E.NOT_FOUND)
        token, sep, method = path[4:].partition("/")
        if not sep:
            return self.rejected(request, error_response(404, E.NOT_FOUND), E.NOT_FOUND)
        if method.startswith("test/"):
            method = method[5:]
        params: dict[str, str] = {}
        if request.query_string:
            parse_urlencoded(request.query_string, params)
        try:
            if request.can_read_body:
                content_type = request.headers.get("Content-Type", "")
                limit = MAX_MULTIPART_BYTES if "multipart/form-data" in content_type.lower() else self.max_params_bytes
                if request.content_length is not None and request.content_length > limit:
                    return self._too_large(request)
                body = await self._read_limited(request, limit)
                if body is None:
                    return self._too_large(request)
                parse_body(body, content_type, params, self.max_params_bytes)
        except BotApiError as error:
            if error.code == 413:
                return self._too_large(request)
            return self.rejected(request, error_response(error.code, error.description), error.description)
        if not method:
            method = params.get("method", "")
        name = canonical_method(method)
        try:
            bot_id = bot_id_from_token(token)
        except BotApiError:
            bot_id = 0
        conn = self.conn_id(request)
        match_params = dict(params)
        match_params["bot_id"] = str(bot_id)
        # taken before the plane: a request held at a gate across a reset belongs to the old world
        generation = self.generation
        async with self.plane.request(FAKE, conn, name, match_params,
                                      data={"bot_id": bot_id, "params": params}) as req:
            if req.fault is not None:
                return await self._enact_fault(request, req, generation)
            outcome = self.core.handle(token, method, params)
            if isinstance(outcome, LongPoll):
                req.passed()
                self.plane.journal.record(FAKE, "note", conn=conn, method=name, request=req.seq,
                                          data={"bot_id": bot_id, "parked": True, "timeout": outcome.timeout})
                outcome = await self.wait_poll(outcome)
            if outcome.delay:
                await asyncio.sleep(outcome.delay)
            if generation == self.generation:
                req.reply(outcome_of(outcome))
            else:
                req.discard()
            return json_response(outcome)

    async def wait_poll(self, poll: LongPoll) -> Reply:
        """Park until the core resolves the poll; the only timer is the poll's own timeout."""
        if poll.reply is not None:
            return poll.reply
        loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()

        def resolved(reply: Reply) -> None:
            if not future.done():
                future.set_result(reply)

        poll.on_resolved = resolved
        timer = loop.call_later(poll.timeout, self.core.expire_poll, poll)
        try:
            return await future
        finally:
            timer.cancel()

    async def _read_limited(self, request: web.Request, limit: int) -> bytes | None:
        chunks = []
        size = 0
        async for chunk in request.content.iter_chunked(1 << 16):
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self, request: web.Request) -> web.Response:
        response = error_response(413, E.REQUEST_TOO_LARGE)
        # The rest of the body is not read, so this connection cannot carry another request.
        response.force_close()
        return self.rejected(request, response, E.REQUEST_TOO_LARGE)

    async def _enact_fault(self, request: web.Request, req: Any, generation: int) -> web.StreamResponse:
        rule = req.fault
        current = generation == self.generation
        if rule.action == "error":
            error = dict(rule.error or {})
            code = int(error.get("error_code", 500))
            reply = Reply(code, error_envelope(code, str(error.get("description", "")), error.get("parameters")))
            retry_after = (error.get("parameters") or {}).get("retry_after")
            if retry_after:
                reply.headers["Retry-After"] = str(retry_after)
            if code == 429:
                self.plane.counters.incr("botapi.429")
            if current:
                req.reply(outcome_of(reply), data={"fault": rule.id})
            else:
                req.discard()
            return json_response(reply)
        if current:
            req.reply(rule.outcome(), data={"fault": rule.id})
        else:
            req.discard()
        if rule.action == "drop":
            # Received, never answered; the connection stays open until the client gives up.
            req.passed()
            await self._hold_unanswered(request)
        # close (and a dropped request whose wait ended): cut the connection without an answer;
        # aiohttp discards the unsent response.
        if request.transport is not None:
            request.transport.abort()
        response = web.Response(status=500)
        response.force_close()
        return response

    async def _hold_unanswered(self, request: web.Request) -> None:
        """Wait until the client's connection closes, or a reset or stop lets dropped requests go."""
        state = self._conns.get(request.protocol)
        transport = request.transport
        if state is None or state.lost.is_set() or transport is None or transport.is_closing():
            return  # the client is already gone (e.g. a killed bot's request released late)
        lost = asyncio.ensure_future(state.lost.wait())
        released = asyncio.ensure_future(self._release_dropped.wait())
        try:
            await asyncio.wait((lost, released), return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
            released.cancel()


async def not_found(request: web.Request) -> web.Response:
    return error_response(404, E.NOT_FOUND)
