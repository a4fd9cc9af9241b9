"""The dashboard's routes, added to every /_control/ app by `add_routes(app, plane)`.

    GET /_control/                          the dashboard page (static files, no build step)
    GET /_control/dashboard/static/{name}   its scripts and styles
    GET /_control/dashboard/world           the Bot API world: bots, chats, both sides of each
    GET /_control/journal/stream            server-sent events: the journal live
    GET /_control/journal/page?after=&before=&limit=   a range of events, for scroll-back

The stream's messages (`event:` name, JSON `data:`):
    hello   {last_seq, first_seq, events, dropped, epoch, monotonic, wall, fakes}
    events  {events: [journal events]}             (`id:` = the last seq, for Last-Event-ID)
    gap     {from, to}                              seqs not sent live (a burst); load them by page
    reset   {epoch, last_seq}                       the plane was reset: the journal starts over
    stats   GET /_control/stats's result            at most twice a second, when anything changed
    owners  {conn: {pid, label}}                    the local process that opened a connection
`?since=SEQ` (or the Last-Event-ID header of a reconnecting EventSource) resumes after SEQ.
"""

from __future__ import annotations

import asyncio
import json
from importlib import resources
from typing import Any, Mapping

from aiohttp import web
from aiohttp_sse import sse_response

from ..control.plane import ControlPlane
from .stream import event_json, stream_of
from .world import world_snapshot

STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html",
                ".svg": "image/svg+xml"}
MAX_PAGE = 2000


def static_text(name: str) -> str:
    """A shipped static file's text (the report inlines the swimlane renderer this way)."""
    return resources.files(__package__).joinpath("static", name).read_text(encoding="utf-8")


def _fail(status: int, description: str) -> web.Response:
    return web.json_response({"ok": False, "error_code": status, "description": description},
                             status=status)


def _int_arg(request: web.Request, name: str, default: int | None = None,
             header: str | None = None) -> int | None:
    value = request.query.get(name) or (request.headers.get(header) if header else None)
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError:
        raise web.HTTPBadRequest(
            text=json.dumps({"ok": False, "error_code": 400,
                             "description": f"Bad Request: {name} must be an integer"}),
            content_type="application/json") from None
    if number < 0:
        raise web.HTTPBadRequest(
            text=json.dumps({"ok": False, "error_code": 400,
                             "description": f"Bad Request: {name} must not be negative"}),
            content_type="application/json")
    return number


def add_routes(app: web.Application, plane: ControlPlane, fakes: Mapping[str, Any]) -> None:
    """Mount the dashboard on a /_control/ app (before its catch-all 404 route)."""
    stream = stream_of(plane, fakes)
    static_dir = resources.files(__package__).joinpath("static")

    async def index(request: web.Request) -> web.StreamResponse:
        return web.Response(text=static_dir.joinpath("index.html").read_text(encoding="utf-8"),
                            content_type="text/html", headers={"Cache-Control": "no-cache"})

    async def static(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        suffix = name[name.rfind("."):] if "." in name else ""
        path = static_dir.joinpath(name)
        if "/" in name or name.startswith(".") or suffix not in STATIC_TYPES or not path.is_file():
            return _fail(404, f"Not Found: no dashboard file {name}")
        return web.Response(text=path.read_text(encoding="utf-8"),
                            content_type=STATIC_TYPES[suffix], headers={"Cache-Control": "no-cache"})

    async def world(request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "result": world_snapshot(fakes)},
                                 dumps=lambda o: json.dumps(o, default=str))

    async def page(request: web.Request) -> web.Response:
        """Events with after < seq < before: the first `limit` after `after`, or else the last
        `limit` before `before` (scrolling back)."""
        journal = plane.journal
        after = _int_arg(request, "after")
        before = _int_arg(request, "before")
        limit = min(_int_arg(request, "limit", 500) or 0, MAX_PAGE)
        first = journal.last_seq - len(journal) + 1
        low = max(first, (after or 0) + 1)
        high = min(journal.last_seq, (before - 1) if before is not None else journal.last_seq)
        if after is None and before is not None:
            low = max(low, high - limit + 1)
        else:
            high = min(high, low + limit - 1)
        events = [e for e in (journal.get(s) for s in range(low, high + 1)) if e is not None]
        body = ('{"ok":true,"result":{"first_seq":%d,"last_seq":%d,"events":[%s]}}'
                % (first, journal.last_seq, ",".join(event_json(e) for e in events)))
        return web.Response(text=body, content_type="application/json")

    async def journal_stream(request: web.Request) -> web.StreamResponse:
        since = _int_arg(request, "since", header="Last-Event-ID")
        async with sse_response(request) as resp:
            client, backlog = stream.subscribe(since)
            closed = asyncio.ensure_future(resp.wait())
            try:
                for kind, data, last_id in backlog:
                    await resp.send(data, event=kind, id=last_id)
                while True:
                    getter = asyncio.ensure_future(client.queue.get())
                    await asyncio.wait({getter, closed}, return_when=asyncio.FIRST_COMPLETED)
                    if not getter.done():
                        getter.cancel()
                        break  # the browser went away (the ping found the socket closed)
                    item = getter.result()
                    if item is None:
                        break
                    kind, data, last_id = item
                    await resp.send(data, event=kind, id=last_id)
            except (ConnectionResetError, asyncio.TimeoutError, RuntimeError):
                pass  # the browser went away mid-write
            finally:
                stream.unsubscribe(client)
                closed.cancel()
        return resp

    async def end_streams(app: web.Application) -> None:
        stream.close_all()  # or the server's shutdown would wait for every open dashboard

    app.on_shutdown.append(end_streams)
    app.router.add_get("/", index)
    app.router.add_get("/dashboard/static/{name}", static)
    app.router.add_get("/dashboard/world", world)
    app.router.add_get("/journal/page", page)
    app.router.add_get("/journal/stream", journal_stream)


def add_root_redirect(app: web.Application, prefix: str = "/_control/") -> None:
    """`GET /` (and the prefix without its slash) on the control server lead to the dashboard."""

    async def to_dashboard(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(prefix)

    app.router.add_get("/", to_dashboard)
    app.router.add_get(prefix.rstrip("/"), to_dashboard)


__all__ = ["add_routes", "add_root_redirect", "static_text"]
