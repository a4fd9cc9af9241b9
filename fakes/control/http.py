"""The control plane over HTTP: JSON routes under /_control/.

Served by the runtime's control server and mounted on the Bot API fake's port as well, so a bot
developer with only the Bot API URL can still reset and inspect it. Answers use the same envelope
as the Bot API: {"ok": true, "result": ...} or {"ok": false, "error_code": N, "description": ...}.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Awaitable, Callable

from aiohttp import web

from .faults import FaultRule
from .gates import Gate
from .journal import EventFilter, JournalReset, events_to_json
from .plane import ControlPlane

PLANE_KEY = web.AppKey("botfakes_plane", ControlPlane)
MAX_WAIT_SECONDS = 300.0


def ok(result: Any = True, status: int = 200) -> web.Response:
    return web.json_response({"ok": True, "result": result}, status=status)


def fail(status: int, description: str) -> web.Response:
    return web.json_response(
        {"ok": False, "error_code": status, "description": description}, status=status
    )


async def read_json(request: web.Request, *, default: Any = None) -> Any:
    """The request's JSON body; an empty body gives `default`. Raises a 400 response."""
    body = await request.read()
    if not body.strip():
        return default
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise web.HTTPBadRequest(
            text=json.dumps({"ok": False, "error_code": 400,
                             "description": f"Bad Request: body is not JSON: {exc}"}),
            content_type="application/json",
        ) from None


def json_object(value: Any, what: str = "body") -> dict[str, Any]:
    if not isinstance(value, dict):
        raise web.HTTPBadRequest(
            text=json.dumps({"ok": False, "error_code": 400,
                             "description": f"Bad Request: the {what} must be a JSON object"}),
            content_type="application/json",
        )
    return value


def plane_of(request: web.Request) -> ControlPlane:
    return request.app[PLANE_KEY]


def _guard(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
    """Turn a ValueError/KeyError from the plane into a 400/404 with its message."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except ValueError as exc:
            return fail(400, f"Bad Request: {exc}")
        except KeyError as exc:
            return fail(404, f"Not Found: {exc.args[0] if exc.args else exc}")

    return wrapped


async def reset(request: web.Request) -> web.Response:
    await plane_of(request).reset()
    return ok()


async def journal(request: web.Request) -> web.Response:
    plane = plane_of(request)
    events = plane.journal.events(EventFilter.from_query(request.query))
    limit = request.query.get("limit")
    if limit not in (None, ""):
        n = int(limit)
        if n < 0:
            raise ValueError("limit must not be negative")
        events = events[-n:] if n else []
    return ok({"events": events_to_json(events), "last_seq": plane.journal.last_seq})


async def journal_wait(request: web.Request) -> web.Response:
    """Long-poll until `count` events match the filter; 408 when `timeout` passes first."""
    plane = plane_of(request)
    count = int(request.query.get("count") or 1)
    timeout = min(float(request.query.get("timeout") or 10.0), MAX_WAIT_SECONDS)
    try:
        events = await plane.journal.wait(EventFilter.from_query(request.query), count, timeout)
    except JournalReset:
        return fail(409, "Conflict: the journal was reset during the wait")
    except asyncio.TimeoutError:
        seen = len(plane.journal.events(EventFilter.from_query(request.query)))
        return fail(408, f"Request Timeout: {seen} of {count} matching events after {timeout} s")
    return ok({"events": events_to_json(events), "last_seq": plane.journal.last_seq})


async def add_note(request: web.Request) -> web.Response:
    """Put the caller's own event in the timeline, e.g. the harness's "instance B started"."""
    body = json_object(await read_json(request, default={}))
    data = body.get("data") or {}
    if not isinstance(data, dict):
        raise ValueError("data must be an object")
    event = plane_of(request).journal.record(
        str(body.get("fake") or "harness"), "note", conn=str(body.get("conn") or ""),
        method=str(body.get("method") or ""), data=data,
    )
    return ok(event.to_json())


async def stats(request: web.Request) -> web.Response:
    return ok(plane_of(request).stats())


async def fakes(request: web.Request) -> web.Response:
    return ok({name: fake.info() for name, fake in plane_of(request).fakes.items()})


async def list_faults(request: web.Request) -> web.Response:
    return ok([r.to_json() for r in plane_of(request).faults.list()])


async def add_faults(request: web.Request) -> web.Response:
    """One rule as the body, or {"rules": [...]} for several (all or none are added)."""
    body = json_object(await read_json(request, default={}))
    specs = body["rules"] if "rules" in body else [body]
    if not isinstance(specs, list):
        raise ValueError("rules must be a list")
    rules = [FaultRule.from_json(json_object(s, "rule")) for s in specs]
    plane = plane_of(request)
    added = [plane.faults.add(r).to_json() for r in rules]
    return ok(added if "rules" in body else added[0])


async def clear_faults(request: web.Request) -> web.Response:
    plane_of(request).faults.clear()
    return ok()


async def remove_fault(request: web.Request) -> web.Response:
    rule_id = request.match_info["id"]
    if not plane_of(request).faults.remove(rule_id):
        raise KeyError(f"no fault rule {rule_id}")
    return ok()


async def list_gates(request: web.Request) -> web.Response:
    return ok([g.to_json() for g in plane_of(request).gates.list()])


async def add_gate(request: web.Request) -> web.Response:
    gate = Gate.from_json(json_object(await read_json(request, default={})))
    return ok(plane_of(request).gates.add(gate).to_json())


async def get_gate(request: web.Request) -> web.Response:
    gate = plane_of(request).gates.get(request.match_info["id"])
    if gate is None:
        raise KeyError(f"no gate {request.match_info['id']}")
    return ok(gate.to_json())


async def release_gate(request: web.Request) -> web.Response:
    body = json_object(await read_json(request, default={}))
    gate_id = request.match_info["id"]
    plane = plane_of(request)
    if plane.gates.get(gate_id) is None:
        raise KeyError(f"no gate {gate_id}")
    released = plane.gates.release(gate_id, body.get("order"))
    return ok({"released": released})


async def remove_gate(request: web.Request) -> web.Response:
    gate_id = request.match_info["id"]
    if not plane_of(request).gates.remove(gate_id):
        raise KeyError(f"no gate {gate_id}")
    return ok()


async def clear_gates(request: web.Request) -> web.Response:
    plane_of(request).gates.clear()
    return ok()


async def not_found(request: web.Request) -> web.Response:
    return fail(404, f"Not Found: no control route {request.method} {request.path}")


def build_control_app(plane: ControlPlane) -> web.Application:
    app = web.Application()
    app[PLANE_KEY] = plane
    routes = [
        ("POST", "/reset", reset),
        ("GET", "/journal", journal),
        ("GET", "/journal/wait", journal_wait),
        ("POST", "/journal/notes", add_note),
        ("GET", "/stats", stats),
        ("GET", "/fakes", fakes),
        ("GET", "/faults", list_faults),
        ("POST", "/faults", add_faults),
        ("DELETE", "/faults", clear_faults),
        ("DELETE", "/faults/{id}", remove_fault),
        ("GET", "/gates", list_gates),
        ("POST", "/gates", add_gate),
        ("DELETE", "/gates", clear_gates),
        ("GET", "/gates/{id}", get_gate),
        ("DELETE", "/gates/{id}", remove_gate),
        ("POST", "/gates/{id}/release", release_gate),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, path, _guard(handler))
    for fake in plane.fakes.values():
        for route in fake.control_routes():
            app.router.add_route(route.method, f"/{fake.name}{route.path}", _guard(route.handler))
    app.router.add_route("*", "/{tail:.*}", not_found)
    return app
