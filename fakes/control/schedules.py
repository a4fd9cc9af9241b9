"""Release schedules for gates: which held request goes next, as pure, seeded, socket-free code.

A gate holds a batch of requests and releases them one at a time. Which order it uses is a
*release policy*:

- `Explore(index)`: the index-th of every distinct order of the batch. Orders that differ only by
  swapping requests that cannot conflict (another bot token, auth key, session file or connection
  group) are one order: a partial-order reduction, so 2+2 requests of two tokens give 6 orders,
  not 24, and requests of three different tokens give 1.
- `PCT(seed, depth)`: probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010) over the
  held requests and the gate's release steps: random distinct priorities, depth-1 priority change
  points; a bug needing `depth` ordering constraints is hit with probability >= 1/(n*k^(d-1)).
- `Random(seed)`: a seeded shuffle of each batch.
- `Replay(schedule)`: a recorded schedule, matched to the held requests by stable identity.

A request's stable identity is (fake, principal, method, n): the principal names the token, key
or connection group by order of first appearance ("bot1", "conn2"), never by run-specific ids or
arrival times, and n counts the requests with that (fake, principal, method). So a schedule means
the same thing on another run, and `encode_token`/`decode_token` make it a short replay token.
`shrink` reduces a failing schedule to the fewest deviations from arrival order that still fail.
"""

from __future__ import annotations

import base64
import itertools
import json
import random
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

POLICIES = ("explore", "pct", "random")
# Beyond this many held requests `explore` no longer enumerates (8! = 40320 orders to dedupe):
# use pct or random there.
EXPLORE_MAX = 8
TOKEN_PREFIX = "bf1."
TOKEN_MAX_BYTES = 1 << 20  # what a token may inflate to


@dataclass(frozen=True, order=True)
class RequestIdentity:
    fake: str
    principal: str  # "bot1", "conn1", "key1"...; "" = not known, so it may conflict with any
    method: str
    n: int  # 1 = the first request of this (fake, principal, method)

    def __str__(self) -> str:
        return f"{self.fake}/{self.principal or '*'}/{self.method}/{self.n}"

    @classmethod
    def parse(cls, text: str) -> "RequestIdentity":
        parts = str(text).split("/")
        if len(parts) != 4 or not parts[0] or not parts[2] or not parts[3].isdigit():
            raise ValueError(f"a request identity is fake/principal/method/n, not {text!r}")
        return cls(parts[0], "" if parts[1] == "*" else parts[1], parts[2], int(parts[3]))

    def conflicts(self, other: "RequestIdentity") -> bool:
        """Whether releasing the two in the other order could change what happens."""
        if self.fake != other.fake:
            return False
        return not self.principal or not other.principal or self.principal == other.principal


def principal_of(fake: str, conn: str, params: Mapping[str, Any]) -> tuple[str, str] | None:
    """(kind, raw value) of what a request contends on, as the fake knows it; None if unknown.

    Bot API requests contend per bot token, MTProto per auth key or session file, a Deriv
    WebSocket's requests per connection (their replies interleave on that one socket).
    """
    for key, kind in (("auth_key_id", "key"), ("session", "session"), ("bot_id", "bot")):
        value = params.get(key)
        if value not in (None, ""):
            return kind, str(value)
    if fake == "deriv" and conn:
        return "conn", conn
    return None


class IdentityNamer:
    """Names requests stably: principals by order of first appearance, n per identity."""

    def __init__(self) -> None:
        self._principals: dict[tuple[str, str], str] = {}
        self._kinds: dict[str, int] = {}
        self._counts: dict[tuple[str, str, str], int] = {}

    def name(self, fake: str, conn: str, method: str, params: Mapping[str, Any]) -> RequestIdentity:
        found = principal_of(fake, conn, params)
        label = ""
        if found is not None:
            label = self._principals.get(found, "")
            if not label:
                self._kinds[found[0]] = self._kinds.get(found[0], 0) + 1
                label = self._principals[found] = f"{found[0]}{self._kinds[found[0]]}"
        key = (fake, label, method)
        self._counts[key] = self._counts.get(key, 0) + 1
        return RequestIdentity(fake, label, method, self._counts[key])


