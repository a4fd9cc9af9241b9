"""The MTProto part (Telethon, GramJS, Pyrogram): a cold-start burst (seed 000) and a shared
session under load (002).

The bot is made to use its MTProto client by its triggers ([bot.mtproto] triggers): HTTP GETs on
its $PORT (default: our reference bot's /trending-channels|coins|topics) or bot commands sent
through the fake Bot API (an answer in the chat counts as a 200).
"""

from __future__ import annotations

import concurrent.futures

from botfakes.fakes.control.journal import Event

from .bugs import BUGS
from .harness import BotProcess, Harness
from .spec import Trigger
from .plugin import requires

# How long a bot that has made one MTProto handshake is given to make a second before the first is
# let go. The race does not depend on it: the fake answers AUTH_KEY_DUPLICATED to a key used on a
# second connection while the first is open, so a bot that connects per request is caught whether
# its second handshake comes within the bound (both held, then released together) or after it.
# It only bounds how long a correct bot, which never opens a second connection, is kept waiting.
SECOND_CONNECTION_BOUND = 2.0
# SQLite's default busy timeout (Python's sqlite3, Telethon's and Pyrogram's session files): how
# long a second writer waits on the file before "database is locked".
SQLITE_BUSY_TIMEOUT = 5.0


def trigger(h: Harness, bot: BotProcess, t: Trigger) -> tuple[str, int, bytes]:
    """Fire one trigger; (what, status, body). A command counts 200 once the bot answered it."""
    if t.is_http:
        path = h.command_text(t.path)
        return (f"GET {path}", *h.http(bot, "GET", path, timeout=60.0))
    chat = h.new_chat()
    h.send(chat, h.command_text(t.text))
    missing = h.wait_replies([chat], timeout=60.0)
    text = " ".join(str(m.get("text", "")) for m in h.sent_to(chat))
    return t.text, 0 if missing else 200, text.encode()


def burst(h: Harness, bot: BotProcess, n: int) -> list[tuple[str, int, bytes]]:
    """n concurrent triggers, spread over the bot's triggers; (what, status, body) each."""
    triggers = [h.spec.triggers[i % len(h.spec.triggers)] for i in range(n)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
        futures = [pool.submit(trigger, h, bot, t) for t in triggers]
        return [f.result() for f in futures]


def start_mtproto_bot(h: Harness, **env: str) -> BotProcess:
    """Start the bot and wait until its triggers can reach it: its HTTP server answering (HTTP
    triggers), its first getUpdates (command triggers)."""
    bot = h.start_bot("A", **env)
    if any(t.is_http for t in h.spec.triggers):
        first = next(t for t in h.spec.triggers if t.is_http)
        assert h.wait_http_ready(bot, h.command_text(first.path)), "the bot's HTTP server never came up"
    if any(not t.is_http for t in h.spec.triggers):
        h.wait_ready(bot)
        assert h.wait_polling(after=bot.started_seq), "instance A never called getUpdates"
    return bot


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
                t for t in bug.texts if t in text), f"{path} answered {status}: {text[:200]}")


def check_duplicated(h: Harness, results: list[tuple[str, int, bytes]]) -> None:
    duplicated = h.events(is_duplicated)
    failed = [(p, s) for p, s, _ in results if s != 200]
    if duplicated:
        raise h.found(
            "auth-key-duplicated", f"406 {duplicated[0].outcome['text']}",
            f"{len(duplicated)} MTProto request(s) refused; {overlapping_connections(h)} connections "
            "open at once on one session", f"HTTP answers that failed: {len(failed)} of {len(results)}")
    most = overlapping_connections(h)
    if most > 1 and h.minted_format.endswith("-file"):
        # Seed 002 as deployed (`uvicorn --workers 2` on one .session file): the second client
        # blocks in SQLite's busy timeout before it fails, so its "database is locked" comes
        # seconds after its connection opened. Wait for it, bounded by that timeout.
        seen = h.wait_output(BUGS["database-locked"].texts, SQLITE_BUSY_TIMEOUT + 2.0)
        if seen:
            raise h.found("database-locked", f"sqlite3.OperationalError: {seen[0]}", seen[1],
                          f"{most} MTProto clients were connected at once on one session file")
    if most > 1:
        raise h.found("auth-key-duplicated", f"{most} MTProto connections open at once on one session",
                      "Telegram answers AUTH_KEY_DUPLICATED to an authorized key used from two "
                      "TCP connections in parallel")


def check_answered(h: Harness, results: list[tuple[str, int, bytes]]) -> None:
    failed = [(p, s) for p, s, _ in results if s != 200]
    if failed:
        h.check_alive()  # a dead bot answers nothing: that is its exit, not a finding
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


@requires("mtproto")
def test_trending_cold_start_burst(harness: Harness) -> None:
    """Cold-start burst on the triggers: no 406, one MTProto connection, every request answered."""
    h = harness
    h.mint()
    bot = start_mtproto_bot(h)
    results = forced_burst(h, bot, 9)
    check_duplicated(h, results)
    check_locked(h, results)
    check_answered(h, results)


@requires("mtproto")
def test_shared_session_under_load(harness: Harness) -> None:
    """Load through the MTProto part on one session file: no "database is locked", one client."""
    h = harness
    h.mint(session_file=True)
    bot = start_mtproto_bot(h, TRENDING_CACHE_SECONDS="0")
    # One request after the other first: the first leaves entities in the session file, not yet
    # committed (Telethon commits on its next save); a second client writing the file now waits
    # SQLite's 5 s busy timeout and fails. A single serialized client never does.
    calm = [trigger(h, bot, t) for t in h.spec.triggers]
    check_locked(h, calm)
    check_duplicated(h, calm)
    check_answered(h, calm)
    # Then concurrent load on the same file.
    loaded = forced_burst(h, bot, 9)
    check_duplicated(h, loaded)
    check_locked(h, loaded)
    check_answered(h, loaded)
