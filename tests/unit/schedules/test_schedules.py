"""Release schedules on their own: identities, partial-order reduction, PCT, tokens, shrinking."""

import itertools
import random

import pytest

from botfakes.fakes.control import schedules as s
from botfakes.fakes.control.schedules import Batch, RequestIdentity


def ident(principal: str, n: int = 1, fake: str = "deriv", method: str = "ticks_history") -> RequestIdentity:
    return RequestIdentity(fake, principal, method, n)


def same_key(k: int) -> list[RequestIdentity]:
    return [ident("conn1", i + 1) for i in range(k)]


# -- identities --------------------------------------------------------------------------------


def test_identities_name_principals_by_first_appearance_and_count_per_identity():
    namer = s.IdentityNamer()
    names = [
        namer.name("botapi", "botapi#91", "getUpdates", {"bot_id": "777"}),
        namer.name("botapi", "botapi#92", "getUpdates", {"bot_id": "555"}),
        namer.name("botapi", "botapi#93", "getUpdates", {"bot_id": "777"}),
        namer.name("deriv", "deriv#40", "ping", {}),
        namer.name("deriv", "deriv#41", "ping", {}),
        namer.name("mtproto", "mtproto#7", "invokeWithLayer", {}),
    ]
    assert [str(n) for n in names] == [
        "botapi/bot1/getUpdates/1", "botapi/bot2/getUpdates/1", "botapi/bot1/getUpdates/2",
        "deriv/conn1/ping/1", "deriv/conn2/ping/1", "mtproto/*/invokeWithLayer/1",
    ]


def test_the_same_traffic_gets_the_same_identities_whatever_the_run_specific_ids():
    def run(bot_ids, conns):
        namer = s.IdentityNamer()
        return [str(namer.name("botapi", c, "sendMessage", {"bot_id": b})) for b, c in zip(bot_ids, conns)]

    assert run(["11", "22", "11"], ["botapi#1", "botapi#2", "botapi#3"]) == \
        run(["9001", "9002", "9001"], ["botapi#77", "botapi#78", "botapi#80"])


def test_identity_round_trips_through_text_and_rejects_junk():
    for identity in (ident("conn1", 3), ident("", 1, "mtproto", "invokeWithLayer"),
                     ident("bot2", 12, "botapi", "getUpdates")):
        assert RequestIdentity.parse(str(identity)) == identity
    for junk in ("", "deriv/conn1/ping", "deriv/conn1/ping/x", "/conn1/ping/1", "a/b/c/d/1"):
        with pytest.raises(ValueError, match="fake/principal/method/n"):
            RequestIdentity.parse(junk)


def test_conflicts_follow_the_principal():
    assert ident("conn1", 1).conflicts(ident("conn1", 2))
    assert not ident("conn1").conflicts(ident("conn2"))
    assert ident("").conflicts(ident("conn2"))  # unknown principal: may conflict with anything
    assert not ident("conn1", fake="deriv").conflicts(ident("conn1", fake="botapi"))


def test_principal_of_each_fake():
    assert s.principal_of("botapi", "botapi#1", {"bot_id": "5"}) == ("bot", "5")
    assert s.principal_of("mtproto", "mtproto#1", {"auth_key_id": 99}) == ("key", "99")
    assert s.principal_of("mtproto", "mtproto#1", {"session": "/tmp/a.session"}) == ("session", "/tmp/a.session")
    assert s.principal_of("deriv", "deriv#3", {"ticks": "R_50"}) == ("conn", "deriv#3")
    assert s.principal_of("mtproto", "mtproto#1", {}) is None


# -- partial-order reduction -------------------------------------------------------------------


@pytest.mark.parametrize("batch, expected", [
    (same_key(1), 1),
    (same_key(3), 6),  # one socket: every order matters
    (same_key(4), 24),
    ([ident("bot1"), ident("bot2"), ident("bot3")], 1),  # three tokens: nothing to race
    ([ident("bot1", 1), ident("bot1", 2), ident("bot2", 1), ident("bot2", 2)], 4),  # 2! x 2!, not 4!
    ([ident("bot1", 1), ident("bot1", 2), ident("bot1", 3), ident("bot2", 1)], 6),  # 3! x 1!
    ([ident("bot1"), ident("bot2"), ident("")], 4),  # the unknown one races both
])
def test_partial_order_reduction_counts(batch, expected):
    assert s.count_orders(batch) == expected