# -- schedules ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Batch:
    """One release of a gate: what it held (in arrival order) and the order it let them go."""

    arrival: tuple[RequestIdentity, ...]
    order: tuple[int, ...]  # arrival positions in release order

    def __post_init__(self) -> None:
        if sorted(self.order) != list(range(len(self.arrival))):
            raise ValueError(f"order {list(self.order)} is not a permutation of 0..{len(self.arrival) - 1}")

    @property
    def released(self) -> tuple[RequestIdentity, ...]:
        return tuple(self.arrival[i] for i in self.order)

    def to_json(self) -> list:
        return [[str(i) for i in self.arrival], list(self.order)]

    @classmethod
    def from_json(cls, data: Any) -> "Batch":
        if not (isinstance(data, list) and len(data) == 2 and all(isinstance(x, list) for x in data)):
            raise ValueError("a batch is [[identity, ...], [position, ...]]")
        if not all(isinstance(i, int) and not isinstance(i, bool) for i in data[1]):
            raise ValueError("a batch's order is a list of arrival positions")
        return cls(tuple(RequestIdentity.parse(i) for i in data[0]), tuple(data[1]))


Schedule = tuple[Batch, ...]


def schedule_to_json(schedule: Schedule) -> list:
    return [b.to_json() for b in schedule]


def schedule_from_json(data: Any) -> Schedule:
    if not isinstance(data, list):
        raise ValueError("a schedule is a list of batches")
    return tuple(Batch.from_json(b) for b in data)


def deviations(order: Sequence[int]) -> int:
    """How many release steps did not let the earliest-arrived remaining request go."""
    remaining = sorted(order)
    count = 0
    for position in order:
        if position != remaining[0]:
            count += 1
        remaining.remove(position)
    return count


def schedule_deviations(schedule: Schedule) -> int:
    return sum(deviations(b.order) for b in schedule)


def describe(schedule: Schedule) -> str:
    """e.g. "deriv/conn1/ticks_history/2 < deriv/conn1/ticks_history/1 < ...; ..." per batch."""
    return "; ".join(" < ".join(str(i) for i in b.released) for b in schedule) or "(no gate released)"


# -- partial-order reduction -------------------------------------------------------------------


def _signature(batch: Sequence[RequestIdentity], order: Sequence[int]) -> tuple:
    """What an order decides: the relative order of every pair of requests that conflict."""
    rank = {p: r for r, p in enumerate(order)}
    return tuple(rank[i] < rank[j] for i, j in itertools.combinations(range(len(batch)), 2)
                 if batch[i].conflicts(batch[j]))


def distinct_orders(batch: Sequence[RequestIdentity], limit: int | None = None) -> Iterator[tuple[int, ...]]:
    """One order per class of orders that only swap non-conflicting requests, arrival first.

    Each class is represented by its lexicographically smallest order, and only those are built:
    an order is the smallest of its class iff no request x follows a run of requests it does not
    conflict with that holds one arriving after x (Anisimov-Knuth), a property of prefixes, so a
    depth-first search that never appends such an x yields each class once, in lexicographic
    order, at a cost proportional to the classes rather than to n!.
    """
    n = len(batch)
    if n > EXPLORE_MAX:
        raise ValueError(f"{n} held requests: too many to explore every order (at most "
                         f"{EXPLORE_MAX}); use the pct or random policy")
    conflict = [[batch[i].conflicts(batch[j]) for j in range(n)] for i in range(n)]
    order: list[int] = []
    used = [False] * n
    produced = 0

    def normal_with(x: int) -> bool:
        for y in reversed(order):
            if conflict[x][y]:
                return True  # x cannot move before y: the scan ends here
            if y > x:
                return False  # x could swap ahead of y: a smaller order of the same class
        return True

    def extend() -> Iterator[tuple[int, ...]]:
        nonlocal produced
        if len(order) == n:
            produced += 1
            yield tuple(order)
            return
        for x in range(n):
            if not used[x] and normal_with(x):
                used[x] = True
                order.append(x)
                yield from extend()
                order.pop()
                used[x] = False
                if limit is not None and produced >= limit:
                    return

    yield from extend()


def count_orders(batch: Sequence[RequestIdentity]) -> int:
    return sum(1 for _ in distinct_orders(batch))


def explore_schedules(shape: Sequence[Sequence[RequestIdentity]], limit: int | None = None) -> Iterator[Schedule]:
    """Every schedule over batches of this shape (each batch's distinct orders, combined)."""
    per_batch = [list(distinct_orders(b)) for b in shape]
    produced = 0
    for combo in itertools.product(*per_batch):
        yield tuple(Batch(tuple(b), o) for b, o in zip(shape, combo))
        produced += 1
        if limit is not None and produced >= limit:
            return


# -- policies ----------------------------------------------------------------------------------


