"""Drives a bot as a black box: its processes, its environment, and the fakes around it.

The harness mints credentials on the fakes (a bot token, a Telethon session, a Deriv account),
hands them to the bot as the reference bot's environment variables, starts the bot (twice if a
scenario needs two instances), stops it, kills it with SIGKILL and restarts it. It never looks
inside the bot: everything it knows comes from the fakes' journal, the bot's HTTP endpoints and
the bot's own output.

Which instance opened which connection is found by matching the connection's client port with the
bot processes' sockets (psutil) when the fake journals the connection, so a timeline can say
"instance B's getUpdates took over and instance A got the 409".
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import secrets
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import psutil

from botfakes.fakes.control.client import ControlClient
from botfakes.fakes.control.journal import Event, JournalReset
from botfakes.fakes.runtime import FakesRuntime

from .bugs import BUGS, Bug
from .spec import BotSpec

API_ID = "611335"  # any id works with the fake; this one is Telethon's own test id
API_HASH = "d524b414d21f4d37f08684c1df41ac9c"
DERIV_APP_ID = "1089"
WEBHOOK_PATH = "/webhook"
# Bot API methods that put a message into a chat: what "the bot answered" means.
SEND_METHODS = {"sendmessage", "editmessagetext", "sendphoto", "senddocument", "sendsticker",
                "sendanimation", "sendvideo", "sendaudio", "sendvoice", "sendlocation", "sendpoll"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BotProcess:
    """One running instance of the bot under test, its output in a log file."""

    def __init__(self, label: str, command: Iterable[str], env: dict[str, str], log_path: Path,
                 cwd: Path) -> None:
        self.label = label
        self.command = list(command)
        self.env = env
        self.log_path = log_path
        self.cwd = cwd
        self.proc: subprocess.Popen | None = None
        self.returncode: int | None = None

    def start(self, on_exit=None) -> "BotProcess":
        self._log = open(self.log_path, "ab")
        try:
            # Own session: a kill reaches the bot's children too, and Ctrl-C on the harness does
            # not reach the bot before the harness can stop it in order.
            self.proc = subprocess.Popen(
                self.command, env=self.env, cwd=self.cwd, stdout=self._log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )
        except BaseException:
            self._log.close()
            raise
        if on_exit is not None:
            # waitpid in a thread turns "the bot exited" into an event the harness can await.
            proc = self.proc

            def watch() -> None:
                on_exit(self, proc.wait())

            self.watcher = threading.Thread(target=watch, name=f"bot-{self.label}-exit", daemon=True)
            self.watcher.start()
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def pids(self) -> set[int]:
        """The bot's process and its children (a bot may run workers)."""
        if not self.alive:
            return set()
        try:
            parent = psutil.Process(self.pid)
            return {self.pid} | {c.pid for c in parent.children(recursive=True)}
        except psutil.NoSuchProcess:
            return set()

    def wait(self, timeout: float) -> int | None:
        """The exit code, or None if still running after `timeout` seconds."""
        assert self.proc is not None
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.returncode

    def terminate(self, timeout: float = 15.0) -> int | None:
        """SIGTERM, as a deploy or Ctrl-C would; SIGKILL if it does not stop in time."""
        if not self.alive:
            return self.proc.returncode if self.proc else None
        self._signal(signal.SIGTERM)
        code = self.wait(timeout)
        if code is None:
            self.kill()
        return self.returncode

    def kill(self) -> None:
        """SIGKILL to the whole process group: a crash, no clean-up runs."""
        if self.alive:
            self._signal(signal.SIGKILL)
            self.wait(15.0)

    def _signal(self, sig: int) -> None:
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            pass

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def close(self) -> None:
        self.kill()
        if hasattr(self, "_log"):
            self._log.close()


@dataclass
class Credentials:
    bot_token: str
    deriv_token: str = ""
    telethon_session: str = ""


@dataclass
class Finding:
    """What a scenario found: the bug, the quoted error, and the evidence."""

    bug: Bug
    error: str
    evidence: list[str] = field(default_factory=list)


class BugFound(AssertionError):
    """Raised by a scenario when the bot shows a bug; the verdict is built from it."""

    def __init__(self, finding: Finding) -> None:
        self.finding = finding
        lines = [f"BUG {finding.bug.id}: {finding.bug.title} (seed {', '.join(finding.bug.seeds) or '-'})",
                 f"  error: {finding.error}"]
        lines += [f"  {line}" for line in finding.evidence]
        lines.append(f"  fix: {finding.bug.advice}")
        super().__init__("\n".join(lines))


