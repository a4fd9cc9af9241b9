"""Gates: hold matching requests, then let them go in a chosen order, to force a race every run.

A race that happens "when two requests overlap" is made certain by holding both until both have
arrived. The release is sequential: the next request goes only after the previous one has passed
through the fake (its reply written, or it has parked, e.g. a long poll), so "reverse" really
means the replies leave in reverse order, not merely that the tasks were woken in reverse.

Besides the fixed orders, a gate may follow a schedule policy (schedules.py): "explore" (the
`schedule`-th distinct order of what it holds), "pct" (`seed`, `depth`) or "random" (`seed`);
and `Gates.set_policy()` makes one policy decide every gate's releases (how `botfakes run
--explore` replays a schedule). Each held request gets a stable identity (fake, principal,
method, n) and every release decision is journaled with it, so a schedule read back from the
journal means the same thing on another run.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from . import schedules
from .matching import Match
from .schedules import IdentityNamer, Policy, RequestIdentity

ORDERS = ("arrival", "reverse", "shuffle") + schedules.POLICIES


@dataclass
class HeldRequest:
    fake: str
    method: str
    conn: str
    request_seq: int
    go: asyncio.Future  # resolved when the gate lets this request through
    passed: asyncio.Event  # set by the plane once the request has passed the fake
    released: bool = False
    params: Mapping[str, Any] = field(default_factory=dict)  # what the principal is read from
    identity: RequestIdentity | None = None  # named by the gate that holds it


@dataclass
class Gate:
    match: Match
    count: int | None = None  # release on its own once this many are held; None = on request
    order: str | list[int] = "arrival"
    batches: int | None = 1  # rounds of hold-and-release before the gate disarms; None = forever
    # for the schedule policies: which explored order, the PCT/random seed, the PCT depth
    schedule: int | None = None
    seed: int | None = None
    depth: int = 2
    id: str = ""
    held: list[HeldRequest] = field(default_factory=list)
    batches_released: int = 0
    total_held: int = 0
    namer: IdentityNamer = field(default_factory=IdentityNamer, repr=False)
    policy: Policy | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        _check_order(self.order)
        if isinstance(self.order, str) and self.order in schedules.POLICIES:
            self.policy = self.make_policy(self.order)
        if self.count is not None and self.count < 1:
            raise ValueError("count must be at least 1")
        if isinstance(self.order, list) and self.count is not None and any(
                i < 0 or i >= self.count for i in self.order):
            raise ValueError(f"an explicit order names arrival positions 0..{self.count - 1}")
        if self.batches is not None and self.batches < 1:
            raise ValueError("batches must be at least 1")

    def make_policy(self, order: str) -> Policy:
        # PCT's change points are drawn over every release step the gate will make
        steps = self.count * self.batches if self.count and self.batches else self.count
        return schedules.make_policy(order, schedule=self.schedule, seed=self.seed or 0,
                                     depth=self.depth, steps=steps)

    @property
    def armed(self) -> bool:
        return self.batches is None or self.batches_released < self.batches

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            **self.match.to_json(),
            "count": self.count,
            "order": self.order,
            "batches": self.batches,
            "schedule": self.schedule,
            "seed": self.seed,
            "depth": self.depth,
            # explore: how many distinct orders its last batch had (0 before a release)
            "orders": getattr(self.policy, "orders_available", None),
            "armed": self.armed,
            "held": len(self.held),
            "held_requests": [
                {"method": h.method, "conn": h.conn, "request": h.request_seq,
                 "identity": str(h.identity) if h.identity else None} for h in self.held
            ],
            "total_held": self.total_held,
            "batches_released": self.batches_released,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Gate":
        count = data.get("count")
        batches = data.get("batches", 1)
        schedule, seed, depth = data.get("schedule"), data.get("seed"), data.get("depth", 2)
        for key, value in (("count", count), ("batches", batches), ("schedule", schedule),
                           ("seed", seed), ("depth", depth)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError(f"{key} must be an integer or null")
        if schedule is not None and schedule < 0:
            raise ValueError("schedule must be 0 or more")
        if depth is None or depth < 1:
            raise ValueError("depth must be at least 1")
        return cls(
            match=Match.from_json(data),
            count=count,
            order=data.get("order") or "arrival",
            batches=batches,
            schedule=schedule,
            seed=seed,
            depth=depth,
        )


def _check_order(order: Any) -> None:
    if isinstance(order, str):
        if order not in ORDERS:
            raise ValueError(f"order must be one of {', '.join(ORDERS)} or a list of positions")
    elif isinstance(order, list):
        if not all(isinstance(i, int) and not isinstance(i, bool) for i in order):
            raise ValueError("an explicit order is a list of arrival positions (0 = first)")
        if len(set(order)) != len(order):
            raise ValueError("an explicit order names each arrival position once")
    else:
        raise ValueError("order must be a string or a list of positions")


def release_sequence(n: int, order: str | list[int], rng: random.Random) -> list[int]:
    """Arrival positions 0..n-1 in the order they are to be released."""
    if order == "arrival":
        return list(range(n))
    if order == "reverse":
        return list(range(n - 1, -1, -1))
    if order == "shuffle":
        positions = list(range(n))
        rng.shuffle(positions)
        return positions
    assert isinstance(order, list)
    if any(i < 0 or i >= n for i in order):
        raise ValueError(f"explicit order {order} names a position outside 0..{n - 1}")
    # Positions the list leaves out follow in arrival order, so a test may name only the first.
    return list(order) + [i for i in range(n) if i not in order]


class Gates:
    def __init__(self, rng: random.Random, on_event: Callable[..., None]) -> None:
        self._rng = rng
        self._on_event = on_event  # journals gate activity: (held_request, action, gate, **data)
        self._gates: list[Gate] = []
        self._ids = itertools.count(1)
        self._releasers: dict[asyncio.Task, list[HeldRequest]] = {}  # batches being released
        self._policy: Policy | None = None  # decides every gate's releases when set

    def set_policy(self, policy: Policy | None) -> None:
        """Let `policy` order every batch any gate releases (None: each gate's own order again).

        A reset clears it with the gates. Batches let go at once (a gate removed) keep arrival order.
        """
        self._policy = policy

    @property
    def policy(self) -> Policy | None:
        return self._policy

    def add(self, gate: Gate) -> Gate:
        gate.id = f"gate-{next(self._ids)}"
        self._gates.append(gate)
        return gate

    def get(self, gate_id: str) -> Gate | None:
        return next((g for g in self._gates if g.id == gate_id), None)

    def list(self) -> list[Gate]:
        return list(self._gates)

    def remove(self, gate_id: str) -> bool:
        gate = self.get(gate_id)
        if gate is None:
            return False
        # Nothing may stay held by a gate that no longer exists: let them go as they came.
        self._release_now(gate)
        self._gates.remove(gate)
        return True

    def clear(self) -> None:
        """Remove every gate, letting go at once what they hold or are still releasing."""
        for task, batch in list(self._releasers.items()):
            task.cancel()
            self._let_go(Gate(Match()), batch)
        self._releasers.clear()
        for gate in list(self._gates):
            self.remove(gate.id)
        self._policy = None

    def find(self, fake: str, method: str, params: Mapping[str, Any], conn: str) -> Gate | None:
        for gate in self._gates:
            if gate.armed and gate.match.matches(fake, method, params, conn):
                return gate
        return None

    async def hold(self, gate: Gate, held: HeldRequest) -> None:
        """Park `held` at `gate` until released. Cancellation before release un-parks it."""
        held.identity = gate.namer.name(held.fake, held.conn, held.method, held.params)
        gate.held.append(held)
        gate.total_held += 1
        self._on_event(held, "held", gate, held_now=len(gate.held), identity=str(held.identity))
        if gate.count is not None and len(gate.held) >= gate.count:
            self.release(gate.id)
        try:
            await held.go
        except asyncio.CancelledError:
            if not held.released and held in gate.held:
                gate.held.remove(held)
            held.passed.set()  # released or not, nobody must wait for it to pass any more
            raise

    def release(self, gate_id: str, order: str | list[int] | None = None) -> int:
        """Start releasing what the gate holds now; returns how many. Raises KeyError/ValueError."""
        gate = self.get(gate_id)
        if gate is None:
            raise KeyError(gate_id)
        if order is not None:
            _check_order(order)
        if not gate.held:
            return 0  # nothing to release: the gate stays armed for its batch
        batch = gate.held
        identities = [h.identity or RequestIdentity(h.fake, "", h.method, 0) for h in batch]
        if order is None and self._policy is not None:
            policy_name, positions = self._policy.name, self._policy.order(identities)
        else:
            order = gate.order if order is None else order
            policy_name = order if isinstance(order, str) else "explicit"
            if order in schedules.POLICIES:
                if gate.policy is None or gate.order != order:  # a policy asked for at release
                    gate.policy = gate.make_policy(order)
                positions = gate.policy.order(identities)
            else:
                positions = release_sequence(len(batch), order, self._rng)
        gate.held = []
        gate.batches_released += 1
        task = asyncio.get_running_loop().create_task(
            self._release_in_turn(gate, batch, positions, policy_name, gate.batches_released))
        self._releasers[task] = batch
        task.add_done_callback(lambda t: self._releasers.pop(t, None))
        return len(batch)

    async def _release_in_turn(
        self, gate: Gate, batch: list[HeldRequest], positions: list[int], policy: str, number: int
    ) -> None:
        for turn, position in enumerate(positions):
            held = batch[position]
            if held.go.done():  # its client went away while held
                continue
            held.released = True
            self._on_event(held, "released", gate, position=position, turn=turn, batch=number,
                           policy=policy, identity=str(held.identity) if held.identity else None)
            if not held.go.done():  # a journal listener may have cancelled it meanwhile
                held.go.set_result(None)
            await held.passed.wait()

    def _release_now(self, gate: Gate) -> None:
        self._let_go(gate, gate.held)
        gate.held = []

    def _let_go(self, gate: Gate, batch: list[HeldRequest]) -> None:
        for held in batch:
            if not held.go.done():
                held.released = True
                self._on_event(held, "released", gate, position=-1, turn=-1,
                               identity=str(held.identity) if held.identity else None)
                held.go.set_result(None)