class Policy:
    """Decides the release order of each batch a gate lets go (batches in arrival order)."""

    name = ""

    def order(self, batch: Sequence[RequestIdentity]) -> list[int]:
        raise NotImplementedError


class Explore(Policy):
    name = "explore"

    def __init__(self, index: int = 0) -> None:
        if index < 0:
            raise ValueError("schedule must be 0 or more")
        self.index = index
        self.orders_available = 0  # how many distinct orders the last batch had

    def order(self, batch: Sequence[RequestIdentity]) -> list[int]:
        if len(batch) > EXPLORE_MAX:
            # too many to enumerate: the index-th order is PCT's with that seed (0 = "many")
            self.orders_available = 0
            return PCT(self.index, depth=3).order(batch)
        orders = list(distinct_orders(batch))
        self.orders_available = len(orders)
        return list(orders[self.index % len(orders)]) if orders else []


class PCT(Policy):
    """PCT over single-step "threads" (each held request is released once).

    Every request gets a random distinct priority when first seen, at or above `depth`; the
    highest-priority held request goes next. depth-1 change points are drawn among the release
    steps 1..steps: at a change point the request about to go drops to a priority below every
    initial one, so it is deferred. `steps` bounds the gate's total release steps (default: the
    size of the first batch).
    """

    name = "pct"

    def __init__(self, seed: int = 0, depth: int = 2, steps: int | None = None) -> None:
        if depth < 1:
            raise ValueError("depth must be at least 1")
        self.rng = random.Random(seed)
        self.depth = depth
        self.steps = steps
        self._priority: dict[RequestIdentity, float] = {}
        self._change_points: dict[int, int] | None = None  # step -> the priority it drops to
        self._step = 0

    def order(self, batch: Sequence[RequestIdentity]) -> list[int]:
        if self._change_points is None:
            k = max(self.steps or 0, len(batch), 1)
            points = self.rng.sample(range(1, k + 1), min(self.depth - 1, k))
            self._change_points = {step: self.depth - 1 - i for i, step in enumerate(points)}
        for identity in batch:
            if identity not in self._priority:
                # a random rank among the ones seen so far, always above the change-point levels
                self._priority[identity] = self.depth + self.rng.random()
        remaining = list(range(len(batch)))
        released = []
        while remaining:
            self._step += 1
            best = max(remaining, key=lambda i: self._priority[batch[i]])
            if self._step in self._change_points:
                self._priority[batch[best]] = self._change_points[self._step]
                best = max(remaining, key=lambda i: self._priority[batch[i]])
            remaining.remove(best)
            released.append(best)
        return released


class Random(Policy):
    name = "random"

    def __init__(self, seed: int = 0) -> None:
        self.rng = random.Random(seed)

    def order(self, batch: Sequence[RequestIdentity]) -> list[int]:
        positions = list(range(len(batch)))
        self.rng.shuffle(positions)
        return positions


class Replay(Policy):
    """The i-th batch released goes in the recorded schedule's i-th batch order, by identity.

    Held requests the schedule does not name follow in arrival order, so a replay of a run that
    diverged still releases everything.
    """

    name = "replay"

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule
        self._batch = 0

    def order(self, batch: Sequence[RequestIdentity]) -> list[int]:
        wanted = self.schedule[self._batch].released if self._batch < len(self.schedule) else ()
        self._batch += 1
        where = {identity: i for i, identity in enumerate(batch)}
        first = [where[i] for i in wanted if i in where]
        return first + [i for i in range(len(batch)) if i not in first]


def make_policy(order: str, *, schedule: int | Schedule | None = None, seed: int = 0,
                depth: int = 2, steps: int | None = None) -> Policy:
    if order == "explore":
        if isinstance(schedule, tuple):
            return Replay(schedule)
        return Explore(int(schedule or 0))
    if order == "pct":
        return PCT(seed, depth, steps)
    if order == "random":
        return Random(seed)
    raise ValueError(f"a schedule policy is one of {', '.join(POLICIES)}, not {order!r}")


def policy_from_json(body: Mapping[str, Any]) -> Policy:
    """A policy from a control request: {"order": "explore"|"pct"|"random"|"replay", ...}.

    explore: "schedule" (the index of the distinct order); pct: "seed", "depth", "steps";
    random: "seed"; replay: "schedule" (a schedule as `schedule_to_json` writes it) or "token".
    """
    order = body.get("order")
    for key in ("seed", "depth", "steps") + (("schedule",) if order != "replay" else ()):
        value = body.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError(f"{key} must be an integer or null")
    if order == "replay":
        if body.get("token"):
            return Replay(decode_token(str(body["token"])).schedule)
        try:
            return Replay(schedule_from_json(body.get("schedule")))
        except ValueError as exc:
            raise ValueError(f"schedule: {exc}") from None
    if order not in POLICIES:
        raise ValueError(f"order must be one of {', '.join(POLICIES + ('replay',))}")
    return make_policy(order, schedule=body.get("schedule"), seed=body.get("seed") or 0,
                       depth=2 if body.get("depth") is None else body["depth"], steps=body.get("steps"))


