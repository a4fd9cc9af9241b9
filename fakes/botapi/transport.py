"""HTTP transport of the fake Bot API: aiohttp in front of the sans-I/O core.

`/bot<token>/<method>` by GET or POST, with parameters from the query string and an urlencoded,
multipart or JSON body (the query string wins on a clash, as `Query::arg` takes the first). Paths are
read the way HttpConnection.cpp reads them: no `/bot` prefix or no `/` after the token is `404 Not
Found`. Each request passes the shared control plane (journal, gates, faults) before the core answers;
the kit enacts a rule's decision with the core's error mapping (`BotApiCore.fault_reply`). I/O only.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.http_exceptions import ContentEncodingError, HttpProcessingError
from aiohttp.web_protocol import RequestHandler

from ..control import journal
from ..control.enact import FaultAnswer, enact_request
from ..control.links import HttpLink
from . import errors as E
from .core import BotApiCore, LongPoll, Reply, bot_id_from_token, canonical_method
from .errors import BotApiError, error_envelope
from .params import MAX_PARAMS_BYTES, parse_body, parse_urlencoded

if TYPE_CHECKING:
    from botfakes.fakes.control.plane import ControlPlane

FAKE = "botapi"
MAX_MULTIPART_BYTES = 50 << 20  # Telegram's upload limit for bots
# strict JSON out: NaN/Infinity raise rather than reach a client's parser
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def json_response(reply: Reply) -> web.Response:
    return web.Response(body=_dumps(reply.body).encode(), status=reply.status,
                        content_type="application/json", headers=reply.headers or None)


def error_response(code: int, description: str, parameters: dict | None = None) -> web.Response:
    return json_response(Reply(code, error_envelope(code, description, parameters)))


def outcome_of(reply: Reply) -> dict[str, Any]:
    if reply.status == 200:
        return {"ok": True}
    return journal.error(reply.status, reply.body.get("description", ""), reply.flag)


class BotApiHttp:
    """The request handler; one per fake, bound to its core and the runtime's control plane."""

    def __init__(self, core: BotApiCore, plane: "ControlPlane", max_params_bytes: int = MAX_PARAMS_BYTES) -> None:
        self.core = core
        self.plane = plane
        self.max_params_bytes = max_params_bytes
        # keyed by the connection's aiohttp protocol object (one RequestHandler per TCP connection);
        # an entry leaves when aiohttp reports the connection lost (see observe())
        self._links: dict[Any, HttpLink] = {}

    def observe(self, server: web.Server) -> None:
        """Hear of every closed client connection from aiohttp's low-level server, to journal it."""
        forward = server.connection_lost

        def connection_lost(handler: Any, exc: BaseException | None = None) -> None:
            forward(handler, exc)
            self.connection_lost(handler)

        server.connection_lost = connection_lost  # type: ignore[method-assign]

    def connection_lost(self, handler: Any) -> None:
        link = self._links.pop(handler, None)
        if link is None:
            return  # never carried a Bot API request (e.g. a /_control/ client): not journaled
        link.lost.set()
        self.plane.links.closed(link, peer=link.peer)

    def cut_all(self) -> None:
        """Stop: cut every connection (requests held unanswered by a "drop" rule let go)."""
        for link in list(self._links.values()):
            link.abort()

    def link_of(self, request: web.Request) -> HttpLink:
        """The request's connection; a keep-alive connection from before a reset gets a fresh
        "connect" event in the new world, which had none for it."""
        handler = request.protocol
        link = self._links.get(handler)
        if link is None:
            # host:port, so that the scenario harness can tell which bot process this is
            transport = request.transport
            peername = transport.get_extra_info("peername") if transport is not None else None
            peer = f"{peername[0]}:{peername[1]}" if peername else (request.remote or "")
            link = HttpLink(FAKE, self.plane.new_conn_id(FAKE), peer, transport)
            link.let_go = self.plane.epoch_over
            self._links[handler] = link
            self.plane.links.open(link)
        elif link.epoch != self.plane.epoch:
            self.plane.links.journal_connect(link, peer=link.peer, kept_alive=True)
        return link

    def conn_id(self, request: web.Request) -> str:
        return self.link_of(request).conn

    def rejected(self, request: web.Request, response: web.Response, description: str) -> web.Response:
        """Journal a request refused before it named a method (bad path, bad body): the pair of events."""
        conn = self.conn_id(request)
        event = self.plane.journal.record(FAKE, "request", conn=conn, method="",
                                          data={"path": request.path, "http_method": request.method})
        self.plane.journal.record(FAKE, "response", conn=conn, method="", request=event.seq,
                                  outcome={"ok": False, "code": response.status, "text": description})
        return response

    def fault_answer(self, error: dict[str, Any]) -> FaultAnswer:
        """The error-mapping hook: a rule's Bot API error as the HTTP answer."""
        reply = self.core.fault_reply(error)
        return FaultAnswer(json_response(reply), outcome_of(reply))

    async def handle(self, request: web.Request) -> web.StreamResponse:
        refusal = reader_refusal(request)
        if refusal is not None:
            return self.rejected(request, bare_status(refusal[0]), refusal[1])
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
                try:
                    body = await self._read_limited(request, limit)
                except (web.RequestPayloadError, ContentEncodingError):
                    # a gzip/deflate body that does not inflate: HttpReader's 400, bare
                    return self.rejected(request, bare_status(400), "Bad Request: can't decode the body")
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
        link = self.link_of(request)
        conn = link.conn
        match_params = dict(params)
        match_params["bot_id"] = str(bot_id)
        async with self.plane.request(FAKE, conn, name, match_params,
                                      data={"bot_id": bot_id, "params": params}) as req:
            link.response = None
            # (the check first: no coroutine for the common case, where no rule fired)
            if req.decision.rule is not None and await enact_request(req, link, self.fault_answer):
                return link.response or _cut()
            outcome = self.core.handle(token, method, params)
            if isinstance(outcome, LongPoll):
                req.passed()
                self.plane.journal.record(FAKE, "note", conn=conn, method=name, request=req.seq,
                                          data={"bot_id": bot_id, "parked": True, "timeout": outcome.timeout})
                outcome = await self.wait_poll(outcome)
            if outcome.delay:
                await asyncio.sleep(outcome.delay)
            # a reply still pending at a reset (a parked poll, a delayed 409) is sent, but the
            # new world's journal does not get it (req.reply journals nothing for a stale request)
            req.reply(outcome_of(outcome))
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