class Harness:
    def __init__(self, runtime: FakesRuntime, spec: BotSpec, workdir: Path) -> None:
        self.runtime = runtime
        self.spec = spec
        self.workdir = workdir
        self.control: ControlClient = runtime.control
        self.instances: list[BotProcess] = []
        # Events of this scenario are those after this one (sequence numbers survive a reset).
        self.start_seq = runtime.call_sync(lambda: runtime.plane.journal.last_seq)
        self.data_dir = workdir / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.webhook_secret = secrets.token_urlsafe(24)
        self._conn_owner: dict[str, str] = {}
        self._lock = threading.Lock()
        self._listening = False
        self._closing = False
        self._chats = 0
        self._resolver = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="owner")

    # -- credentials and environment -----------------------------------------------------------

    def mint(self, *, session_file: bool = False) -> Credentials:
        """A fresh bot token, Deriv account and Telethon session (a string, or a .session file)."""
        creds = Credentials(bot_token=self.control.botapi.new_bot())
        if self.spec.has("deriv"):
            creds.deriv_token = self.control.deriv.create_account(balance=10_000)["token"]
        if self.spec.has("telethon"):
            if session_file:
                path = self.workdir / "bot.session"
                creds.telethon_session = self.control.mtproto.mint_session(path=str(path))["path"]
            else:
                creds.telethon_session = self.control.mtproto.mint_session()["session"]
        self.creds = creds
        return creds

    def env(self, *, webhook: bool = False, port: int | None = None, **extra: str) -> dict[str, str]:
        creds = self.creds
        fakes = self.runtime.info()["fakes"]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DERIV_", "WEBHOOK_"))}
        port = port or free_port()
        env.update({
            "TELEGRAM_BOT_TOKEN": creds.bot_token,
            "TELEGRAM_API_BASE_URL": fakes["botapi"]["url"],
            "USE_WEBHOOK": "true" if webhook else "false",
            "WEBHOOK_URL": f"http://127.0.0.1:{port}",
            "WEBHOOK_PATH": WEBHOOK_PATH,
            "WEBHOOK_SECRET": self.webhook_secret,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "DATA_DIR": str(self.data_dir),
            "PYTHONUNBUFFERED": "1",
        })
        if creds.telethon_session:
            env.update({
                "TELEGRAM_API_ID": API_ID,
                "TELEGRAM_API_HASH": API_HASH,
                "TELETHON_SESSION": creds.telethon_session,
                "TRENDING_CHANNELS": ",".join(self.channels()),
            })
        if "deriv" in fakes:
            env.update({
                "DERIV_WS_URL": fakes["deriv"]["url"] + fakes["deriv"]["path"],
                "DERIV_APP_ID": DERIV_APP_ID,
                "DERIV_API_TOKEN": creds.deriv_token,
            })
        env.update(dict(self.spec.env))
        env.update(extra)
        return env

    def channels(self) -> list[str]:
        """Usernames of the fake's public channels, the ones a trending service should read."""
        return [c["username"] for c in self.control.mtproto.world()["channels"] if c.get("username")]

    # -- instances -----------------------------------------------------------------------------

    def start_bot(self, label: str | None = None, **env_kwargs: Any) -> BotProcess:
        self._listen_for_connections()
        label = label or "ABCDEFGH"[len(self.instances)]
        env = self.env(**env_kwargs)
        bot = BotProcess(label, self.spec.command, env, self.workdir / f"bot-{label}.log",
                         cwd=self.workdir)
        bot.port = int(env["PORT"])  # type: ignore[attr-defined]
        bot.start(on_exit=self._on_exit)
        self.instances.append(bot)
        note = self.control.note("bot started", conn=label, pid=bot.pid, port=bot.port)
        bot.started_seq = note["seq"]  # type: ignore[attr-defined]
        return bot

    def start_polling_bot(self, label: str = "A", **env_kwargs: Any) -> BotProcess:
        """Start an instance and return once it has called getUpdates."""
        bot = self.start_bot(label, **env_kwargs)
        assert self.wait_polling(after=bot.started_seq), f"instance {label} never called getUpdates"
        return bot

    def _on_exit(self, bot: BotProcess, code: int) -> None:
        if not self._closing:
            self.runtime.call_sync(lambda: self.runtime.plane.journal.record(
                "harness", "note", conn=bot.label, method="bot exited", data={"exit_code": code}))

    def kill(self, bot: BotProcess) -> None:
        bot.kill()
        self.control.note("bot killed (SIGKILL)", conn=bot.label)

    def stop(self, bot: BotProcess) -> int | None:
        code = bot.terminate()
        self.control.note("bot stopped (SIGTERM)", conn=bot.label, exit_code=code)
        return code

    def close(self) -> None:
        self._closing = True
        for bot in self.instances:
            if bot.alive:
                bot.terminate(timeout=5.0)
            bot.close()
            if getattr(bot, "watcher", None) is not None:
                bot.watcher.join(5.0)
        if self._listening:
            self.runtime.call_sync(lambda: self.runtime.plane.journal.remove_listener(self._on_event))
            self._listening = False
        self._resolver.shutdown(wait=True)

    def _listen_for_connections(self) -> None:
        if not self._listening:
            self.runtime.call_sync(lambda: self.runtime.plane.journal.add_listener(self._on_event))
            self._listening = True

    def _on_event(self, event: Event) -> None:
        # Runs on the fakes' loop: only note the client's port; a worker thread finds the process
        # (a /proc scan here would stall every fake). The bot's socket outlives this by far.
        if event.kind != "connect" or "peer" not in event.data:
            return
        try:
            port = int(str(event.data["peer"]).rsplit(":", 1)[1])
        except (ValueError, IndexError):
            return
        self._resolver.submit(self._resolve_owner, event.conn, port)

    def _resolve_owner(self, conn: str, port: int) -> None:
        for bot in list(self.instances):
            for pid in bot.pids():
                try:
                    conns = psutil.Process(pid).net_connections(kind="inet")
                except psutil.Error:
                    continue
                if any(c.laddr and c.laddr.port == port for c in conns):
                    with self._lock:
                        self._conn_owner[conn] = bot.label
                    return

    def owner(self, conn: str) -> str:
        """Which instance opened connection `conn` ("?" if it was gone before it was looked up)."""
        with self._lock:
            return self._conn_owner.get(conn, "?")

    # -- waiting on the journal ----------------------------------------------------------------

    def wait_for(self, predicate: Callable[[Event], bool], timeout: float, count: int = 1) -> list[Event] | None:
        """Events of this scenario matching `predicate` (any Python test), or None after `timeout`.

        The harness shares the process of the fakes' runtime, so it waits on the journal itself,
        with any condition, instead of through the HTTP filter. The timeout is a bound on a broken
        bot, never what makes a race happen.
        """
        since = self.start_seq

        async def wait() -> list[Event] | None:
            try:
                return await self.runtime.plane.journal.wait(
                    lambda e: e.seq > since and predicate(e), count, timeout)
            except (asyncio.TimeoutError, JournalReset):
                return None

        return self.runtime.call(wait, timeout=timeout + 30.0)

    def events(self, predicate: Callable[[Event], bool] | None = None) -> list[Event]:
        since = self.start_seq
        return self.runtime.call_sync(
            lambda: self.runtime.plane.journal.events(
                lambda e: e.seq > since and (predicate is None or predicate(e))))

    # -- the Telegram side ---------------------------------------------------------------------

    def new_chat(self, group: bool = False) -> int:
        """A chat id never used before in this scenario (negative for groups, as Telegram's)."""
        self._chats += 1
        return -(1_000_000 + self._chats) if group else 500_000 + self._chats

    def send(self, chat_id: int, text: str | None = None) -> dict[str, Any]:
        """A user writes `text` (the bot's probe command by default) in chat `chat_id`."""
        text = self.spec.probe if text is None else text
        user_id = abs(chat_id) if chat_id > 0 else 700_000 + self._chats
        chat: dict[str, Any] = {"id": chat_id, "type": "private"} if chat_id > 0 else {
            "id": chat_id, "type": "group", "title": f"group {abs(chat_id)}"}
        return self.control.botapi.send_message(
            self.creds.bot_token, text, user={"id": user_id, "first_name": f"user{user_id}"}, chat=chat)

    def sent_to(self, chat_id: int) -> list[dict[str, Any]]:
        """What the bot sent into `chat_id` (sendMessage and the like, as the fake recorded it)."""
        return self.control.botapi.sent(self.creds.bot_token).get(chat_id, [])

    @staticmethod
    def is_send_to(e: Event, chat_id: int) -> bool:
        """A bot's successful message into `chat_id` (the fake journals it once answered)."""
        return (e.fake == "botapi" and e.kind == "request" and e.method.lower() in SEND_METHODS
                and str((e.data.get("params") or {}).get("chat_id")) == str(chat_id))

    def replied(self, chat_id: int) -> Callable[[Event], bool]:
        """Matches the fake's ok answer to a bot's message into `chat_id`.

        Journal predicates run on the fakes' loop, so this one reads the journal directly.
        """
        journal = self.runtime.plane.journal

        def predicate(e: Event) -> bool:
            if e.fake != "botapi" or e.kind != "response" or not (e.outcome or {}).get("ok"):
                return False
            request = journal.get(e.request) if e.request else None
            return request is not None and self.is_send_to(request, chat_id)

        return predicate

    def wait_replies(self, chat_ids: Iterable[int], timeout: float = 30.0) -> list[int]:
        """Wait until the bot has sent into every chat; returns the chats it never answered."""
        chats = set(chat_ids)
        answered: set[int] = set()
        matchers = {c: self.replied(c) for c in chats}

        def first_reply(e: Event) -> bool:  # counts each chat once, so `count` means chats
            chat = next((c for c, match in matchers.items() if c not in answered and match(e)), None)
            if chat is None:
                return False
            answered.add(chat)
            return True

        if chats:
            self.wait_for(first_reply, timeout, count=len(chats))
        return sorted(chats - answered)

    def wait_polling(self, timeout: float = 30.0, after: int = 0) -> Event | None:
        """The next getUpdates the bot sends (after journal seq `after`)."""
        found = self.wait_for(lambda e: e.seq > after and e.fake == "botapi" and e.kind == "request"
                              and e.method.lower() == "getupdates", timeout)
        return found[0] if found else None

    def http(self, bot: BotProcess, method: str, path: str, *, body: bytes | None = None,
             headers: dict[str, str] | None = None, timeout: float = 30.0) -> tuple[int, bytes]:
        """One HTTP request to the bot's own server; (status, body), status 0 if unreachable."""
        req = urllib.request.Request(f"http://127.0.0.1:{bot.port}{path}", data=body, method=method,
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
        except (urllib.error.URLError, OSError) as exc:
            return 0, str(exc).encode()

    def wait_http_ready(self, bot: BotProcess, path: str = "/health", timeout: float = 30.0) -> bool:
        """Until the bot's HTTP server answers (a readiness probe, as an orchestrator would)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and bot.alive:
            status, _ = self.http(bot, "GET", path, timeout=5.0)
            if status:
                return True
            time.sleep(0.05)  # connection refused: the process is still starting
        return False

    # -- evidence ------------------------------------------------------------------------------

    def journal(self, **filters: Any) -> list[dict[str, Any]]:
        return self.control.journal(since=self.start_seq, **filters)

    def quote(self, bug: Bug) -> tuple[str, str] | None:
        """(the bug's real error text, where it was seen) if the bot printed it or told a chat.

        Bots log a library's exception, or send it to the user; either is evidence.
        """
        for bot in self.instances:
            for line in bot.output().splitlines():
                text = next((t for t in bug.texts if t in line), None)
                if text:
                    return text, f"output of instance {bot.label}: {line.strip()[:240]}"
        for chat_id, messages in self.control.botapi.sent(self.creds.bot_token).items():
            for message in messages:
                body = str(message.get("text", ""))
                text = next((t for t in bug.texts if t in body), None)
                if text:
                    return text, f"the bot's message to chat {chat_id}: {body[:200]!r}"
        return None

    def timeline(self, limit: int = 200) -> list[str]:
        """The scenario's journal as lines: time, instance, connection, what happened."""
        events = self.journal()
        if not events:
            return []
        t0 = events[0]["time"]
        lines = []
        for e in events[-limit:]:
            who = e["conn"] if e["fake"] == "harness" else self.owner(e["conn"])
            what = e["method"]
            if e["kind"] == "request":
                params = e["data"].get("params") or {}
                brief = ", ".join(f"{k}={_short(v)}" for k, v in list(params.items())[:4])
                what = f"{what}({brief})"
            outcome = e.get("outcome")
            result = ""
            if outcome:
                result = "ok" if outcome.get("ok") else f"{outcome.get('code')} {outcome.get('text', '')}"
            lines.append(
                f"+{e['time'] - t0:7.3f}s {who:>2} {e['fake']:<7} {e['conn']:<11} {e['kind']:<10} "
                f"{what} {('-> ' + result) if result else ''}".rstrip()
            )
        return lines

    def timeline_events(self) -> list[dict[str, Any]]:
        events = self.journal()
        for e in events:
            e["instance"] = e["conn"] if e["fake"] == "harness" else self.owner(e["conn"])
        return events

    def found(self, bug_id: str, error: str, *evidence: str) -> BugFound:
        return BugFound(Finding(BUGS[bug_id], error, list(evidence)))


def _short(value: Any, width: int = 24) -> str:
    text = str(value)
    return text if len(text) <= width else text[: width - 1] + "…"