def schedule_from_events(events: Iterable[Any]) -> Schedule:
    """The schedule the gates released, from the journal's gate "released" events, batch by batch.

    Requests let go at once (a gate removed, a reset) have no turn and are not part of it; a
    request whose client went away while held leaves its batch, the others keep their order.
    """
    batches: dict[tuple[str, int], list[tuple[int, int, RequestIdentity]]] = {}
    for e in events:
        e = e if isinstance(e, Mapping) else e.to_json()
        data = e.get("data") or {}
        if e.get("kind") != "gate" or data.get("action") != "released" or data.get("turn", -1) < 0:
            continue
        if not data.get("identity") or "batch" not in data:
            continue
        key = (str(data["gate"]), int(data["batch"]))
        batches.setdefault(key, []).append(
            (int(data["turn"]), int(data["position"]), RequestIdentity.parse(data["identity"])))
    out = []
    for released in batches.values():  # dicts keep the order the batches started in
        by_arrival = sorted(released, key=lambda r: r[1])
        rank = {position: i for i, (_, position, _) in enumerate(by_arrival)}
        arrival = tuple(identity for _, _, identity in by_arrival)
        order = tuple(rank[position] for _, position, _ in sorted(released))
        out.append(Batch(arrival, order))
    return tuple(out)


def schedule_report(policy: Policy | None, events: Iterable[Any], name: str = "test",
                    bot: str = "") -> dict[str, Any]:
    """What GET /_control/schedule answers: the policy in force and the schedule released."""
    schedule = schedule_from_events(events)
    return {
        "policy": policy.name if policy is not None else None,
        "schedule": schedule_to_json(schedule),
        "text": describe(schedule),
        "deviations": schedule_deviations(schedule),
        "token": encode_token(name, bot, schedule),
    }


# -- replay tokens -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplayToken:
    scenario: str
    bot: str
    schedule: Schedule = field(default=())


_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _batch_text(batch: Batch) -> str:
    """e.g. "deriv/conn1/ticks_history/1-3=102": identities in arrival order (consecutive ones
    of one fake/principal/method as a range), then the release order as arrival positions."""
    runs: list[list[Any]] = []  # [identity of the first, last n]
    for identity in batch.arrival:
        last = runs[-1] if runs else None
        if last and (last[0].fake, last[0].principal, last[0].method) == (
                identity.fake, identity.principal, identity.method) and identity.n == last[1] + 1:
            last[1] = identity.n
        else:
            runs.append([identity, identity.n])
    names = ",".join(str(first) + (f"-{n}" if n != first.n else "") for first, n in runs)
    if len(batch.order) <= len(_DIGITS):
        order = "".join(_DIGITS[i] for i in batch.order)
    else:
        order = ".".join(str(i) for i in batch.order)
    return f"{names}={order}"


def _batch_from_text(text: str) -> Batch:
    names, _, order_text = text.rpartition("=")
    arrival: list[RequestIdentity] = []
    for name in names.split(",") if names else []:
        head, _, last = name.rpartition("-") if "-" in name.rsplit("/", 1)[-1] else (name, "", "")
        first = RequestIdentity.parse(head)
        end = int(last) if last else first.n
        arrival += [RequestIdentity(first.fake, first.principal, first.method, n)
                    for n in range(first.n, end + 1)]
    if "." in order_text or len(arrival) > len(_DIGITS):
        order = tuple(int(i) for i in order_text.split(".") if i != "")
    else:
        order = tuple(_DIGITS.index(c) for c in order_text)
    return Batch(tuple(arrival), order)


def encode_token(scenario: str, bot: str, schedule: Schedule) -> str:
    """A short, copy-pasteable token: "bf1." + base64url of "scenario\nbot\nbatch;batch"
    (zlib-compressed, marked "z", when that is shorter; else "t")."""
    raw = "\n".join([scenario, bot, ";".join(_batch_text(b) for b in schedule)]).encode()
    packed = zlib.compress(raw, 9)
    mark, body = ("z", packed) if len(packed) < len(raw) else ("t", raw)
    return TOKEN_PREFIX + mark + base64.urlsafe_b64encode(body).decode().rstrip("=")


