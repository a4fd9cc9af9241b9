"""The Telethon part behind an HTTP API: a cold-start burst (seed 000) and a shared session (002)."""

from __future__ import annotations

import concurrent.futures

from botfakes.fakes.control.journal import Event

from .bugs import BUGS
from .harness import BotProcess, Harness
from .plugin import requires

ENDPOINTS = ("/trending-channels", "/trending-coins", "/trending-topics")
# How long a bot that has made one MTProto handshake is given to make a second before the first is
# let go. The race does not depend on it: the fake answers AUTH_KEY_DUPLICATED to a key used on a
# second connection while the first is open, so a bot that connects per request is caught whether
# its second handshake comes within the bound (both held, then released together) or after it.
# It only bounds how long a correct bot, which never opens a second connection, is kept waiting.
SECOND_CONNECTION_BOUND = 2.0


def burst(h: Harness, bot: BotProcess, n: int) -> list[tuple[str, int, bytes]]:
    """n concurrent GETs spread over the /trending-* endpoints; (path, status, body) each."""
    paths = [ENDPOINTS[i % len(ENDPOINTS)] for i in range(n)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
        futures = [pool.submit(h.http, bot, "GET", p, timeout=60.0) for p in paths]
        return [(p, *f.result()) for p, f in zip(paths, futures)]


def is_duplicated(e: Event) -> bool:
    return e.fake == "mtproto" and e.kind == "response" and "AUTH_KEY_DUPLICATED" in str(
        (e.outcome or {}).get("text", ""))


def overlapping_connections(h: Harness) -> int:
    """The most MTProto connections that were open at the same time."""
    open_now, most = 0, 0
    for e in h.events(lambda e: e.fake == "mtproto" and e.kind in ("connect", "disconnect")):
        open_now += 1 if e.kind == "connect" else -1
        most = max(most, open_now)
    return most


def check_locked(h: Harness, results: list[tuple[str, int, bytes]]) -> None:
    """"database is locked" in the bot's output or in one of its HTTP answers."""
    bug = BUGS["database-locked"]
    seen = h.quote(bug)
    if seen:
        raise h.found("database-locked", f"sqlite3.OperationalError: {seen[0]}", seen[1])
    for path, status, body in results:
        text = body.decode(errors="replace")
        if any(t in text for t in bug.texts):
            raise h.found("database-locked", "sqlite3.OperationalError: " + next(
                t for t in bug.texts if t in text), f"GET {path} answered {status}: {text[:200]}")


def check_duplicated(h: Harness, results: list[tuple[str, int, bytes]]) -> None:
    duplicated = h.events(is_duplicated)
    failed = [(p, s) for p, s, _ in results if s != 200]
    if duplicated:
        raise h.found(
            "auth-key-duplicated", f"406 {duplicated[0].outcome['text']}",
            f"{len(duplicated)} MTProto request(s) refused; {overlapping_connections(h)} connections "
            "open at once on one session", f"HTTP answers that failed: {len(failed)} of {len(results)}")
    most = overlapping_connections(h)
    if most > 1:
        raise h.found("auth-key-duplicated", f"{most} MTProto connections open at once on one session",
                      "Telegram answers AUTH_KEY_DUPLICATED to an authorized key used from two "
                      "TCP connections in parallel")


def check_answered(h: Harness, results: list[tuple[str, int, bytes]]) -> None:
    failed = [(p, s) for p, s, _ in results if s != 200]
    if failed:
        raise h.found("unanswered", f"{len(failed)} of {len(results)} requests failed",
                      f"status per endpoint: {failed[:6]}")


def forced_burst(h: Harness, bot: BotProcess, n: int) -> list[tuple[str, int, bytes]]:
    """A burst in which two MTProto handshakes, if the bot makes two, are made to overlap.

    The first handshake is held until a second one arrives: a bot that connects once per request
    always gets there, and then both go through at once. A bot that never opens a second
    connection is let go after SECOND_CONNECTION_BOUND.
    """
    gate = h.control.add_gate("mtproto", "invokeWithLayer", count=2)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        answers = pool.submit(burst, h, bot, n)
        held = lambda e: (e.kind == "gate" and e.data.get("gate") == gate["id"]  # noqa: E731
                          and e.data.get("action") == "held")
        # The bound starts at the first handshake; a bot already connected makes none.
        if h.wait_for(held, timeout=SECOND_CONNECTION_BOUND) and not h.wait_for(
                held, timeout=SECOND_CONNECTION_BOUND, count=2):
            h.control.release_gate(gate["id"])  # one connection only: let it through
        results = answers.result()
    h.control.remove_gate(gate["id"])
    return results


@requires("telethon")
def test_trending_cold_start_burst(harness: Harness) -> None:
    """Cold-start burst on /trending-*: no 406, one MTProto connection, every request answered."""
    h = harness
    h.mint()
    bot = h.start_bot("A")
    assert h.wait_http_ready(bot), "the bot's HTTP API never came up"
    results = forced_burst(h, bot, 9)
    check_duplicated(h, results)
    check_locked(h, results)
    check_answered(h, results)


@requires("telethon")
def test_shared_session_under_load(harness: Harness) -> None:
    """Load through the Telethon part on one .session file: no "database is locked", one client."""
    h = harness
    h.mint(session_file=True)
    bot = h.start_bot("A", TRENDING_CACHE_SECONDS="0")
    assert h.wait_http_ready(bot), "the bot's HTTP API never came up"
    # One request after the other first: the first leaves entities in the session file, not yet
    # committed (Telethon commits on its next save); a second client writing the file now waits
    # SQLite's 5 s busy timeout and fails. A single serialized client never does.
    calm = [(path, *h.http(bot, "GET", path, timeout=60.0)) for path in ENDPOINTS]
    check_locked(h, calm)
    check_duplicated(h, calm)
    check_answered(h, calm)
    # Then concurrent load on the same file.
    loaded = forced_burst(h, bot, 9)
    check_duplicated(h, loaded)
    check_locked(h, loaded)
    check_answered(h, loaded)