def test_distinct_orders_start_with_arrival_and_cover_every_class():
    rng = random.Random(4)
    for _ in range(40):
        n = rng.randint(1, 6)
        batch = [ident(rng.choice(["conn1", "conn2", "conn3", ""]), i + 1) for i in range(n)]
        orders = list(s.distinct_orders(batch))
        assert orders[0] == tuple(range(n))
        signatures = [s._signature(batch, o) for o in orders]
        assert len(set(signatures)) == len(orders)  # no class twice
        every = {s._signature(batch, p) for p in itertools.permutations(range(n))}
        assert set(signatures) == every  # no class missed


def test_orders_within_one_class_only_swap_independent_neighbours():
    batch = [ident("bot1", 1), ident("bot2", 1), ident("bot1", 2)]
    # only bot1's two conflict: (0, 2, 1) and (1, 0, 2) are (0, 1, 2) again; (1, 2, 0) is the
    # smallest order with bot1's second before its first
    assert list(s.distinct_orders(batch)) == [(0, 1, 2), (1, 2, 0)]


def test_distinct_orders_stop_at_a_limit():
    assert list(s.distinct_orders(same_key(4), limit=3)) == [(0, 1, 2, 3), (0, 1, 3, 2), (0, 2, 1, 3)]


def test_explore_refuses_too_many_requests():
    with pytest.raises(ValueError, match="pct or random"):
        list(s.distinct_orders(same_key(s.EXPLORE_MAX + 1)))


def test_explore_policy_beyond_enumeration_uses_pct():
    big = same_key(s.EXPLORE_MAX + 2)
    policy = s.Explore(3)
    assert policy.order(big) == s.PCT(3, depth=3).order(big) and policy.orders_available == 0


def test_explore_schedules_combine_batches():
    shape = [same_key(3), [ident("bot1"), ident("bot2")], same_key(2)]
    schedules = list(s.explore_schedules(shape))
    assert len(schedules) == 6 * 1 * 2
    assert len(set(schedules)) == len(schedules)
    assert schedules[0] == tuple(Batch(tuple(b), tuple(range(len(b)))) for b in shape)
    assert len(list(s.explore_schedules(shape, limit=5))) == 5


def test_explore_policy_walks_the_orders_and_wraps():
    batch = same_key(3)
    seen = []
    for index in range(7):
        policy = s.Explore(index)
        seen.append(tuple(policy.order(batch)))
        assert policy.orders_available == 6
    assert seen[:6] == list(itertools.permutations(range(3)))
    assert seen[6] == seen[0]


# -- PCT and random ----------------------------------------------------------------------------


def test_pct_is_deterministic_per_seed_and_gives_permutations():
    batch = same_key(5)
    for seed in range(50):
        a = s.PCT(seed, depth=3).order(batch)
        assert a == s.PCT(seed, depth=3).order(batch)
        assert sorted(a) == list(range(5))
    assert len({tuple(s.PCT(seed, depth=2).order(batch)) for seed in range(200)}) > 20


@pytest.mark.parametrize("n, depth", [(3, 1), (3, 2), (3, 3), (4, 2), (4, 3)])
def test_pct_meets_its_probability_bound(n, depth):
    """Every order of n requests is a bug of depth at most n-1; PCT must hit each order with
    probability >= 1/(n * k^(d-1)) (k = n release steps) whenever d covers that depth."""
    batch = same_key(n)
    runs = 4000
    counts = {}
    for seed in range(runs):
        order = tuple(s.PCT(seed, depth=depth).order(batch))
        counts[order] = counts.get(order, 0) + 1
    bound = 1 / (n * n ** (depth - 1))
    if depth == 1:
        # depth 1: one constraint, "request i goes first"
        for first in range(n):
            hit = sum(c for o, c in counts.items() if o[0] == first) / runs
            assert hit >= bound * 0.9, (first, hit, bound)
    else:
        # a depth-d bug: "a before b" chains of d requests, e.g. i < j < k for d=2 on 3 requests
        for chain in itertools.permutations(range(n), depth + 1 if depth + 1 <= n else n):
            hit = sum(c for o, c in counts.items()
                      if all(o.index(x) < o.index(y) for x, y in zip(chain, chain[1:]))) / runs
            assert hit >= bound * 0.9, (chain, hit, bound)


