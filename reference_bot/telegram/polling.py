"""Long-polling front: getUpdates in a loop, confirming only what was handled.

- deleteWebhook first: getUpdates answers `409 Conflict: can't use getUpdates method while webhook
  is active` as long as a webhook is set (a previous deployment in webhook mode leaves one).
- Updates of one batch are handled concurrently across chats and in order within a chat (the
  order Telegram's own webhook delivery keeps), then the next getUpdates is sent with the offset
  the OffsetLedger allows: only the handled prefix is confirmed.
- 409 from another poller is not fought (no deleteWebhook loop, no tight retry): it is logged with
  the server's text and retried with backoff; the instance guard should make it impossible on
  one host, so it means a second host or DATA_DIR shares the token.
- 401/404 (bad token) stop the bot: no retry can fix them.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from pathlib import Path
from typing import Awaitable, Callable

from ..backoff import Backoff, sleep_unless
from .client import BotApiClient, Conflict, NetworkError, RetryAfter, ServerError, TelegramError, Unauthorized
from .offsets import OFFSET_FILE_NAME, OffsetLedger

log = logging.getLogger(__name__)

UpdateHandler = Callable[[dict], Awaitable[None]]

MAX_ATTEMPTS = 3  # a handler that fails this often for one update gives that update up


def chat_key(update: dict):
    """The chat an update belongs to (its ordering key); None for chat-less updates."""
    for field in ("message", "edited_message", "channel_post", "edited_channel_post", "my_chat_member", "chat_member", "chat_join_request"):
        obj = update.get(field)
        if isinstance(obj, dict) and isinstance(obj.get("chat"), dict):
            return obj["chat"].get("id")
    cq = update.get("callback_query")
    if isinstance(cq, dict) and isinstance(cq.get("message"), dict):
        return cq["message"].get("chat", {}).get("id")
    return None


class FatalPollingError(RuntimeError):
    pass


class PollingFront:
    mode = "polling"

    def __init__(
        self,
        client: BotApiClient,
        handle: UpdateHandler,
        data_dir: Path | None,
        *,
        poll_timeout: int = 25,
        handler_timeout: float = 60.0,
    ):
        self.client = client
        self.handle = handle
        # The bot id is the token's part before ":"; the secret part never reaches the disk.
        owner = client.bot_id
        self.ledger = OffsetLedger(Path(data_dir) / OFFSET_FILE_NAME if data_dir else None, owner)
        self.poll_timeout = poll_timeout
        self.handler_timeout = handler_timeout
        self._stop = asyncio.Event()
        self._attempts: OrderedDict[int, int] = OrderedDict()
        self._sent_offset = 0

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        await self._delete_webhook()
        backoff = Backoff()
        while not self._stop.is_set():
            try:
                updates = await self._poll()
            except asyncio.CancelledError:
                raise
            except _Stopped:
                break
            except Unauthorized as exc:
                raise FatalPollingError(f"getUpdates refused the token: {exc.description}") from exc
            except Conflict as exc:
                log.error(
                    "getUpdates: 409 %s. %s", exc.description,
                    "A webhook is set for this token (another deployment in webhook mode?)."
                    if exc.webhook_active
                    else "Another process polls with this token (another host or DATA_DIR?).",
                )
                await self._sleep(backoff.next())
                continue
            except RetryAfter as exc:
                await self._sleep(exc.retry_after)
                continue
            except (NetworkError, ServerError, TelegramError) as exc:
                log.warning("getUpdates failed: %s", exc)
                await self._sleep(backoff.next())
                continue
            backoff.reset()
            failed = await self._handle_batch(updates)
            if failed:
                await self._sleep(backoff.next())
        # No confirming getUpdates on the way out: DATA_DIR/offset.json already holds the
        # handled prefix, and a getUpdates right after the cancelled long poll would, under the
        # server's "same offset within 3 s" rule, become a long poll itself and end the abandoned
        # one with a 409 while delaying the exit by 3 s.

    async def _delete_webhook(self) -> None:
        backoff = Backoff()
        while not self._stop.is_set():
            try:
                await self.client.delete_webhook(drop_pending_updates=False)
                return
            except Unauthorized as exc:
                raise FatalPollingError(f"deleteWebhook refused the token: {exc.description}") from exc
            except (NetworkError, TelegramError) as exc:
                log.warning("deleteWebhook failed: %s", exc)
                await self._sleep(backoff.next())

    async def _poll(self) -> list[dict]:
        """getUpdates, abandoned at once when stop() is called."""
        self._sent_offset = self.ledger.next_offset
        poll = asyncio.ensure_future(self.client.get_updates(self._sent_offset or None, self.poll_timeout))
        stop = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({poll, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if not poll.done():
            poll.cancel()
            await asyncio.gather(poll, return_exceptions=True)
            raise _Stopped()
        return poll.result() or []

    async def _handle_batch(self, updates: list[dict]) -> int:
        ids = [u.get("update_id") for u in updates if isinstance(u.get("update_id"), int)]
        if ids and self._sent_offset and min(ids) < self._sent_offset:
            # The server ignored our offset, so its ids are not the ones the ledger knows.
            log.warning("update_ids restarted below %s; resetting the handled offset", self._sent_offset)
            self.ledger.restart_sequence()
        by_chat: dict[object, list[dict]] = {}
        for update in updates:
            uid = update.get("update_id")
            if not isinstance(uid, int) or not self.ledger.fetched(uid):
                continue  # handled before a restart, or already in hand
            by_chat.setdefault(chat_key(update), []).append(update)
        results = await asyncio.gather(*(self._handle_chat(ups) for ups in by_chat.values()))
        return sum(results)

    async def _handle_chat(self, updates: list[dict]) -> int:
        failed = 0
        for i, update in enumerate(updates):
            uid = update["update_id"]
            try:
                await asyncio.wait_for(self.handle(update), self.handler_timeout)
            except asyncio.CancelledError:
                raise
            except Exception:
                attempts = self._attempts.get(uid, 0) + 1
                self._attempts[uid] = attempts
                while len(self._attempts) > 1000:
                    self._attempts.popitem(last=False)
                if attempts < MAX_ATTEMPTS:
                    log.exception("update %s failed (attempt %d), will retry", uid, attempts)
                    # Keep the chat's order: later updates of this chat wait for the retry.
                    for later in updates[i:]:
                        self.ledger.abandoned(later["update_id"])
                    return failed + 1
                log.exception("update %s failed %d times, giving it up", uid, attempts)
            self._attempts.pop(uid, None)
            self.ledger.done(uid)
        return failed

    async def _sleep(self, seconds: float) -> None:
        await sleep_unless(self._stop, seconds)


class _Stopped(Exception):
    pass

