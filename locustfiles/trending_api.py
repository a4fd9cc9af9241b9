"""Load 2: the reference bot's /trending-* HTTP API under concurrent load (seed 000 at scale).

Seed 000's service opened one Telethon client per request and got `406 AUTH_KEY_DUPLICATED` as soon
as two requests overlapped; seed 002's workers shared one .session file and got `database is
locked`. Here many users hit /trending-channels, /trending-coins and /trending-topics at once, with
the bot's cache off (TRENDING_CACHE_SECONDS=0, so every request reads channel history through
Telethon) and a .session file (so SQLite is in the path). The run fails (non-zero exit) on any
non-200 answer, on any 406 in the MTProto fake's journal, and on `database is locked` or
`AUTH_KEY_DUPLICATED` in the bot's output.

    locust -f locustfiles/trending_api.py --headless -u 30 -r 15 -t 30s \
        --csv out/trending --html out/trending.html [--max-p95-ms 3000]

Environment: LOAD_SESSION=file|string (default file), LOAD_CACHE_SECONDS (default 0),
BOT_VARIANT (e.g. naive_client_per_request, to watch the load catch seed 000),
LOAD_HOLD_CONNECTS=N forces seed 000's race: a gate holds the first N MTProto connects until all
N are in (only for a naive variant: the reference opens one connection, so N > 1 would hold it).
"""

from __future__ import annotations

import os

from locust import FastHttpUser, between, task

import load_common as lc

KINDS = ("channels", "coins", "topics")
BAD_TEXTS = ("database is locked", "AUTH_KEY_DUPLICATED", "AuthKeyDuplicated")

lc.thresholds(max_p95_ms=3000.0, max_fail_ratio=0.0)

targets = lc.Targets("trending_api")
if os.environ.get("BOT_URL"):
    targets.fakes(["mtproto"])
    bot_url = os.environ["BOT_URL"]
else:
    targets.fakes(["botapi", "mtproto"])
    control = targets.control
    if os.environ.get("LOAD_HOLD_CONNECTS"):
        control.post("/gates", {"fake": "mtproto", "method": "invokeWithLayer",
                                "count": int(os.environ["LOAD_HOLD_CONNECTS"])})
    token = control.post("/botapi/bots", {"username": "trending_load_bot"})["token"]
    if os.environ.get("LOAD_SESSION", "file") == "file":
        session = control.post("/mtproto/sessions", {"path": str(targets.workdir / "bot.session")})["path"]
    else:
        session = control.post("/mtproto/sessions", {})["session"]
    channels = [c["username"] for c in control.get("/mtproto/world")["channels"] if c.get("username")]
    contract = lc.Contract(bot_token=token, api_root=targets.fake_url("botapi"),
                           mtproto_session=session, channels=tuple(channels))
    ready = targets.bot("trending", contract, {
        "TRENDING_CACHE_SECONDS": os.environ.get("LOAD_CACHE_SECONDS", "0"),
        "BOT_VARIANT": os.environ.get("BOT_VARIANT", "reference"),
    })
    bot_url = ready["url"]


class TrendingUser(FastHttpUser):
    host = bot_url
    wait_time = between(0.05, 0.3)
    # Each user keeps one keep-alive connection, as a dashboard polling the API would.
    concurrency = 1

    def _get(self, kind: str) -> None:
        with self.client.get(f"/trending-{kind}", name=f"/trending-{kind}", catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure(f"{resp.status_code}: {(resp.text or '')[:200]}")
                return
            body = resp.json()
            if not isinstance(body, dict) or kind not in body:
                resp.failure(f"no {kind!r} in the answer: {(resp.text or '')[:200]}")

    @task
    def channels(self) -> None:
        self._get("channels")

    @task
    def coins(self) -> None:
        self._get("coins")

    @task
    def topics(self) -> None:
        self._get("topics")


@lc.check
def no_seed_000_or_002_errors() -> list[str]:
    problems = []
    duplicated = targets.control.journal(fake="mtproto", kind="response", code=406)
    if duplicated:
        problems.append(f"{len(duplicated)} 406 answers in the MTProto fake's journal "
                        f"(first: {duplicated[0]['outcome'].get('text')})")
    output = targets.bot_output()
    for text in BAD_TEXTS:
        if text in output:
            problems.append(f"{text!r} in the bot's output")
    return problems