def test_pct_keeps_priorities_across_batches():
    policy = s.PCT(7, depth=1)
    first = policy.order([ident("conn1", 1), ident("conn1", 2)])
    # the same two again plus a newcomer: the two keep their relative order
    second = policy.order([ident("conn1", 1), ident("conn1", 2), ident("conn1", 3)])
    assert [p for p in second if p < 2] == first


def test_random_policy_is_seeded():
    batch = same_key(6)
    assert s.Random(3).order(batch) == s.Random(3).order(batch)
    assert len({tuple(s.Random(seed).order(batch)) for seed in range(100)}) > 50
    assert sorted(s.Random(9).order(batch)) == list(range(6))


def test_make_policy():
    assert isinstance(s.make_policy("explore", schedule=2), s.Explore)
    assert isinstance(s.make_policy("pct", seed=1, depth=3), s.PCT)
    assert isinstance(s.make_policy("random", seed=1), s.Random)
    assert isinstance(s.make_policy("explore", schedule=(Batch((ident("conn1"),), (0,)),)), s.Replay)
    with pytest.raises(ValueError, match="explore, pct, random"):
        s.make_policy("sideways")
    with pytest.raises(ValueError, match="depth"):
        s.make_policy("pct", depth=0)


# -- replay ------------------------------------------------------------------------------------


def test_replay_matches_by_identity_not_position():
    recorded = (Batch(tuple(same_key(3)), (2, 0, 1)),)
    policy = s.Replay(recorded)
    # this run the same three arrive with a stranger first
    batch = [ident("conn9", 1, method="ping")] + same_key(3)
    order = policy.order(batch)
    assert [batch[i] for i in order] == [ident("conn1", 3), ident("conn1", 1), ident("conn1", 2),
                                         ident("conn9", 1, method="ping")]
    assert policy.order(same_key(2)) == [0, 1]  # beyond the recording: arrival order


def test_deviations():
    assert s.deviations((0, 1, 2, 3)) == 0
    assert s.deviations((3, 2, 1, 0)) == 3
    assert s.deviations((1, 0, 2)) == 1
    assert s.deviations((0, 2, 1)) == 1
    assert s.deviations((1, 2, 0)) == 2
    assert s.schedule_deviations((Batch(tuple(same_key(3)), (1, 2, 0)),
                                  Batch(tuple(same_key(2)), (1, 0)))) == 3


def test_tokens_round_trip_and_stay_short():
    schedule = (Batch(tuple(same_key(3)), (1, 0, 2)),
                Batch((ident("bot1", 1, "botapi", "getUpdates"), ident("bot1", 2, "botapi", "getUpdates")), (1, 0)))
    token = s.encode_token("deriv_replies_out_of_order", "naive_deque_ends_router", schedule)
    assert token.startswith("bf1.") and len(token) < 200
    assert all(c.isalnum() or c in "-_." for c in token)  # pastes into a shell unquoted
    decoded = s.decode_token(token)
    assert (decoded.scenario, decoded.bot, decoded.schedule) == (
        "deriv_replies_out_of_order", "naive_deque_ends_router", schedule)
    assert s.decode_token(s.encode_token("x", "y", ())).schedule == ()


@pytest.mark.parametrize("junk", ["", "bf2.abc", "bf1.!!!", "bf1.eJzLSM3JyQcABiwCFQ", "bf1."])
def test_bad_tokens_are_refused(junk):
    with pytest.raises(ValueError, match="replay token"):
        s.decode_token(junk)


