"""Drives a bot as a black box: its processes, its environment, and the fakes around it.

The harness mints credentials on the fakes (a bot token, an MTProto session in the bot's format,
a Deriv account), hands them to the bot as the contract's variables plus the spec's own
(`[bot.env]`, with {placeholders}), starts the bot in its own folder (twice if a scenario needs two
instances), stops it, kills it with SIGKILL and restarts it. It never looks inside the bot:
everything it knows comes from the fakes' journal, the bot's HTTP endpoints and its own output.

Fail fast: every wait on the journal also waits for an instance's unexpected exit, and raises
BotDied ("instance A exited with code 1 after 0.4 s" plus its last lines) as soon as the exit is
journaled, so no scenario waits out a timeout on a dead bot. An instance a scenario expects may
exit (a second instance refusing to run) is started with `may_exit=True`.
"""

from __future__ import annotations

import asyncio
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from botfakes.fakes.control.client import ControlClient
from botfakes.fakes.control.journal import Event, JournalReset
from botfakes.fakes.runtime import FakesRuntime
from botfakes.testing.env import (API_ID, COMMAND_PLACEHOLDERS, Contract, bot_environment,
                                  placeholder_values, resolve)
from botfakes.testing.ports import free_port
from botfakes.testing.process import BotExited, BotNotReady, BotProcess, ReadyHttp, ReadyLine

from .attribution import ConnectionOwners, Owner
from .bugs import BUGS
from .evidence import Evidence
from .spec import BotSpec
from .verdicts import BotDied, BugFound, Finding

WEBHOOK_PATH = "/webhook"
# Bot API methods that put a message into a chat: what "the bot answered" means.
SEND_METHODS = {"sendmessage", "editmessagetext", "sendphoto", "senddocument", "sendsticker",
                "sendanimation", "sendvideo", "sendaudio", "sendvoice", "sendlocation", "sendpoll"}


@dataclass
class Credentials:
    bot_token: str
    deriv_token: str = ""
    mtproto_session: str = ""

    @property
    def telethon_session(self) -> str:  # the v1 name
        return self.mtproto_session


