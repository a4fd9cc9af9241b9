"""The concurrency bugs the scenarios look for, each with the real error text it produces.

A verdict names one of these and quotes its text, so that a failed scenario reads like the
production incident it stands for ("409 Conflict: terminated by other getUpdates request...").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bug:
    id: str
    title: str
    seeds: tuple[str, ...]
    # The real error text the bug produces, quoted in the verdict; also searched for in the bot's
    # own output, where a library logs it (several variants: library versions word it apart).
    texts: tuple[str, ...]
    advice: str
    # "bug": a seed's production failure (the concurrency bugs); "risk": resilience a correct
    # bot should have but whose absence a seed did not report (kill -9, 429, a dropped socket).
    cls: str = "bug"


FINDING_CLASSES = ("bug", "risk")
BUGS: dict[str, Bug] = {}


def _bug(id: str, title: str, seeds: tuple[str, ...], texts: tuple[str, ...], advice: str,
         cls: str = "bug") -> Bug:
    assert cls in FINDING_CLASSES, cls
    bug = Bug(id, title, seeds, texts, advice, cls)
    BUGS[id] = bug
    return bug


def finding_class(bug_id: str | None) -> str | None:
    """"bug" or "risk" for a finding id; None for no finding (or an id no scenario reports)."""
    bug = BUGS.get(bug_id or "")
    return bug.cls if bug else None


TWO_POLLERS = _bug(
    "two-pollers", "two instances poll one bot token", ("001", "004"),
    ("Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",),
    "guard the instance (a lock on DATA_DIR that the kernel releases on death) so that a second "
    "instance exits, or use a webhook",
)
POLLING_WHILE_WEBHOOK = _bug(
    "polling-while-webhook", "the bot polls while its webhook is set", ("004",),
    ("Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
     "the webhook first",),
    "in webhook mode never start polling (no bot.start()/start_polling() beside the webhook)",
)
CRASH_RECOVERY = _bug(
    "crash-recovery", "after kill -9 the bot does not come back or loses updates", ("001",),
    ("another instance is running", "already running"),
    "use a lock the kernel releases when the process dies (flock), not a PID file that survives it; "
    "confirm an update's offset only after handling it",
    cls="risk",
)
DOUBLE_HANDLING = _bug(
    "double-handling", "an update is handled more than once", ("001", "004"), (),
    "one consumer per token; confirm offsets once handled",
)
LOST_UPDATES = _bug(
    "lost-updates", "updates are never handled", ("001",), (),
    "confirm an update's offset only after handling it; never drop an update on an error",
    cls="risk",
)
FORGED_WEBHOOK = _bug(
    "forged-webhook", "a webhook request without the right secret is handled", ("001",), (),
    "compare X-Telegram-Bot-Api-Secret-Token with hmac.compare_digest and answer 401/403",
)
NO_POLLING_FALLBACK = _bug(
    "no-polling-fallback", "setWebhook failed and the bot stopped receiving updates", ("001",), (),
    "when setWebhook fails, fall back to polling (after deleteWebhook)",
    cls="risk",
)
AUTH_KEY_DUPLICATED = _bug(
    "auth-key-duplicated", "two MTProto connections use one session at once", ("000",),
    ("AUTH_KEY_DUPLICATED",),
    "one client per process with a single-flight connect: concurrent callers await the one "
    "connection in progress",
)
DATABASE_LOCKED = _bug(
    "database-locked", "two clients write one Telethon .session file", ("002",),
    ("database is locked",),
    "one client per session file, every Telethon call behind one lock or queue",
)
CONCURRENT_RECV = _bug(
    "concurrent-recv", "two coroutines read one WebSocket", ("003",),
    ("cannot call recv while another coroutine is already running recv or recv_streaming",
     "cannot call recv while another coroutine is already waiting for the next message",
     "Concurrent call to receive() is not allowed"),
    "one reader task per connection routing replies by req_id to futures",
)
CROSSED_REPLIES = _bug(
    "crossed-replies", "a reply is taken as the answer to another request", ("003",), (),
    "route replies by req_id, never take \"the next message\" as your answer",
)
HUNG_AFTER_DISCONNECT = _bug(
    "hung-after-disconnect", "after a dropped WebSocket the bot stops answering", ("003",), (),
    "reconnect with backoff, re-authorize, re-subscribe, and fail pending requests on close",
    cls="risk",
)
RETRY_AFTER_IGNORED = _bug(
    "retry-after-ignored", "a 429 is not retried after retry_after, a message is lost", (),
    ("Too Many Requests: retry after",),
    "on 429 wait parameters.retry_after seconds and send again",
    cls="risk",
)
UNANSWERED = _bug(
    "unanswered", "requests go unanswered", ("000",), (),
    "every request needs an answer, also when a dependency fails",
    cls="risk",
)
