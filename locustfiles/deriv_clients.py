"""Load 3: Deriv clients against the fake Deriv WebSocket API.

Each Locust user is one client with one WebSocket connection and one reader (as seed 003's fix
has it): it sends several requests at once and matches every reply to its request by `req_id`,
checking that the reply echoes that request and carries its `passthrough`; a reply that lands on
the wrong request, or never comes, is a failure. It also subscribes to ticks, waits for a stream
message of that subscription, and forgets it. Every call is a Locust request (type WS, named by
the call), reported through Locust's own request event.

    locust -f locustfiles/deriv_clients.py --headless -u 200 -r 50 -t 30s \
        --csv out/deriv --html out/deriv.html [--max-p95-ms 250]

Environment: LOAD_BURST (requests sent at once, default 5), LOAD_TICK_INTERVAL (seconds between
the fake's ticks, default 0.2), LOAD_RATE_LIMITS=1 keeps the fake's per-connection rate limits on
(off by default: they would answer RateLimit long before the fake is loaded),
BOTFAKES_READY_FILE to use running fakes.
"""

from __future__ import annotations

import itertools
import os
import time

import gevent
from gevent.event import AsyncResult
from gevent.queue import Empty, Queue
from locust import User, between, task

import load_common as lc
from load_common import DerivConnection, problem_with

BURST = int(os.environ.get("LOAD_BURST", "5"))
REPLY_TIMEOUT = float(os.environ.get("LOAD_REPLY_TIMEOUT", "10"))
SYMBOLS = ("R_10", "R_25", "R_50", "R_75", "R_100")

lc.thresholds(max_p95_ms=250.0, max_fail_ratio=0.0)

targets = lc.Targets("deriv_clients")
targets.fakes(["deriv"], ["--deriv-tick-interval", os.environ.get("LOAD_TICK_INTERVAL", "0.2"),
                          "--deriv-idle-timeout", "0"])
if not lc.env_flag("LOAD_RATE_LIMITS") and not os.environ.get("BOTFAKES_READY_FILE"):
    targets.control.post("/deriv/limits", {"enabled": False})
_deriv = targets.info["fakes"]["deriv"]
ENDPOINT = f"{_deriv['url']}{_deriv.get('path', '/websockets/v3')}?app_id=1089&l=EN"


def calls(symbol: str) -> list[tuple[str, dict]]:
    """(expected msg_type, request) of the plain calls a burst picks from."""
    return [
        ("ping", {"ping": 1}),
        ("time", {"time": 1}),
        ("active_symbols", {"active_symbols": "brief"}),
        ("history", {"ticks_history": symbol, "end": "latest", "count": 10}),
        ("website_status", {"website_status": 1}),
    ]


class DerivClient(User):
    wait_time = between(0.1, 0.5)
    _ids = itertools.count(1)

    def on_start(self) -> None:
        self.id = f"{os.getpid()}-{next(self._ids)}"
        self.symbol = SYMBOLS[hash(self.id) % len(SYMBOLS)]
        started = time.perf_counter()
        try:
            self.conn = DerivConnection(ENDPOINT)
        except Exception as exc:
            lc.fire(self.environment, "WS", "connect", started, exception=exc)
            raise
        lc.fire(self.environment, "WS", "connect", started)

    def on_stop(self) -> None:
        conn = getattr(self, "conn", None)
        if conn is not None:
            if conn.unrouted:
                lc.fire(self.environment, "WS", "unrouted replies", time.perf_counter(),
                        exception=f"{len(conn.unrouted)} replies matched no request: {conn.unrouted[0]}")
            conn.close()

    def call(self, msg_type: str, request: dict, n: int) -> tuple[str, float, AsyncResult, dict, int]:
        request = {**request, "passthrough": {"client": self.id, "n": n}}
        started = time.perf_counter()
        req_id, waiter = self.conn.send(request)
        return msg_type, started, waiter, request, req_id

    def settle(self, msg_type: str, started: float, waiter: AsyncResult, request: dict, req_id: int) -> dict | None:
        try:
            reply = waiter.get(timeout=REPLY_TIMEOUT)
        except gevent.Timeout:
            self.conn.pending.pop(req_id, None)
            lc.fire(self.environment, "WS", msg_type, started, exception=f"no reply within {REPLY_TIMEOUT} s")
            return None
        except Exception as exc:
            lc.fire(self.environment, "WS", msg_type, started, exception=exc)
            return None
        lc.fire(self.environment, "WS", msg_type, started, exception=problem_with(reply, req_id, request, msg_type))
        return reply

    @task(4)
    def burst(self) -> None:
        """BURST requests in flight at once on this connection, answered in any order."""
        choices = calls(self.symbol)
        sent = [self.call(*choices[i % len(choices)], n=i) for i in range(BURST)]
        for entry in sent:
            self.settle(*entry)

    @task(1)
    def subscribe(self) -> None:
        """Subscribe to ticks, take one stream message of that subscription, forget it."""
        pending = self.call("tick", {"ticks": self.symbol, "subscribe": 1}, n=0)
        reply = self.settle(*pending)
        if reply is None or "subscription" not in reply:
            return
        subscription = reply["subscription"]["id"]
        stream = self.conn.streams.setdefault(subscription, Queue())
        started = time.perf_counter()
        try:
            message = stream.get(timeout=REPLY_TIMEOUT)
            wrong = None if message.get("req_id") == pending[4] else \
                f"stream message with req_id {message.get('req_id')} on request {pending[4]}'s subscription"
            lc.fire(self.environment, "WS", "tick stream message", started, exception=wrong)
        except Empty:
            lc.fire(self.environment, "WS", "tick stream message", started,
                    exception=f"no tick within {REPLY_TIMEOUT} s")
        finally:
            forget = self.call("forget", {"forget": subscription}, n=1)
            self.settle(*forget)
            self.conn.streams.pop(subscription, None)
