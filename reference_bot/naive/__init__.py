"""The naive variants: each is the reference bot with exactly one fix undone.

Select one with `BOT_VARIANT=<name> python -m botfakes.reference_bot` (same variables as the
reference bot). Each module says which seed it reproduces and what the scenario should observe.

| BOT_VARIANT | seed | undone fix | what breaks |
|---|---|---|---|
| `naive_no_instance_guard` | 001 | instance guard on DATA_DIR | two instances both poll: `409 Conflict: terminated by other getUpdates request` |
| `naive_webhook_plus_polling` | 004 | webhook mode never polls | getUpdates next to a set webhook: `409 Conflict: can't use getUpdates method while webhook is active` |
| `naive_webhook_no_secret_check` | 001 | webhook secret compared | a forged POST to the webhook (no or wrong `X-Telegram-Bot-Api-Secret-Token`) is handled |
| `naive_client_per_request` | 000 | one client, single-flight connect | concurrent `/trending-*`: `AUTH_KEY_DUPLICATED` (406) |
| `naive_shared_session_file` | 002 | one client per session, calls serialized | two clients on one `.session`: `sqlite3.OperationalError: database is locked` |
| `naive_concurrent_recv` | 003 | one reader per socket | concurrent Deriv calls: `ConcurrencyError: cannot call recv while another coroutine is already running recv` |
| `naive_recv_lock_no_routing` | 003 | replies routed by req_id | out-of-order answers: a caller gets another caller's reply |
| `naive_deque_ends_router` | (issue 14) | replies routed by req_id, not by queue ends | the middle of three pending requests answered first: a caller gets another caller's reply (only `--explore` finds that order) |
"""

from __future__ import annotations

from typing import Callable

from . import (
    client_per_request,
    concurrent_recv,
    deque_ends_router,
    no_instance_guard,
    recv_lock_no_routing,
    shared_session_file,
    webhook_no_secret_check,
    webhook_plus_polling,
)

VARIANTS: dict[str, Callable] = {
    "naive_no_instance_guard": no_instance_guard.variant,
    "naive_webhook_plus_polling": webhook_plus_polling.variant,
    "naive_webhook_no_secret_check": webhook_no_secret_check.variant,
    "naive_client_per_request": client_per_request.variant,
    "naive_shared_session_file": shared_session_file.variant,
    "naive_concurrent_recv": concurrent_recv.variant,
    "naive_recv_lock_no_routing": recv_lock_no_routing.variant,
    "naive_deque_ends_router": deque_ends_router.variant,
}
