"""Seed 001, before the fix: polling with no single-instance guard.

Start the bot twice (a deploy that overlaps, a second pm2 instance, a local run next to the
server): both long-poll one token and the Bot API ends the older poll with
`409 Conflict: terminated by other getUpdates request; make sure that only one bot instance is
running`, over and over, each instance stealing updates from the other.

Everything else is the reference bot; only the guard is gone.
"""

from __future__ import annotations

from dataclasses import replace


class NoGuard:
    def acquire(self) -> None:
        pass  # the bug: nothing stops a second instance

    def release(self) -> None:
        pass


def variant(reference):
    return replace(reference, make_guard=lambda config: NoGuard())
