"""The control plane over HTTP: JSON routes under /_control/.

Served by the runtime's control server and mounted on the Bot API fake's port as well, so a bot
developer with only the Bot API URL can still reset and inspect it. Answers use the same envelope
as the Bot API: {"ok": true, "result": ...} or {"ok": false, "error_code": N, "description": ...}.
"""

from __future__ import annotations

import asyncio
import functools
import json
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Mapping

from aiohttp import web

from . import schemas
from .faults import FaultRule
from .gates import Gate
from .journal import EventFilter, JournalReset, events_to_json
from .plane import ControlPlane
from .schedules import policy_from_json, schedule_report
from .trace import journal_trace
from ..dashboard.routes import add_routes as add_dashboard_routes

if TYPE_CHECKING:
    from .fake import Fake

PLANE_KEY = web.AppKey("botfakes_plane", ControlPlane)
FAKES_KEY = web.AppKey("botfakes_fakes", dict)  # name -> Fake, the runtime's
MAX_WAIT_SECONDS = 300.0


def ok(result: Any = True, status: int = 200) -> web.Response:
    # strict JSON out (no NaN/Infinity): what a client's parser accepts
    return schemas.json_response({"ok": True, "result": result}, status=status)


def fail(status: int, description: str) -> web.Response:
    return schemas.json_response(
        {"ok": False, "error_code": status, "description": description}, status=status
    )


async def read_json(request: web.Request, *, default: Any = None) -> Any:
    """The request's JSON body; an empty body gives `default`. Raises a 400 response."""
    body = await request.read()
    if not body.strip():
        return default
    try:
        return schemas.load_json(body)  # strict: UTF-8, no NaN/Infinity, bounded nesting
    except schemas.SchemaError as exc:
        raise web.HTTPBadRequest(
            text=schemas.dump({"ok": False, "error_code": 400, "description": f"Bad Request: {exc}"}),
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


def _guard(handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
           body_model: Any = None, query_model: Any = None):
    """Check the request against its route's schema (schemas.py), then turn a ValueError/KeyError
    from the plane into a 400/404 with its message."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            await schemas.check_request(request, body_model, query_model)
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
    view = request.query.get("format") or "json"
    if view == "trace":  # Chrome/Perfetto trace-event JSON (fakes/control/trace.py)
        return web.json_response(journal_trace(events_to_json(events)))
    if view != "json":
        raise ValueError("format must be json or trace")
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


def fakes_of(request: web.Request) -> "Mapping[str, Fake]":
    return request.app[FAKES_KEY]


async def stats(request: web.Request) -> web.Response:
    fakes = fakes_of(request)
    return ok(plane_of(request).stats({name: fake.stats() for name, fake in fakes.items()}))


async def list_fakes(request: web.Request) -> web.Response:
    return ok({name: fake.info() for name, fake in fakes_of(request).items()})


async def list_connections(request: web.Request, fake: str | None = None) -> web.Response:
    """Open client connections (every fake, or ?fake=NAME): conn, fake, peer and the fake's own
    fields (a Deriv session's loginid and subscriptions, an MTProto connection's key)."""
    fake = fake or request.query.get("fake") or None
    return ok([link.to_json() for link in plane_of(request).links.of(fake)])


async def close_connection(request: web.Request, fake: str | None = None) -> web.Response:
    """Close one connection: {code?, reason?} (the WebSocket close frame; default 1000)."""
    body = json_object(await read_json(request, default={}))
    conn = request.match_info["conn"]
    link = plane_of(request).links.get(conn)
    if link is None or fake not in (None, link.fake):
        raise KeyError(f"no open connection {conn}")
    code = body.get("code")
    if code is not None and (isinstance(code, bool) or not isinstance(code, int)):
        raise ValueError("code must be an integer")
    await link.close(code or 1000, str(body.get("reason") or ""))
    return ok()


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


def removed(found: bool, what: str) -> web.Response:
    if not found:
        raise KeyError(f"no {what}")
    return ok()


async def remove_fault(request: web.Request) -> web.Response:
    rule_id = request.match_info["id"]
    return removed(plane_of(request).faults.remove(rule_id), f"fault rule {rule_id}")


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
    return removed(plane_of(request).gates.remove(gate_id), f"gate {gate_id}")


async def clear_gates(request: web.Request) -> web.Response:
    plane_of(request).gates.clear()
    return ok()


async def get_schedule(request: web.Request) -> web.Response:
    """The plane-wide release policy in force and the schedule the gates released so far."""
    plane = plane_of(request)
    events = plane.journal.events(EventFilter(kind="gate", action="released"))
    return ok(schedule_report(plane.gates.policy, events, request.query.get("name") or "test",
                              request.query.get("bot") or ""))


async def set_schedule(request: web.Request) -> web.Response:
    """One policy for every gate's releases until DELETE or a reset (see schedules.py)."""
    policy = policy_from_json(json_object(await read_json(request, default={})))
    plane_of(request).gates.set_policy(policy)
    return ok({"policy": policy.name})


async def clear_schedule(request: web.Request) -> web.Response:
    plane_of(request).gates.set_policy(None)
    return ok()


async def not_found(request: web.Request) -> web.Response:
    return fail(404, f"Not Found: no control route {request.method} {request.path}")


def build_control_app(plane: ControlPlane, fakes: "Mapping[str, Fake] | None" = None) -> web.Application:
    """The /_control/ app over the plane and the runtime's fakes (their routes join it)."""
    fakes = dict(fakes or {})
    app = web.Application()
    app[PLANE_KEY] = plane
    app[FAKES_KEY] = fakes
    routes = [
        ("POST", "/reset", reset),
        ("GET", "/journal", journal),
        ("GET", "/journal/wait", journal_wait),
        ("POST", "/journal/notes", add_note),
        ("GET", "/stats", stats),
        ("GET", "/fakes", list_fakes),
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
        ("GET", "/schedule", get_schedule),
        ("POST", "/schedule", set_schedule),
        ("DELETE", "/schedule", clear_schedule),
        ("GET", "/connections", list_connections),
        ("POST", "/connections/{conn}/close", close_connection),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, path, _guard(handler, schemas.PLANE_BODIES.get((method, path)),
                                                  schemas.PLANE_QUERIES.get((method, path))))
    for fake in fakes.values():
        # /_control/<name>/connections: the same routes, for one fake
        for method, path, handler in (("GET", "/connections", list_connections),
                                      ("POST", "/connections/{conn}/close", close_connection)):
            app.router.add_route(method, f"/{fake.name}{path}",
                                 _guard(functools.partial(handler, fake=fake.name),
                                        schemas.PLANE_BODIES.get((method, path))))
        fake_schemas = schemas.fake_route_schemas(fake.name)
        for route in fake.control_routes():
            app.router.add_route(route.method, f"/{fake.name}{route.path}",
                                 _guard(route.handler, fake_schemas.get((route.method, route.path))))
    add_dashboard_routes(app, plane, fakes)  # the dashboard page and its live stream
    app.router.add_route("*", "/{tail:.*}", not_found)
    return app
