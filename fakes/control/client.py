"""The control plane from Python: a thin client of the /_control/ HTTP API.

Python callers go through HTTP too, so the Python API and the HTTP API cannot drift apart, and
the same client works from a test, a Locust worker, another process or another machine. It is
synchronous (stdlib only); `client.aio` gives awaitable twins that run the call in a worker
thread, so an async test never blocks the loop its bot runs on while it waits for an event.

    control = ControlClient("http://127.0.0.1:8090")
    gate = control.add_gate(fake="botapi", method="getUpdates", count=2)
    ...
    control.wait(fake="botapi", kind="response", method="getUpdates", code=409)
"""

from __future__ import annotations

import asyncio
import functools
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from .. import registry


class ControlError(Exception):
    """The control API answered ok=false."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(f"{status}: {description}")
        self.status = status
        self.description = description


class ControlTimeout(ControlError, TimeoutError):
    """A journal wait ended before enough matching events arrived."""


class ControlClient:
    def __init__(self, url: str, timeout: float = 30.0) -> None:
        # Accept the server root or the /_control prefix itself.
        url = url.rstrip("/")
        if not url.endswith("/_control"):
            url += "/_control"
        self.url = url
        self.timeout = timeout

    # -- transport -----------------------------------------------------------------------------

    def call(
        self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> Any:
        """One control call; returns `result`, raises ControlError on ok=false."""
        # Connection ids look like "deriv#3": quote, or "#" would start a fragment.
        url = self.url + urllib.parse.quote(path, safe="/")
        if query:
            clean = {k: _query_value(v) for k, v in _flatten(query).items() if v is not None}
            url += "?" + urllib.parse.urlencode(clean)
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout or self.timeout) as resp:
                payload = json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            try:
                payload = json.loads(exc.read())
            except ValueError:
                raise ControlError(exc.code, exc.reason) from None
        if not payload.get("ok"):
            cls = ControlTimeout if payload.get("error_code") == 408 else ControlError
            raise cls(payload.get("error_code", 0), payload.get("description", ""))
        return payload.get("result")

    def get(self, path: str, **query: Any) -> Any:
        return self.call("GET", path, query=query)

    def post(self, path: str, body: Any = None) -> Any:
        return self.call("POST", path, body if body is not None else {})

    def delete(self, path: str) -> Any:
        return self.call("DELETE", path)

    # -- the shared plane ----------------------------------------------------------------------

    def reset(self) -> None:
        self.post("/reset")

    def journal(self, **filters: Any) -> list[dict[str, Any]]:
        """Events, filtered by fake, kind, method, conn, since, ok, code, gate, action, flag,
        params={"chat_id": 5} and data={"bot_id": 7} (an event without them matches by its
        request's); limit = the last N."""
        return self.get("/journal", **filters)["events"]

    def wait(self, count: int = 1, timeout: float = 10.0, **filters: Any) -> list[dict[str, Any]]:
        """Block until `count` journal events match (earlier ones count). ControlTimeout if not."""
        return self.call(
            "GET", "/journal/wait", query={"count": count, "timeout": timeout, **filters},
            timeout=timeout + 10.0,
        )["events"]

    def note(self, method: str, conn: str = "", fake: str = "harness", **data: Any) -> dict:
        """Add a "note" event to the journal (the harness marks bot starts, kills, exits)."""
        return self.post("/journal/notes", {"fake": fake, "conn": conn, "method": method, "data": data})

    def stats(self) -> dict[str, Any]:
        return self.get("/stats")

    def counters(self) -> dict[str, int]:
        return self.stats()["counters"]

    def fakes(self) -> dict[str, Any]:
        return self.get("/fakes")

    def add_fault(self, fake: str, method: str | None = None, action: str = "error", **rule: Any) -> dict:
        """Arm a fault rule. See fakes.control.faults.FaultRule for the fields."""
        return self.post("/faults", {"fake": fake, "method": method, "action": action, **rule})

    def faults(self) -> list[dict[str, Any]]:
        return self.get("/faults")

    def remove_fault(self, rule_id: str) -> None:
        self.delete(f"/faults/{rule_id}")

    def clear_faults(self) -> None:
        self.delete("/faults")

    def add_gate(
        self, fake: str, method: str | None = None, count: int | None = None,
        order: str | list[int] = "arrival", **gate: Any,
    ) -> dict:
        """Arm a gate. See fakes.control.gates.Gate for the fields."""
        return self.post(
            "/gates", {"fake": fake, "method": method, "count": count, "order": order, **gate}
        )

    def gate(self, gate_id: str) -> dict[str, Any]:
        return self.get(f"/gates/{gate_id}")

    def gates(self) -> list[dict[str, Any]]:
        return self.get("/gates")

    def release_gate(self, gate_id: str, order: str | list[int] | None = None) -> int:
        body = {} if order is None else {"order": order}
        return self.post(f"/gates/{gate_id}/release", body)["released"]

    def remove_gate(self, gate_id: str) -> None:
        self.delete(f"/gates/{gate_id}")

    def set_schedule(self, order: str, **options: Any) -> dict:
        """One release policy for every gate until a reset: order "explore" (schedule=i), "pct"
        (seed, depth), "random" (seed) or "replay" (schedule=[...] or token="bf1...")."""
        return self.post("/schedule", {"order": order, **options})

    def schedule(self, name: str = "test", bot: str = "") -> dict[str, Any]:
        """The policy in force and the schedule released so far: {"policy", "schedule", "text",
        "deviations", "token"} (the token names `name` and `bot`)."""
        return self.get("/schedule", name=name, bot=bot)

    def clear_schedule(self) -> None:
        self.delete("/schedule")

    def connections(self, fake: str | None = None) -> list[dict[str, Any]]:
        """Open client connections (of one fake, or all): conn, fake, peer and the fake's own."""
        return self.get("/connections", fake=fake)

    def close_connection(self, conn: str, code: int = 1000, reason: str = "") -> None:
        """Close one connection (WebSocket: with this close frame)."""
        self.post(f"/connections/{conn}/close", {"code": code, "reason": reason})

    def wait_held(self, gate_id: str, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Block until the gate has held `count` requests in all (released ones included)."""
        return self.wait(count=count, timeout=timeout, kind="gate", gate=gate_id, action="held")

    # -- per-fake typed clients ----------------------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        # control.botapi, control.deriv, control.mtproto: the fake's own typed client
        if name in registry.FAKES:
            client = registry.control_class(name)(self)
            setattr(self, name, client)
            return client
        raise AttributeError(name)

    @functools.cached_property
    def aio(self) -> "AsyncProxy":
        return AsyncProxy(self)


class FakeControl:
    """Base of a fake's typed client: its /_control/<name>/ routes, and its connections."""

    fake = ""  # the route prefix, e.g. "deriv"

    def __init__(self, control: ControlClient) -> None:
        self.control = control

    def _post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.control.post(f"/{self.fake}{path}",
                                 {k: v for k, v in (body or {}).items() if v is not None})

    def _get(self, path: str, **query: Any) -> Any:
        return self.control.get(f"/{self.fake}{path}", **query)

    def connections(self) -> list[dict]:
        return self.control.connections(self.fake)

    def close_connection(self, conn: str, code: int = 1000, reason: str = "") -> None:
        self.control.close_connection(conn, code, reason)


class AsyncProxy:
    """Awaitable twins of a client's methods: `await control.aio.wait(...)`, run in a thread."""

    def __init__(self, target: Any) -> None:
        self._target = target

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if callable(attr):
            @functools.wraps(attr)
            async def run(*args: Any, **kwargs: Any) -> Any:
                return await asyncio.to_thread(attr, *args, **kwargs)

            return run
        if isinstance(attr, (str, int, float, bool, type(None), dict, list, tuple)):
            return attr
        return AsyncProxy(attr)


def _flatten(query: dict[str, Any]) -> dict[str, Any]:
    """params={"chat_id": 5} -> "params.chat_id=5" (and data= alike), the journal's query form."""
    if not any(isinstance(query.get(k), dict) for k in ("params", "data")):
        return query
    flat: dict[str, Any] = {}
    for key, value in query.items():
        if key in ("params", "data") and isinstance(value, dict):
            flat.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            flat[key] = value
    return flat


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