def test_a_token_with_a_bad_schedule_is_refused():
    import base64
    body = base64.urlsafe_b64encode(b"a\nb\nderiv/conn1/x/1=00").decode()
    with pytest.raises(ValueError, match="permutation"):
        s.decode_token(s.TOKEN_PREFIX + "t" + body)


def test_a_token_that_inflates_without_bound_is_refused():
    import base64
    import zlib
    bomb = base64.urlsafe_b64encode(zlib.compress(b"a\nb\n" + b"x" * (8 << 20), 9)).decode()
    assert len(bomb) < 20_000
    with pytest.raises(ValueError, match="inflates beyond"):
        s.decode_token(s.TOKEN_PREFIX + "z" + bomb)


def test_token_ranges_and_long_batches_round_trip():
    mixed = (ident("conn1", 1), ident("conn1", 2), ident("conn2", 1), ident("conn1", 3),
             ident("", 1, "mtproto", "invokeWithLayer"))
    long = tuple(ident("conn1", n) for n in range(1, 41))
    schedule = (Batch(mixed, (4, 3, 2, 1, 0)), Batch(long, tuple(reversed(range(40)))), Batch((), ()))
    assert s.decode_token(s.encode_token("sc", "bot", schedule)).schedule == schedule


# -- shrinking ---------------------------------------------------------------------------------


def middle_first(schedule) -> bool:
    """The deque-ends bug: the middle of three pending requests answered while both others wait."""
    order = schedule[0].order
    return order.index(1) < order.index(0) and order.index(1) < order.index(2)


def test_shrink_finds_the_fewest_deviations():
    failing = (Batch(tuple(same_key(3)), (1, 2, 0)),)  # 2 deviations
    assert middle_first(failing)
    shrunk, tests = s.shrink(failing, middle_first)
    assert shrunk[0].order == (1, 0, 2) and s.schedule_deviations(shrunk) == 1
    assert tests <= 3


def test_shrink_keeps_a_schedule_that_is_already_minimal():
    failing = (Batch(tuple(same_key(3)), (1, 0, 2)),)
    shrunk, _ = s.shrink(failing, middle_first)
    assert shrunk == failing


def test_shrink_uses_known_verdicts_instead_of_runs():
    failing = (Batch(tuple(same_key(3)), (1, 2, 0)),)
    known = {sched: middle_first(sched) for sched in s.explore_schedules([same_key(3)])}
    shrunk, tests = s.shrink(failing, lambda _: pytest.fail("ran a schedule it knew"), known=known)
    assert tests == 0 and shrunk[0].order == (1, 0, 2)


def test_shrink_greedy_when_there_are_too_many_subsets():
    n = 7
    worst = tuple(range(n - 1, -1, -1))  # reverse: 6 deviations, 63 subsets
    fails = lambda sched: sched[0].order.index(n - 1) < sched[0].order.index(0)  # noqa: E731
    shrunk, tests = s.shrink((Batch(tuple(same_key(n)), worst),), fails, max_tests=10)
    assert fails(shrunk) and s.schedule_deviations(shrunk) == 1  # "n-1 goes first", the rest in order
    assert tests <= 10 + n


def test_shrink_over_several_batches():
    schedule = (Batch(tuple(same_key(2)), (1, 0)), Batch(tuple(same_key(3)), (2, 1, 0)))
    fails = lambda sched: sched[1].order[0] == 2  # noqa: E731 - only the second batch matters
    shrunk, _ = s.shrink(schedule, fails)
    assert shrunk[0].order == (0, 1) and shrunk[1].order == (2, 0, 1)


def test_minimal_failing_picks_fewest_deviations():
    runs = [(sched, middle_first(sched)) for sched in s.explore_schedules([same_key(3)])]
    best = s.minimal_failing(runs)
    assert best is not None and best[0].order == (1, 0, 2)
    assert s.minimal_failing([(runs[0][0], False)]) is None


def test_describe():
    schedule = (Batch(tuple(same_key(2)), (1, 0)),)
    assert s.describe(schedule) == "deriv/conn1/ticks_history/2 < deriv/conn1/ticks_history/1"
    assert s.describe(()) == "(no gate released)"
