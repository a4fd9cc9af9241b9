"""Load 4: the fakes alone, to size them (how many clients one `botfakes serve` carries).

No bot in the loop and no think time: Bot API clients (sendMessage with a JSON body, getMe,
getUpdates with timeout 0), Deriv clients (ping on one connection each) and a control-plane
reader (GET /_control/stats) hit one `botfakes serve` as fast as they can. Raise -u until p95 or
the failure ratio breaks the thresholds: that is the size of the fakes on this machine. Every
request still goes through the journal, the gates and the fault rules, as in tests.

    locust -f locustfiles/fakes_alone.py --headless -u 50 -r 25 -t 30s \
        --csv out/fakes --html out/fakes.html [--max-p95-ms 200]

The MTProto fake is not in this load: its client (Telethon) is asyncio-only and Locust runs on
gevent; benchmarks/bench_mtproto.py sizes it. Environment: LOAD_REPLY_TIMEOUT (seconds a ping
waits for its pong, default 10), BOTFAKES_READY_FILE to use running fakes (their flood control
then stays as it was started).
"""

from __future__ import annotations

import json
import os
import time

from locust import FastHttpUser, User, constant, task

import load_common as lc
from load_common import DerivConnection, problem_with

REPLY_TIMEOUT = float(os.environ.get("LOAD_REPLY_TIMEOUT", "10"))

lc.thresholds(max_p95_ms=500.0, max_fail_ratio=0.0)

targets = lc.Targets("fakes_alone")
targets.fakes(["botapi", "deriv"], ["--botapi-no-rate-limits", "--deriv-idle-timeout", "0"])
if not os.environ.get("BOTFAKES_READY_FILE"):
    targets.control.post("/deriv/limits", {"enabled": False})
TOKEN = targets.control.post("/botapi/bots", {"username": "sizing_bot"})["token"]
# A chat the bot may write to: the user wrote first, as Telegram requires.
targets.control.post(f"/botapi/bots/{TOKEN}/messages", {"text": "hi", "user": {"id": 5}})
_deriv = targets.info["fakes"]["deriv"]
DERIV_ENDPOINT = f"{_deriv['url']}{_deriv.get('path', '/websockets/v3')}?app_id=1089&l=EN"
SEND_BODY = json.dumps({"chat_id": 5, "text": "hello"})


class BotApiClient(FastHttpUser):
    host = targets.fake_url("botapi")
    wait_time = constant(0)
    weight = 3

    @task(6)
    def send_message(self) -> None:
        with self.client.post(f"/bot{TOKEN}/sendMessage", data=SEND_BODY, name="sendMessage",
                              headers={"Content-Type": "application/json"}, catch_response=True) as resp:
            if resp.status_code != 200 or not resp.json().get("ok"):
                resp.failure(f"{resp.status_code}: {(resp.text or '')[:200]}")

    @task(3)
    def get_me(self) -> None:
        self.client.get(f"/bot{TOKEN}/getMe", name="getMe")

    @task(1)
    def get_updates(self) -> None:
        # timeout=0: never parks, so users do not take the long poll from each other (409).
        self.client.get(f"/bot{TOKEN}/getUpdates?timeout=0&offset=-1", name="getUpdates")


class DerivPinger(User):
    wait_time = constant(0)
    weight = 3

    def on_start(self) -> None:
        started = time.perf_counter()
        self.conn = DerivConnection(DERIV_ENDPOINT)
        lc.fire(self.environment, "WS", "connect", started)

    def on_stop(self) -> None:
        self.conn.close()

    @task
    def ping(self) -> None:
        request = {"ping": 1}
        started = time.perf_counter()
        req_id, waiter = self.conn.send(request)
        try:
            reply = waiter.get(timeout=REPLY_TIMEOUT)
        except Exception as exc:
            lc.fire(self.environment, "WS", "ping", started, exception=exc)
            return
        lc.fire(self.environment, "WS", "ping", started, exception=problem_with(reply, req_id, request, "ping"))


class ControlReader(FastHttpUser):
    host = targets.info["control_url"]
    wait_time = constant(0.1)
    weight = 1

    @task
    def stats(self) -> None:
        self.client.get("/_control/stats", name="control stats")
