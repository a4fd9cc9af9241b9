"""Which updates are handled, so polling confirms only those (the crash-safety half of seed 001).

getUpdates(offset=N) makes the Bot API forget every update with update_id < N. A poller that
sends the next getUpdates as soon as it has *fetched* a batch (python-telegram-bot, aiogram) tells
the server to forget updates it has not handled yet; kill -9 in between loses them for good.

The ledger keeps the confirmable offset as a watermark: the smallest update_id still being
handled, or one past the highest fetched when nothing is pending. Updates of one batch may finish
out of order (chats are handled concurrently), so ids above the watermark that are already done are
remembered too, and skipped when the server hands them out again after a restart.

It is saved to `DATA_DIR/offset.json` after every handled update (write to a temporary file, then
`os.replace`, so a kill -9 leaves the old or the new file, never half of one). A crash between
"reply sent" and "saved" re-handles that one update after restart: at-least-once, with the
duplicate window narrowed to a single update per chat in flight. Exactly-once is not possible when
handling has a side effect outside this process (a sent message).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

OFFSET_FILE_NAME = "offset.json"


class OffsetLedger:
    def __init__(self, path: Path | None = None, owner: str = ""):
        self.path = path
        self.owner = owner  # the bot id: a DATA_DIR reused by another bot starts afresh
        self._watermark = 0  # every update_id below it is handled
        self._pending: set[int] = set()  # fetched, being handled
        self._failed: set[int] = set()  # handling failed; the server will hand it out again
        self._done_above: set[int] = set()  # handled, >= watermark
        self._highest_seen = -1
        if path is not None:
            self._load()

    # -- queries ---------------------------------------------------------------------------
    @property
    def next_offset(self) -> int:
        """The offset to send with the next getUpdates: confirms exactly the handled prefix."""
        return self._watermark

    def is_done(self, update_id: int) -> bool:
        return update_id < self._watermark or update_id in self._done_above

    # -- transitions -----------------------------------------------------------------------
    def fetched(self, update_id: int) -> bool:
        """Record a fetched update; False when it was already handled or is being handled."""
        if self.is_done(update_id) or update_id in self._pending:
            return False
        self._failed.discard(update_id)
        self._pending.add(update_id)
        self._highest_seen = max(self._highest_seen, update_id)
        self._advance()
        return True

    def done(self, update_id: int) -> None:
        self._pending.discard(update_id)
        self._failed.discard(update_id)
        if update_id >= self._watermark:
            self._done_above.add(update_id)
        self._advance()
        self._save()

    def abandoned(self, update_id: int) -> None:
        """Handling failed and should be retried: the update stays unconfirmed."""
        self._pending.discard(update_id)
        self._failed.add(update_id)
        self._advance()

    def restart_sequence(self) -> None:
        """The server's update_ids started over (Telegram picks a random start after a week
        without updates): forget the old watermark, which would otherwise skip every new id."""
        self._watermark, self._highest_seen = 0, -1
        self._pending.clear()
        self._failed.clear()
        self._done_above.clear()

    def _advance(self) -> None:
        # Pending and failed ids are always >= the watermark (anything below it is done), so the
        # minimum below never moves the watermark backwards.
        self._watermark = min(self._pending | self._failed | {self._highest_seen + 1})
        self._done_above = {i for i in self._done_above if i >= self._watermark}

    # -- persistence -----------------------------------------------------------------------
    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_text())
            if data.get("owner", "") != self.owner:
                log.info("%s belongs to another bot; starting from the server's offset", self.path)
                return
            self._watermark = int(data.get("next_offset", 0))
            self._done_above = {int(i) for i in data.get("done_above", []) if int(i) >= self._watermark}
            self._highest_seen = max([self._watermark - 1, *self._done_above])
        except FileNotFoundError:
            pass
        except (ValueError, TypeError, OSError) as exc:
            # A damaged file must not stop the bot; the server's own offset still applies.
            log.warning("ignoring unreadable %s: %s", self.path, exc)

    def _save(self) -> None:
        if self.path is None:
            return
        data = {"owner": self.owner, "next_offset": self._watermark, "done_above": sorted(self._done_above)}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, self.path)
