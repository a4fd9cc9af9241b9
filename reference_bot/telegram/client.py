"""A small Telegram Bot API client over aiohttp.

Why not python-telegram-bot or aiogram: their pollers confirm an update's offset when the *next*
getUpdates is sent, which they send as soon as the previous batch is fetched and queued, not when
it has been handled. A crash (kill -9, OOM) between fetch and handling then loses those updates:
the server already forgot them. This bot needs to confirm only what it handled (see polling.py),
which takes owning the getUpdates loop; the rest (a JSON POST per method) is small enough to own too.

Every failure is typed and carries the server's `error_code` and `description` verbatim, so logs
show the real text (`Conflict: terminated by other getUpdates request; ...`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp

log = logging.getLogger(__name__)


class TelegramError(Exception):
    """The Bot API answered `ok: false`."""

    def __init__(self, error_code: int, description: str, parameters: dict | None = None):
        self.error_code = error_code
        self.description = description
        self.parameters = parameters or {}
        super().__init__(f"{error_code}: {description}")


class BadRequest(TelegramError):
    pass


class Unauthorized(TelegramError):
    """401 (unknown token) or 404 (malformed token): polling cannot recover from either."""


class Conflict(TelegramError):
    """409: another getUpdates, a webhook that is set, or a setWebhook ended this poll."""

    @property
    def webhook_active(self) -> bool:
        return "webhook is active" in self.description


class RetryAfter(TelegramError):
    @property
    def retry_after(self) -> float:
        return float(self.parameters.get("retry_after", 1))


class ServerError(TelegramError):
    pass


class NetworkError(Exception):
    """No Bot API answer at all (refused, reset, timed out, not JSON)."""


def error_from_payload(status: int, payload: dict) -> TelegramError:
    code = int(payload.get("error_code") or status)
    description = str(payload.get("description", ""))
    params = payload.get("parameters") or {}
    if code == 429:
        cls = RetryAfter
    elif code == 409:
        cls = Conflict
    elif code in (401, 404):
        cls = Unauthorized
    elif code == 400 or code == 403:
        cls = BadRequest
    elif code >= 500:
        cls = ServerError
    else:
        cls = TelegramError
    return cls(code, description, params)


class BotApiClient:
    """`await client.call("sendMessage", chat_id=..., text=...)` returns the `result`.

    429 answers are retried after `retry_after` (up to `max_retry_after_total` seconds of waiting
    per call, so a flood of 429s cannot park a handler forever); every other error raises.
    """

    def __init__(
        self,
        token: str,
        base_url: str = "https://api.telegram.org",
        *,
        request_timeout: float = 30.0,
        max_retry_after_total: float = 120.0,
    ):
        self._url = f"{base_url.rstrip('/')}/bot{token}/"
        self.bot_id = token.split(":", 1)[0]  # public (it is the bot's user id); the rest is secret
        self._request_timeout = request_timeout
        self._max_retry_after_total = max_retry_after_total
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> "BotApiClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # limit: concurrent handlers sending to many chats, plus one long poll.
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(self, method: str, /, *, http_timeout: float | None = None, **params: Any) -> Any:
        params = {k: v for k, v in params.items() if v is not None}
        waited = 0.0
        while True:
            try:
                return await self._call_once(method, params, http_timeout)
            except RetryAfter as exc:
                delay = max(exc.retry_after, 0.0)
                if waited + delay > self._max_retry_after_total:
                    raise
                log.warning("%s: 429, retrying after %.0f s", method, delay)
                waited += delay
                await asyncio.sleep(delay)

    async def _call_once(self, method: str, params: dict, timeout: float | None) -> Any:
        total = timeout if timeout is not None else self._request_timeout
        try:
            async with self._http().post(
                self._url + method, json=params, timeout=aiohttp.ClientTimeout(total=total)
            ) as resp:
                try:
                    payload = await resp.json(content_type=None)
                except ValueError:
                    raise NetworkError(f"{method}: HTTP {resp.status}, body is not JSON") from None
                status = resp.status
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise NetworkError(f"{method}: {type(exc).__name__}: {exc}") from exc
        if not isinstance(payload, dict):
            raise NetworkError(f"{method}: HTTP {status}, unexpected body")
        if payload.get("ok") is True:
            return payload.get("result")
        raise error_from_payload(status, payload)

    # The few methods the bot uses, so call sites read as Bot API calls.
    async def get_me(self) -> dict:
        return await self.call("getMe")

    async def get_updates(
        self, offset: int | None, timeout: int, limit: int = 100, allowed_updates=None
    ) -> list[dict]:
        # The HTTP timeout must outlast the long poll itself.
        return await self.call(
            "getUpdates",
            http_timeout=timeout + 15,
            offset=offset,
            timeout=timeout,
            limit=limit,
            allowed_updates=allowed_updates,
        )

    async def send_message(self, chat_id: int | str, text: str, **extra: Any) -> dict:
        return await self.call("sendMessage", chat_id=chat_id, text=text, **extra)

    async def delete_webhook(self, drop_pending_updates: bool = False) -> bool:
        return await self.call("deleteWebhook", drop_pending_updates=drop_pending_updates)

    async def set_webhook(self, url: str, secret_token: str, **extra: Any) -> bool:
        return await self.call("setWebhook", url=url, secret_token=secret_token, **extra)
