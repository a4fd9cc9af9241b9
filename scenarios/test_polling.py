"""Bot API long polling: two instances, a crash and a restart, flood control (seeds 001, 004).

Each scenario drives the bot only through the fake Bot API (injected user messages, the bot's
replies as the fake recorded them) and the bot's processes.
"""

from __future__ import annotations

from botfakes.fakes.control.journal import Event

from .bugs import BUGS
from .harness import Harness
from .plugin import requires


def is_conflict(e: Event) -> bool:
    return (e.fake == "botapi" and e.kind == "response" and e.method.lower() == "getupdates"
            and (e.outcome or {}).get("code") == 409)


def exited(label: str):
    return lambda e: e.fake == "harness" and e.method == "bot exited" and e.conn == label


def check_each_handled_once(h: Harness, chats: list[int]) -> None:
    """Every chat answered, and all chats the same number of times (one update each)."""
    missing = h.wait_replies(chats)
    if missing:
        raise h.found("lost-updates", f"{len(missing)} of {len(chats)} updates never answered",
                      f"chats without a reply: {missing}")
    # A last update, answered after the others, so that late duplicates have had their turn.
    sentinel = h.new_chat()
    h.send(sentinel)
    h.wait_replies([sentinel])
    counts = {c: len(h.sent_to(c)) for c in chats + [sentinel]}
    if len(set(counts.values())) > 1:
        raise h.found("double-handling", "an update was answered more often than the others",
                      f"messages per chat (one update each): {counts}")


@requires("polling")
def test_two_instances_polling(harness: Harness) -> None:
    """Two instances polling one token: no 409 reaches a correct bot, each update handled once."""
    h = harness
    h.mint()
    h.start_polling_bot("A")
    b = h.start_bot("B", may_exit=True)  # exiting at once is the fix
    # The second instance either refuses to run (the fix) or starts polling: its first long poll
    # then meets A's pending one and one of the two gets the 409 at once. Nothing here depends on
    # timing: both outcomes are events, and whichever comes decides.
    found = h.wait_for(lambda e: is_conflict(e) or exited("B")(e), timeout=60)
    assert found, "instance B neither exited nor polled"
    event = found[0]
    if is_conflict(event):
        loser = h.owner(event.conn)
        raise h.found(
            "two-pollers", f"409 {event.outcome['text']}",
            f"instance {loser} got the 409 on {event.conn} after instance "
            f"{'B' if loser == 'A' else 'A'} started a long poll on the same token",
        )
    chats = [h.new_chat() for _ in range(4)] + [h.new_chat(group=True)]
    for chat in chats:
        h.send(chat)
    check_each_handled_once(h, chats)
    conflicts = h.events(is_conflict)
    if conflicts:
        raise h.found("two-pollers", f"409 {conflicts[0].outcome['text']}",
                      f"after instance B exited with {b.returncode}")


@requires("polling")
def test_restart_after_kill(harness: Harness) -> None:
    """kill -9 in the middle of a burst, then a restart: no clean-up needed, no update lost."""
    h = harness
    h.mint()
    a = h.start_polling_bot("A")
    # Hold the bot's first reply so that the kill lands while it is handling the burst.
    gate = h.control.add_gate("botapi", "sendMessage")
    burst = [h.new_chat() for _ in range(5)]
    for chat in burst:
        h.send(chat)
    assert h.wait_held(gate["id"], 1), "the bot answered none of the burst"
    h.kill(a)
    # What the dead process had in flight never reaches Telegram: drop it, then open the gate.
    held = h.control.gate(gate["id"])["held"]
    if held:
        h.control.add_fault("botapi", "sendMessage", "drop", times=held)
    h.control.remove_gate(gate["id"])
    meanwhile = [h.new_chat() for _ in range(2)]
    for chat in meanwhile:
        h.send(chat)
    restarted = h.start_bot("A2", may_exit=True)  # its exit is the verdict below
    polled = h.wait_for(lambda e: (e.fake == "botapi" and e.kind == "request"
                                   and e.method.lower() == "getupdates" and e.seq > restarted.started_seq)
                        or exited("A2")(e), timeout=60)
    if not polled or polled[0].kind == "note":
        seen = h.quote(BUGS["crash-recovery"])
        raise h.found(
            "crash-recovery",
            seen[1] if seen else f"the restarted bot exited with {restarted.returncode} "
            "or never polled after kill -9",
            f"exit code {restarted.returncode}", *restarted.output().splitlines()[-3:])
    missing = h.wait_replies(burst + meanwhile)
    if missing:
        raise h.found("lost-updates", f"{len(missing)} of {len(burst + meanwhile)} updates never "
                      "answered after the restart",
                      f"burst chats unanswered: {[c for c in missing if c in burst]}",
                      f"chats written to while the bot was down, unanswered: "
                      f"{[c for c in missing if c in meanwhile]}")


@requires("polling")
def test_flood_control_retry_after(harness: Harness) -> None:
    """A 429 from the Bot API: the bot waits retry_after and sends again; no message is lost."""
    h = harness
    h.mint()
    h.start_polling_bot("A")
    retry_after = 1
    h.control.add_fault(
        "botapi", "sendMessage", "error", times=1,
        error={"error_code": 429, "description": f"Too Many Requests: retry after {retry_after}",
               "parameters": {"retry_after": retry_after}},
    )
    chats = [h.new_chat() for _ in range(3)]
    for chat in chats:
        h.send(chat)
    missing = h.wait_replies(chats)
    limited = h.events(lambda e: e.fake == "botapi" and e.kind == "response"
                       and (e.outcome or {}).get("code") == 429)
    assert limited, "the 429 fault never fired: the bot sent no message"
    if missing:
        raise h.found("retry-after-ignored", f"429 {limited[0].outcome['text']}",
                      f"chats never answered after the 429: {missing}")
    # The retry of the limited chat must come no sooner than retry_after after the 429.
    first = h.events(lambda e: e.seq == limited[0].request)[0]
    chat = (first.data.get("params") or {}).get("chat_id")
    retries = h.events(lambda e: e.seq > limited[0].seq and h.is_send_to(e, chat))
    if retries and retries[0].time - limited[0].time < retry_after:
        raise h.found("retry-after-ignored", f"429 {limited[0].outcome['text']}",
                      f"sent again after {retries[0].time - limited[0].time:.3f} s, "
                      f"retry_after was {retry_after} s")

