"""The control plane every fake's requests pass through: journal, fault rules, gates, counters.

A transport wraps each request it decoded in `plane.request(...)` and enacts the decision:

    async with plane.request("deriv", link.conn, "ping", params) as req:
        if await enact_request(req, link, error_answer):   # error/drop/close: the rule answers
            return
        reply = core.handle(...)                            # the sans-I/O core answers
        await link.send(reply)
        req.reply(journal.ok())                             # journal the outcome

Entering journals the request, parks it at a matching gate, sleeps any delay rule and sets
`req.decision` (decisions.py). Leaving marks the request as passed, which is what lets a gate
releasing in order send the next one. Server pushes go through `plane.push(...)`, whose decision
the connection's push queue enacts. One epoch counts the worlds: a reset starts a new one. The
plane knows no fake: the runtime owns them and registers their resets with `on_reset`. The plane
belongs to the runtime's event loop; other threads reach it through the control HTTP API.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections import Counter
from typing import Any, Awaitable, Callable, Mapping

from . import journal as journal_mod
from .decisions import DELIVER, Decision, decide
from .faults import FaultRule, FaultRules
from .gates import Gate, Gates, HeldRequest
from .journal import Event, Journal
from .links import Links
from .matching import Match


class Counters:
    """Named counts (e.g. "botapi.409.other_getupdates"), reported by GET /_control/stats."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()

    def incr(self, name: str, n: int = 1) -> None:
        self._counts[name] += n

    def get(self, name: str) -> int:
        return self._counts.get(name, 0)

    def snapshot(self) -> dict[str, int]:
        return dict(sorted(self._counts.items()))

    def clear(self) -> None:
        self._counts.clear()


class RequestContext:
    """One request's passage through the plane. See the module docstring."""

    def __init__(
        self, plane: "ControlPlane", fake: str, conn: str, method: str, params: Mapping[str, Any],
        data: Mapping[str, Any] | None,
    ) -> None:
        self.plane = plane
        self.fake = fake
        self.conn = conn
        self.method = method
        self.params = params
        self._data = data
        self.event: Event | None = None
        self.decision: Decision = DELIVER
        self.replied = False
        self._passed = asyncio.Event()
        self.epoch = plane.epoch  # the world this request arrived in; a reset starts a new one

    @property
    def fault(self) -> FaultRule | None:
        """The terminal rule of the decision, if one fired (error, drop, close)."""
        return self.decision.rule

    @property
    def seq(self) -> int:
        assert self.event is not None
        return self.event.seq

    @property
    def stale(self) -> bool:
        """The plane was reset since this request arrived: it belongs to a world that is gone."""
        return self.epoch != self.plane.epoch

    async def __aenter__(self) -> "RequestContext":
        plane = self.plane
        self.event = plane.journal.record(
            self.fake, "request", conn=self.conn, method=self.method,
            data=self._data if self._data is not None else {"params": dict(self.params)},
        )
        try:
            await self._pass_gate_and_faults()
        except BaseException as exc:
            # __aexit__ does not run when __aenter__ raises: close the passage here, or a gate
            # releasing in turn would wait for this request forever.
            await self.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    async def _pass_gate_and_faults(self) -> None:
        plane = self.plane
        gate = plane.gates.find(self.fake, self.method, self.params, self.conn)
        if gate is not None:
            held = HeldRequest(
                fake=self.fake, method=self.method, conn=self.conn, request_seq=self.seq,
                go=asyncio.get_running_loop().create_future(), passed=self._passed,
                params=self.params,
            )
            await plane.gates.hold(gate, held)
        if self.stale:
            # Held across a reset: the new world must not see it answered, so it is dropped
            # (received, never answered) and journaled nowhere.
            self.decision = STALE_REQUEST
            self.replied = True
            return
        fired = plane.faults.fire(self.fake, self.method, self.params, self.conn)
        if not fired:
            return
        waited = 0.0
        for rule in fired:
            plane.journal.record(
                self.fake, "fault", conn=self.conn, method=self.method, request=self.seq,
                data={"rule": rule.id, "action": rule.action},
            )
            plane.counters.incr(f"{self.fake}.faults.{rule.action}")
            delay = plane.faults.delay_for(rule)
            if delay:
                waited += delay
                await asyncio.sleep(delay)
        self.decision = decide(fired, waited)

    def reply(self, outcome: Mapping[str, Any], data: Mapping[str, Any] | None = None) -> Event | None:
        """Journal the response: `outcome` from journal.ok()/journal.error(); once per request.

        Nothing is journaled for a request from before a reset (see `stale`).
        """
        self.replied = True
        if self.stale:
            return None
        return self.plane.journal.record(
            self.fake, "response", conn=self.conn, method=self.method, request=self.seq,
            data=data, outcome=outcome,
        )

    def discard(self) -> None:
        """Answer nothing and journal nothing: the reply belonged to a world a reset has ended."""
        self.replied = True

    def passed(self) -> None:
        """Let a gate release the next request although this one has not finished (it parked)."""
        self._passed.set()

    async def __aexit__(self, exc_type, exc, tb) -> None:
        if not self.replied and exc_type is not None and self.event is not None and not self.stale:
            if issubclass(exc_type, asyncio.CancelledError):
                outcome = journal_mod.error("cancelled", "the request was cancelled before a reply")
            else:
                # a bug of the fake's own: flagged, so the pytest plugin fails the test
                outcome = journal_mod.error("exception", f"{exc_type.__name__}: {exc}",
                                            journal_mod.INTERNAL_ERROR)
            self.reply(outcome)
        self._passed.set()