def decode_token(token: str) -> ReplayToken:
    token = token.strip()
    if not token.startswith(TOKEN_PREFIX) or len(token) < len(TOKEN_PREFIX) + 1:
        raise ValueError(f"a replay token starts with {TOKEN_PREFIX!r}")
    mark, body = token[len(TOKEN_PREFIX)], token[len(TOKEN_PREFIX) + 1:]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        if mark == "z":
            inflate = zlib.decompressobj()
            raw = inflate.decompress(raw, TOKEN_MAX_BYTES)
            if inflate.unconsumed_tail:  # a token is a few hundred bytes: refuse a zip bomb
                raise ValueError(f"it inflates beyond {TOKEN_MAX_BYTES} bytes")
        elif mark != "t":
            raise ValueError(f"unknown token kind {mark!r}")
        scenario, bot, batches = raw.decode().split("\n")
        schedule = tuple(_batch_from_text(b) for b in batches.split(";") if b)
    except (ValueError, TypeError, zlib.error, UnicodeDecodeError) as exc:
        raise ValueError(f"not a valid replay token: {exc}") from None
    return ReplayToken(scenario, bot, schedule)


# -- shrinking ---------------------------------------------------------------------------------


def _choices(order: Sequence[int]) -> list[int]:
    """The order as "index among the remaining, in arrival order" at each step (0 = no deviation)."""
    remaining = sorted(order)
    out = []
    for position in order:
        out.append(remaining.index(position))
        remaining.remove(position)
    return out


def _from_choices(choices: Sequence[int], n: int) -> tuple[int, ...]:
    remaining = list(range(n))
    out = []
    for choice in choices:
        out.append(remaining.pop(min(choice, len(remaining) - 1)))
    return tuple(out)


def _without(schedule: Schedule, dropped: frozenset[tuple[int, int]]) -> Schedule:
    """The schedule with the deviations at these (batch, step) places undone."""
    out = []
    for b, batch in enumerate(schedule):
        choices = [0 if (b, s) in dropped else c for s, c in enumerate(_choices(batch.order))]
        out.append(Batch(batch.arrival, _from_choices(choices, len(batch.arrival))))
    return tuple(out)


def shrink(schedule: Schedule, fails: Callable[[Schedule], bool], *, max_tests: int = 64,
           known: Mapping[Schedule, bool] | None = None) -> tuple[Schedule, int]:
    """The failing schedule with the fewest deviations from arrival order; (it, tests run).

    `fails(s)` runs schedule s and says whether it still fails. Schedules that undo a subset of
    the deviations are tried fewest-deviations first, so the first that fails is minimal (all of
    them when there are at most `max_tests`; otherwise deviations are undone one at a time,
    greedily, while the result still fails). `known` verdicts are used instead of runs.
    """
    verdicts: dict[Schedule, bool] = dict(known or {})
    tests = 0

    def judged(candidate: Schedule) -> bool:
        nonlocal tests
        if candidate not in verdicts:
            tests += 1
            verdicts[candidate] = bool(fails(candidate))
        return verdicts[candidate]

    places = [(b, s) for b, batch in enumerate(schedule)
              for s, c in enumerate(_choices(batch.order)) if c]
    if 2 ** len(places) - 1 <= max_tests:
        candidates: dict[Schedule, None] = {}
        for size in range(len(places) + 1):
            for kept in itertools.combinations(places, size):
                candidates.setdefault(_without(schedule, frozenset(places) - frozenset(kept)))
        for candidate in sorted(candidates, key=schedule_deviations):
            if schedule_deviations(candidate) >= schedule_deviations(schedule):
                break
            if judged(candidate):
                return candidate, tests
        return schedule, tests
    current = schedule
    improved = True
    while improved and tests < max_tests:
        improved = False
        for place in [(b, s) for b, batch in enumerate(current)
                      for s, c in enumerate(_choices(batch.order)) if c]:
            candidate = _without(current, frozenset([place]))
            if schedule_deviations(candidate) < schedule_deviations(current) and judged(candidate):
                current, improved = candidate, True
                break
            if tests >= max_tests:
                break
    return current, tests


def minimal_failing(verdicts: Iterable[tuple[Schedule, bool]]) -> Schedule | None:
    """Of the schedules run, the failing one with the fewest deviations (first such one run)."""
    failing = [s for s, failed in verdicts if failed]
    return min(failing, key=schedule_deviations) if failing else None
