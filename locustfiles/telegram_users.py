"""Load 1: Telegram users talking to the reference bot through the fake Bot API.

Each Locust user is one Telegram user in a private chat of its own. It writes a command to the bot
(injected over the fake's control API, as Telegram would queue it) and waits until the bot's
answer (a sendMessage to that chat) reaches the fake; that span is the request Locust times:

    polling <command> -> reply     the bot fetches the update with getUpdates
    webhook <command> -> reply     the fake POSTs the update to the bot's webhook

One greenlet per Locust process tails the fakes' journal for sendMessage requests and hands each to
the user whose chat it names, so no user polls on its own. Two reference bots run side by side,
one per mode, each with its own token and DATA_DIR.

    locust -f locustfiles/telegram_users.py --headless -u 40 -r 20 -t 30s \
        --csv out/telegram --html out/telegram.html [--max-p95-ms 500] [--max-fail-ratio 0]

Environment: LOAD_COMMAND (default /help), LOAD_MODES (polling,webhook), LOAD_RATE_LIMITS=1 keeps the
fake's 429 flood control on (off by default: the load measures the bot and the fake, not
Telegram's per-chat pacing), BOTFAKES_READY_FILE / BOT_URL+BOT_TOKEN+BOT_MODE to use running ones.
"""

from __future__ import annotations

import itertools
import os
import time
from collections import defaultdict, deque

import gevent
from gevent.event import AsyncResult
from locust import User, between, events, task

import load_common as lc

COMMAND = os.environ.get("LOAD_COMMAND", "/help")
MODES = [m.strip() for m in os.environ.get("LOAD_MODES", "polling,webhook").split(",") if m.strip()]
REPLY_TIMEOUT = float(os.environ.get("LOAD_REPLY_TIMEOUT", "15"))
# Short: a wait in flight when the load ends holds up the fakes' shutdown until it times out.
TAIL_WAIT = 1.0

lc.thresholds(max_p95_ms=1000.0, max_fail_ratio=0.0)

# ---- targets (started once, before Locust forks any worker) ------------------------------------
targets = lc.Targets("telegram_users")
bots: dict[str, dict] = {}  # mode -> {"token", "url"}
if os.environ.get("BOT_URL") and os.environ.get("BOT_TOKEN"):
    targets.fakes(["botapi"])
    bots[os.environ.get("BOT_MODE", "polling")] = {"token": os.environ["BOT_TOKEN"], "url": os.environ["BOT_URL"]}
else:
    targets.fakes(["botapi"], [] if lc.env_flag("LOAD_RATE_LIMITS") else ["--botapi-no-rate-limits"])
    for mode in MODES:
        token = targets.control.post("/botapi/bots", {"username": f"load_{mode}_bot"})["token"]
        contract = lc.Contract(bot_token=token, api_root=targets.fake_url("botapi"))
        if mode == "webhook":
            # The webhook URL names the port, so it is picked before the bot binds it.
            contract.port, contract.webhook = lc.free_port(), True
            contract.webhook_path, contract.webhook_secret = "/tg/webhook", "load_secret"
        ready = targets.bot(mode, contract, {"BOT_VARIANT": os.environ.get("BOT_VARIANT", "reference")})
        if ready.get("mode") != mode:
            raise SystemExit(f"the {mode} bot came up in {ready.get('mode')} mode")
        bots[mode] = {"token": token, "url": ready["url"]}
control = targets.control


# ---- the reply tail: one journal reader per process --------------------------------------------
class ReplyTail:
    """Hands each sendMessage the fake receives to the user waiting in that chat."""

    def __init__(self) -> None:
        self.waiting: dict[str, deque[AsyncResult]] = defaultdict(deque)
        self.since = 0
        self.greenlet: gevent.Greenlet | None = None

    def start(self) -> None:
        if self.greenlet is None:
            self.since = control.get("/journal", limit=1)["last_seq"]
            self.greenlet = gevent.spawn(self._run)

    def expect(self, chat_id: int) -> AsyncResult:
        result = AsyncResult()
        self.waiting[str(chat_id)].append(result)
        return result

    def forget(self, chat_id: int, result: AsyncResult) -> None:
        try:
            self.waiting[str(chat_id)].remove(result)
        except ValueError:
            pass

    def _run(self) -> None:
        query = {"fake": "botapi", "kind": "request", "method": "sendMessage"}
        while not targets.stopped:
            try:
                # Block until something new arrives, then take everything new in one read.
                control.wait(1, TAIL_WAIT, **query, since=self.since)
                for event in control.journal(**query, since=self.since):
                    self.since = max(self.since, event["seq"])
                    chat = str((event.get("data") or {}).get("params", {}).get("chat_id", ""))
                    queue = self.waiting.get(chat)
                    if queue:
                        queue.popleft().set(time.perf_counter())
            except lc.ControlTimeout:
                continue
            except Exception:
                if targets.stopped:
                    return
                lc.log.exception("journal tail failed; retrying")
                gevent.sleep(0.5)


tail = ReplyTail()
_user_ids = itertools.count(1)


@events.quitting.add_listener
def _stop_tail(**_kw) -> None:
    if tail.greenlet is not None:
        tail.greenlet.kill(block=False)


@events.test_start.add_listener
def _start_tail(environment, **_kw) -> None:
    if not lc.is_master(environment):
        tail.start()


class ChatUser(User):
    abstract = True
    wait_time = between(0.2, 0.6)
    mode = "polling"

    def on_start(self) -> None:
        tail.start()
        # Unique across --processes workers: the pid keeps the ranges apart.
        self.user_id = 7_000_000_000 + (os.getpid() % 100_000) * 10_000 + next(_user_ids)
        self.token = bots[self.mode]["token"]

    @task
    def command(self) -> None:
        name = f"{self.mode} {COMMAND} -> reply"
        expected = tail.expect(self.user_id)
        started = time.perf_counter()
        try:
            control.post(f"/botapi/bots/{self.token}/messages", {"text": COMMAND, "user": {"id": self.user_id}})
            answered_at = expected.get(timeout=REPLY_TIMEOUT)
        except gevent.Timeout:
            tail.forget(self.user_id, expected)
            lc.fire(self.environment, "telegram", name, started, exception=f"no reply within {REPLY_TIMEOUT} s")
            return
        except Exception as exc:
            tail.forget(self.user_id, expected)
            lc.fire(self.environment, "telegram", name, started, exception=exc)
            return
        self.environment.events.request.fire(
            request_type="telegram", name=name, response_time=(answered_at - started) * 1000.0,
            response_length=0, exception=None, context={})


class PollingChatUser(ChatUser):
    mode = "polling"


class WebhookChatUser(ChatUser):
    mode = "webhook"


# Users only for the modes that run.
if "polling" not in bots:
    del PollingChatUser
if "webhook" not in bots:
    del WebhookChatUser


@lc.check
def no_conflicts_or_errors() -> list[str]:
    problems = []
    conflicts = control.journal(fake="botapi", kind="response", code=409)
    if conflicts:
        problems.append(f"{len(conflicts)} 409 Conflict answers in the fakes' journal "
                        f"(first: {conflicts[0]['outcome'].get('text')})")
    if "Traceback" in targets.bot_output():
        problems.append("a traceback in the bot's output")
    return problems