class Harness(Evidence):
    def __init__(self, runtime: FakesRuntime, spec: BotSpec, workdir: Path, cwd: Path | None = None) -> None:
        self.runtime = runtime
        self.spec = spec
        self.workdir = workdir
        self.cwd = Path(spec.cwd or cwd or Path.cwd())
        self.control: ControlClient = runtime.control
        self.instances: list[BotProcess] = []
        # Events of this scenario are those after this one (sequence numbers survive a reset).
        self.start_seq = runtime.call_sync(lambda: runtime.plane.journal.last_seq)
        self.data_dir = workdir / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.webhook_secret = secrets.token_urlsafe(24)
        self.owners = ConnectionOwners(lambda: list(self.instances))
        self.died: BotDied | None = None
        self._may_exit: set[str] = set()
        self._listening = False
        self._closing = False
        self._chats = 0
        self.minted_format = ""  # the MTProto session format minted (mint()), "" before

    # -- credentials and environment -----------------------------------------------------------

    def mint(self, *, session_file: bool = False) -> Credentials:
        """A fresh bot token, Deriv account and MTProto session in the bot's session format
        (with the v1 default, Telethon: a .session file if `session_file`, else a string)."""
        creds = Credentials(bot_token=self.control.botapi.new_bot())
        if self.spec.has("deriv"):
            creds.deriv_token = self.control.deriv.create_account(balance=10_000)["token"]
        if self.spec.has("mtproto"):
            creds.mtproto_session = self._mint_session(session_file)
        self.creds = creds
        return creds

    def session_format(self, session_file: bool = False) -> str:
        return self.spec.session or ("telethon-file" if session_file else "telethon")

    def _mint_session(self, session_file: bool) -> str:
        """A signed-in session in the bot's format: a string, or a file's path (file formats)."""
        from botfakes.fakes.mtproto.minting import FILE_FORMATS

        fmt = self.session_format(session_file)
        self.minted_format = fmt
        path = str(self.workdir / "bot.session") if fmt in FILE_FORMATS else None
        return self.control.mtproto.mint_session(format=fmt, path=path, api_id=int(API_ID))["session"]

    def contract(self, *, webhook: bool = False, port: int | None = None) -> Contract:
        """The contract for one instance: what was minted, and the port its HTTP server gets."""
        creds = self.creds
        fakes = self.runtime.info()["fakes"]
        c = Contract(bot_token=creds.bot_token, api_root=fakes["botapi"]["url"],
                     port=port or free_port(), webhook=webhook, webhook_path=WEBHOOK_PATH,
                     webhook_secret=self.webhook_secret, data_dir=str(self.data_dir))
        if "mtproto" in fakes:
            c.mtproto_host = str(fakes["mtproto"]["host"])
            c.mtproto_port = int(fakes["mtproto"]["port"])
            c.mtproto_dc_id = int(fakes["mtproto"].get("dc_id", 0))
        if creds.mtproto_session:
            c.mtproto_session = creds.mtproto_session
            c.channels = tuple(self.channels())
        if "deriv" in fakes:
            c.deriv_url = fakes["deriv"]["url"]
            c.deriv_path = fakes["deriv"].get("path", "/websockets/v3")
            c.deriv_token = creds.deriv_token
        return c

    def env(self, *, webhook: bool = False, port: int | None = None, **extra: str) -> dict[str, str]:
        c = self.contract(webhook=webhook, port=port)
        self.last_contract = c
        env = bot_environment(c, {**dict(self.spec.env), **extra})
        fmt = self.minted_format
        if fmt and c.mtproto_port:
            # GramJS and Pyrogram find their DC's address themselves: a preload (NODE_OPTIONS /
            # PYTHONPATH) points them at the fake, without a change in the bot.
            from botfakes.fakes.mtproto.preload import gramjs_environment, pyrogram_environment

            if fmt == "gramjs":
                env.update(gramjs_environment(c.mtproto_host, c.mtproto_port, env))
            elif fmt.startswith("pyrogram"):
                env.update(pyrogram_environment(c.mtproto_host, c.mtproto_port, env))
        return env

    def channels(self) -> list[str]:
        """Usernames of the fake's public channels, the ones a trending service should read."""
        return [c["username"] for c in self.control.mtproto.world()["channels"] if c.get("username")]

    def command_text(self, template: str, **values: str) -> str:
        """A spec command ("/price {symbol}") with its placeholders filled in."""
        known = placeholder_values(getattr(self, "last_contract", None) or self.contract())
        known.update({k: v for k, v in values.items() if k in COMMAND_PLACEHOLDERS})
        return resolve(template, known, where="command")

    # -- instances -----------------------------------------------------------------------------

    def start_bot(self, label: str | None = None, *, may_exit: bool = False, **env_kwargs: Any) -> BotProcess:
        """Start an instance. Its unexpected exit ends the scenario at the next wait (BotDied),
        unless `may_exit`: an exit the scenario itself judges."""
        self._listen_for_connections()
        label = label or "ABCDEFGH"[len(self.instances)]
        env = self.env(**env_kwargs)
        bot = BotProcess(label, self.spec.command, env, cwd=self.cwd,
                         log_path=self.workdir / f"bot-{label}.log", on_exit=self._on_exit)
        bot.port = int(env["PORT"])  # type: ignore[attr-defined]
        if may_exit:
            self._may_exit.add(label)
        try:
            bot.start()
        except OSError as exc:
            raise BotDied(f"instance {label} could not start: {exc} (command {self.spec.command[0]!r}, "
                          f"folder {self.cwd})", label) from None
        self.instances.append(bot)
        note = self.control.note("bot started", conn=label, pid=bot.pid, port=bot.port)
        bot.started_seq = note["seq"]  # type: ignore[attr-defined]
        return bot

    def wait_ready(self, bot: BotProcess) -> None:
        """The spec's own readiness ([bot.ready]), if it has one; scenarios then wait for what
        they need (the first getUpdates, setWebhook, the HTTP server answering)."""
        ready = self.spec.ready
        if ready is None or (ready.http is None and ready.line is None):
            return
        check = ReadyHttp(ready.http, port=bot.port) if ready.http else ReadyLine(ready.line or "")
        try:
            bot.wait_ready(check, ready.timeout)
        except BotExited:
            raise BotDied.of(bot) from None
        except BotNotReady as exc:
            raise AssertionError(str(exc)) from None

    def start_polling_bot(self, label: str = "A", **env_kwargs: Any) -> BotProcess:
        """Start an instance and return once it has called getUpdates."""
        bot = self.start_bot(label, **env_kwargs)
        self.wait_ready(bot)
        assert self.wait_polling(after=bot.started_seq), f"instance {label} never called getUpdates"
        return bot

    def _on_exit(self, bot: BotProcess, code: int) -> None:
        if self._closing:
            return
        expected = bot.exit_requested or bot.label in self._may_exit
        data = {"exit_code": code, "after_s": round(bot.runtime_s, 3), "expected": expected}
        self.runtime.call_sync(lambda: self.runtime.plane.journal.record(
            "harness", "note", conn=bot.label, method="bot exited", data=data))

    def kill(self, bot: BotProcess) -> None:
        self.owners.snapshot()
        bot.kill()
        self.control.note("bot killed (SIGKILL)", conn=bot.label)

    def stop(self, bot: BotProcess) -> int | None:
        self.owners.snapshot()
        code = bot.stop()
        self.control.note("bot stopped (SIGTERM)", conn=bot.label, exit_code=code)
        return code

    def check_alive(self) -> None:
        """Raise BotDied if an instance the scenario needs has exited on its own."""
        for bot in self.instances:
            if not bot.alive and not bot.exit_requested and bot.label not in self._may_exit:
                raise BotDied.of(bot)

    def close(self) -> None:
        self._closing = True
        try:
            self.owners.settle()
        except Exception:  # noqa: BLE001  (a stuck lookup must not keep the bots running)
            pass
        for bot in self.instances:
            if bot.alive:
                bot.stop(timeout=5.0)
            bot.close()
        if self._listening:
            self.runtime.call_sync(lambda: self.runtime.plane.journal.remove_listener(self._on_event))
            self._listening = False
        self.owners.close()

    def _listen_for_connections(self) -> None:
        if not self._listening:
            self.runtime.call_sync(lambda: self.runtime.plane.journal.add_listener(self._on_event))
            self._listening = True

    def _on_event(self, event: Event) -> None:
        # Runs on the fakes' loop: only queue the client's port (see attribution.py).
        if event.kind == "connect" and "peer" in event.data:
            self.owners.connected(event.conn, event.data["peer"])

    def owner(self, conn: str) -> str:
        """Which instance opened connection `conn` ("?" when it cannot be said; see why_unknown)."""
        return self.owners.owner(conn).label

    def owner_of(self, conn: str) -> Owner:
        return self.owners.owner(conn)

    # -- waiting on the journal ----------------------------------------------------------------

    def _is_death(self, e: Event) -> bool:
        return (e.fake == "harness" and e.method == "bot exited" and not e.data.get("expected")
                and e.conn not in self._may_exit)

    def wait_for(self, predicate: Callable[[Event], bool], timeout: float, count: int = 1) -> list[Event] | None:
        """Events of this scenario matching `predicate` (any Python test), or None after `timeout`.

        Raises BotDied as soon as an instance exits unexpectedly (before or during the wait),
        unless the exit is what `predicate` waits for. The harness shares the process of the
        fakes' runtime, so it waits on the journal itself. The timeout is a bound on a broken bot,
        never what makes a race happen.
        """
        since = self.start_seq
        journal = self.runtime.plane.journal

        async def wait() -> tuple[list[Event] | None, Event | None]:
            wanted = asyncio.ensure_future(journal.wait(lambda e: e.seq > since and predicate(e), count, timeout))
            death = asyncio.ensure_future(journal.wait(lambda e: e.seq > since and self._is_death(e), 1, None))
            try:
                await asyncio.wait({wanted, death}, return_when=asyncio.FIRST_COMPLETED)
                if wanted.done():
                    try:
                        return wanted.result(), None
                    except (asyncio.TimeoutError, JournalReset):
                        return None, None
                return None, death.result()[0]
            finally:
                for task in (wanted, death):
                    if not task.done():
                        task.cancel()
                await asyncio.gather(wanted, death, return_exceptions=True)

        found, died = self.runtime.call(wait, timeout=timeout + 30.0)
        if died is not None:
            bot = next((b for b in self.instances if b.label == died.conn), None)
            if bot is not None:
                bot.wait(5.0)
                raise BotDied.of(bot)
            raise BotDied(f"instance {died.conn} exited with code {died.data.get('exit_code')}", died.conn)
        return found

    def wait_held(self, gate_id: str, count: int, timeout: float = 30.0) -> bool:
        """Until `count` requests are held at a gate (fail-fast like every wait)."""
        return bool(self.wait_for(lambda e: e.kind == "gate" and e.data.get("gate") == gate_id
                                  and e.data.get("action") == "held", timeout, count=count))

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
        """A bot's message into `chat_id` (the request, whatever the fake answered)."""
        return (e.fake == "botapi" and e.kind == "request" and e.method.lower() in SEND_METHODS
                and str((e.data.get("params") or {}).get("chat_id")) == str(chat_id))

    @staticmethod
    def is_call_for(e: Event, chat_ids: Iterable[int]) -> bool:
        """Any Bot API call the bot made about one of these chats (sendMessage, sendChatAction,
        a callback answer...), whatever the fake answered: the bot acted on an update from it."""
        if e.fake != "botapi" or e.kind != "request":
            return False
        params = e.data.get("params") or {}
        return str(params.get("chat_id")) in {str(c) for c in chat_ids}

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
        req = urllib.request.Request(f"http://127.0.0.1:{bot.port}{path}", data=body, method=method,  # type: ignore[attr-defined]
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
        except (urllib.error.URLError, OSError) as exc:
            return 0, str(exc).encode()

    def wait_http_ready(self, bot: BotProcess, path: str = "/health", timeout: float = 30.0) -> bool:
        """Until the bot's HTTP server answers at all (any status, as an orchestrator's TCP
        probe); the spec's [bot.ready] http path, if given, must answer 2xx first."""
        self.wait_ready(bot)
        try:
            bot.wait_ready(lambda: self.http(bot, "GET", path, timeout=5.0)[0], timeout)
        except BotExited:
            self.check_alive()
            return False
        except BotNotReady:
            return False
        return True

    def found(self, bug_id: str, error: str, *evidence: str) -> BugFound:
        return BugFound(Finding(BUGS[bug_id], error, list(evidence)))


__all__ = ["BotDied", "BotProcess", "BugFound", "Credentials", "Finding", "Harness", "WEBHOOK_PATH"]