# td/net/HttpReader: the request line and headers together may take 256 KiB
MAX_TOTAL_HEADERS_LENGTH = 1 << 18


def reader_refusal(request: web.Request) -> tuple[int, str] | None:
    """What tdlib's HTTP reader refuses before a request reaches a method: (status, text)."""
    if request.method not in ("GET", "POST"):
        return 501, "Not Implemented"
    head = len(request.method) + len(request.raw_path) + 11
    head += sum(len(name) + len(value) + 4 for name, value in request.raw_headers)
    if head > MAX_TOTAL_HEADERS_LENGTH:
        return 431, "Request Header Fields Too Large: total headers size exceeded"
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding and encoding not in ("gzip", "deflate"):
        return 415, "Unsupported Media Type: unsupported content-encoding"
    return None


def bare_status(status: int) -> web.Response:
    """HttpConnectionBase's answer to a request its reader refused: the status line, an empty
    body, then it closes the connection."""
    response = web.Response(status=status, body=b"")
    response.force_close()
    return response


class ClientErrorFilter(logging.Filter):
    """aiohttp logs a traceback for every request it cannot parse; those are the client's errors
    (a 4xx answered), which tdlib logs at INFO without one. Real server errors still pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        while exc is not None:
            if isinstance(exc, HttpProcessingError) and 400 <= (exc.code or 0) < 500:
                return False
            if isinstance(exc, ConnectionResetError):
                return False
            exc = exc.__cause__ or exc.__context__
        return True


class BareErrorHandler(RequestHandler):
    """aiohttp's connection handler, answering what its HTTP parser refuses (a malformed request
    line, a header past the limits) as tdlib's reader does: a bare status line, no body, closed.
    Its own 5xx (a bug of the fake) keep aiohttp's handling, and its log line."""

    def handle_error(self, request: Any, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if status >= 500:
            return super().handle_error(request, status, exc, message)
        response = web.Response(status=status, body=b"")
        response.force_close()
        return response


def answer_parser_errors_bare(server: web.Server) -> None:
    """Make `server` (an AppRunner's, before its site starts) use BareErrorHandler."""

    class BotApiServer(type(server)):  # type: ignore[misc]
        def __call__(self) -> RequestHandler:
            return BareErrorHandler(self, loop=self._loop, **self._kwargs)

    server.__class__ = BotApiServer


HTTP_LOGGER = logging.getLogger("botfakes.botapi.http")
HTTP_LOGGER.addFilter(ClientErrorFilter())
# aiohttp's own limits (8190 bytes a line, 128 headers), raised to take what tdlib takes;
# reader_refusal checks the 256 KiB total. aiohttp keeps no total of its own, so the count stays
# bounded: past 512 headers, or one line past 257 KiB, aiohttp answers its own plain 400 (where
# tdlib would say 431), and a connection's headers cannot pin more than about 128 MiB.
PARSER_LIMITS = {"max_line_size": MAX_TOTAL_HEADERS_LENGTH + 1024,
                 "max_field_size": MAX_TOTAL_HEADERS_LENGTH + 1024, "max_headers": 512}


def _cut() -> web.Response:
    """What the handler returns for a connection a rule cut: aiohttp discards it unsent."""
    response = web.Response(status=500)
    response.force_close()
    return response


async def not_found(request: web.Request) -> web.Response:
    return error_response(404, E.NOT_FOUND)