# What a request held across a reset leaves with: "drop", i.e. received and never answered.
STALE_REQUEST = Decision("drop", FaultRule(Match(), action="drop", id="reset"))


class ControlPlane:
    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.epoch = 0  # incremented by every reset
        self.rng = random.Random(seed)
        self.journal = Journal()
        self.faults = FaultRules(self.rng)
        self.gates = Gates(self.rng, self._journal_gate)
        self.counters = Counters()
        self.links = Links(self)
        self._conn_ids = itertools.count(1)
        self._reset_hooks: list[Callable[[], Awaitable[None]]] = []
        self._epoch_over: asyncio.Event | None = None

    def on_reset(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Run `hook` on every reset, after rules and gates are gone (the runtime adds each
        fake's reset here)."""
        self._reset_hooks.append(hook)

    def count(self, name: str, n: int = 1) -> None:
        """Every count of every fake goes here (GET /_control/stats reports them)."""
        self.counters.incr(name, n)

    def epoch_over(self) -> asyncio.Event:
        """Set when the current epoch ends (a reset): what a request held unanswered waits on."""
        if self._epoch_over is None:
            self._epoch_over = asyncio.Event()
        return self._epoch_over

    def may_hold(self, fake: str) -> bool:
        """Whether a request of `fake` could wait inside the plane (an armed gate, or a request
        rule with a delay, that could match it): if not, a transport may skip its own task."""
        if any(g.match.fake in ("*", fake) for g in self.gates.list()):
            return True
        return any(r.match.fake in ("*", fake) and r.stage == "request"
                   and (r.action == "delay" or r.delay or r.jitter) for r in self.faults.list())

    def new_conn_id(self, fake: str) -> str:
        """A connection id unique in this runtime, e.g. "deriv#7", for journal and matching."""
        return f"{fake}#{next(self._conn_ids)}"

    def request(
        self, fake: str, conn: str, method: str, params: Mapping[str, Any],
        data: Mapping[str, Any] | None = None,
    ) -> RequestContext:
        """`data` replaces what is journaled for the request (default: {"params": params})."""
        return RequestContext(self, fake, conn, method, params, data)

    def push(
        self, fake: str, conn: str, method: str, params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> Decision:
        """Journal a server push and decide it: deliver, delay (by every fired rule's delay,
        a terminal rule's included), drop, close or error. The connection's push queue
        (`link.pushes.put(decision, message)`) enacts it."""
        params = params or {}
        fired = self.faults.fire(fake, method, params, conn, stage="push")
        event_data = dict(data if data is not None else {"params": dict(params)})
        decision = DELIVER
        if fired:
            event_data["fault"] = [r.id for r in fired]
            for rule in fired:
                self.counters.incr(f"{fake}.faults.{rule.action}")
            decision = decide(fired, sum(self.faults.delay_for(r) for r in fired))
        self.journal.record(
            fake, "push", conn=conn, method=method, data=event_data,
            outcome=journal_mod.ok() if decision.rule is None else decision.outcome(),
        )
        return decision

    def _journal_gate(self, held: HeldRequest, action: str, gate: Gate, **data: Any) -> None:
        self.journal.record(
            held.fake, "gate", conn=held.conn, method=held.method, request=held.request_seq,
            data={"gate": gate.id, "action": action, **data},
        )

    async def reset(self) -> None:
        """Back to the state the runtime started in: every fake's world, rules, gates, counts.

        Requests still held at a gate are let go into the new epoch, where they are dropped
        unanswered and unjournaled, so nothing of one test leaks into the next.
        """
        self.epoch += 1
        if self._epoch_over is not None:
            self._epoch_over.set()
            self._epoch_over = None
        self.gates.clear()
        self.faults.clear()
        self.counters.clear()
        self.rng.seed(self.seed)
        for hook in self._reset_hooks:
            await hook()
        self.journal.clear()

    def stats(self, fakes: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The plane's figures; `fakes` = each fake's own stats (the control route adds them)."""
        return {
            "counters": self.counters.snapshot(),
            "journal": {"events": len(self.journal), "last_seq": self.journal.last_seq,
                        "dropped": self.journal.dropped, "bytes": self.journal.bytes,
                        "max_bytes": self.journal.max_bytes},
            "faults": [r.to_json() for r in self.faults.list()],
            "gates": [g.to_json() for g in self.gates.list()],
            "fakes": dict(fakes or {}),
        }
