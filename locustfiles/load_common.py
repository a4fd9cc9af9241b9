"""What every load in locustfiles/ shares: its targets, its thresholds, and non-HTTP request events.

Targets. A locustfile runs its own targets unless told where they are: it starts
`botfakes serve --ready-file` (and the reference bot where the load needs it) as subprocesses when
Locust imports it, and stops them when Locust exits. Locust imports the locustfile once, before
`--processes N` forks its workers, so the workers inherit the targets' addresses and only the
process that started the targets stops them. Given `BOTFAKES_READY_FILE` (the JSON of
`botfakes serve --ready-file`, e.g. from ci/start-fakes.sh), a load uses those fakes instead;
given also `BOT_URL` and `BOT_TOKEN`, it uses that bot instead of starting one.

Thresholds. Every load adds `--max-fail-ratio` and `--max-p95-ms` to Locust's options; at exit
the master (or the only process) checks Locust's own aggregated stats against them, plus the
load's own checks (no 406 in the fakes' journal, no "database is locked" in the bot's output...),
and sets a non-zero exit code when any fails. A run that made no request at all fails too.

Non-HTTP users (WebSocket) report through `fire()`, i.e. Locust's own request event, so Locust's
stats, CSV and HTML cover them like HTTP requests.
"""

from __future__ import annotations

import atexit
import itertools
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Callable

import gevent
from gevent.event import AsyncResult
from gevent.queue import Queue
from locust import events
from locust.runners import MasterRunner, WorkerRunner
from websockets.sync.client import connect

log = logging.getLogger("botfakes.load")

READY_TIMEOUT = float(os.environ.get("BOTFAKES_LOAD_READY_TIMEOUT", "60"))
_OWNER_PID = os.getpid()


def env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def free_port() -> int:
    # Only where the port must be known before the process binds it (a webhook URL).
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- HTTP helpers (urllib: cooperative under Locust's gevent patching) ------------------------

def http_json(method: str, url: str, body: Any = None, timeout: float = 30.0) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw) if raw else None
        except ValueError:
            return exc.code, raw.decode(errors="replace")


class Control:
    """The few /_control/ calls the loads make (the plane's envelope: {"ok", "result"})."""

    def __init__(self, control_url: str) -> None:
        self.base = control_url.rstrip("/") + "/_control"

    def call(self, verb: str, path: str, body: Any = None, **query: Any) -> Any:
        url = self.base + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        status, reply = http_json(verb, url, body)
        if status != 200 or not isinstance(reply, dict) or not reply.get("ok"):
            raise RuntimeError(f"{verb} {path}: {status} {reply}")
        return reply["result"]

    def get(self, path: str, **query: Any) -> Any:
        return self.call("GET", path, **query)

    def post(self, path: str, body: Any = None) -> Any:
        return self.call("POST", path, body if body is not None else {})

    def journal(self, **query: Any) -> list[dict]:
        return self.get("/journal", **query)["events"]

    def stats(self) -> dict:
        return self.get("/stats")


# ---- targets ------------------------------------------------------------------------------

_all_targets: list["Targets"] = []


@events.quit.add_listener
def _stop_targets(**_kw) -> None:
    # Locust's last event: users and workers have stopped, the reports are written.
    for targets in _all_targets:
        targets.stop()


class Targets:
    """The fakes (a `botfakes serve` subprocess) and bot subprocesses one load runs against."""

    def __init__(self, name: str) -> None:
        self.name = name
        keep = os.environ.get("BOTFAKES_LOAD_DIR")
        self.workdir = Path(keep) if keep else Path(tempfile.mkdtemp(prefix=f"botfakes-{name}-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._remove_workdir = not keep
        self.processes: list[subprocess.Popen] = []
        self.bot_logs: list[Path] = []
        self.info: dict[str, Any] = {}
        self.control: Control | None = None
        self.owned = False
        self.stopped = False
        _all_targets.append(self)
        atexit.register(self.stop)

    # The fakes.
    def fakes(self, only: list[str], extra_args: list[str] | None = None) -> dict[str, Any]:
        """Use BOTFAKES_READY_FILE's fakes, or start `botfakes serve` with `only` on free ports."""
        ready = os.environ.get("BOTFAKES_READY_FILE")
        if ready:
            self.info = json.loads(Path(ready).read_text())
        else:
            ready_file = self.workdir / "fakes.json"
            args = [sys.executable, "-m", "botfakes", "serve", "--only", ",".join(only),
                    "--control-port", "0", "--ready-file", str(ready_file),
                    "--seed", os.environ.get("BOTFAKES_SEED", "0")]
            args += [a for name in only for a in (f"--{name}-port", "0")]
            args += extra_args or []
            log_path = self.workdir / "fakes.log"
            proc = self._spawn(args, os.environ.copy(), log_path)
            self._wait(lambda: ready_file.exists(), proc, log_path, "botfakes serve")
            self.info = json.loads(ready_file.read_text())
            self.owned = True
        missing = [n for n in only if n not in self.info.get("fakes", {})]
        if missing:
            raise SystemExit(f"{self.name}: the fakes lack {', '.join(missing)}")
        self.control = Control(self.info["control_url"])
        return self.info

    def fake_url(self, name: str) -> str:
        return self.info["fakes"][name]["url"]

    # The reference bot.
    def bot(self, label: str, env: dict[str, str]) -> dict[str, Any]:
        """Start `python -m botfakes.reference_bot` with `env` added; wait for `BOT READY {...}`."""
        data_dir = self.workdir / f"data-{label}"
        full_env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("TELEGRAM_", "DERIV_", "WEBHOOK_", "TELETHON_", "TRENDING_"))}
        full_env.update({"DATA_DIR": str(data_dir), "HOST": "127.0.0.1", "PORT": "0",
                         "PYTHONUNBUFFERED": "1", "LOG_LEVEL": "WARNING",
                         # Nothing listens there unless the load points the bot at the Deriv fake.
                         "DERIV_WS_URL": "ws://127.0.0.1:9/websockets/v3"})
        full_env.update(env)
        log_path = self.workdir / f"bot-{label}.log"
        proc = self._spawn([sys.executable, "-m", "botfakes.reference_bot"], full_env, log_path)
        self.bot_logs.append(log_path)
        ready: dict[str, Any] = {}

        def is_ready() -> bool:
            for line in log_path.read_text(errors="replace").splitlines():
                if line.startswith("BOT READY "):
                    ready.update(json.loads(line[len("BOT READY "):]))
                    return True
            return False

        self._wait(is_ready, proc, log_path, f"reference bot {label}")
        ready["url"] = f"http://127.0.0.1:{ready['port']}"
        return ready

    def bot_output(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.bot_logs if p.exists())

    # Processes.
    def _spawn(self, args: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen:
        log_file = open(log_path, "ab")
        # Own process group: Ctrl-C on Locust reaches Locust, which then stops these in order.
        proc = subprocess.Popen(args, env=env, stdout=log_file, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        log_file.close()
        self.processes.append(proc)
        return proc

    def _wait(self, ready: Callable[[], bool], proc: subprocess.Popen, log_path: Path, what: str) -> None:
        # A bounded poll of a file another process writes: there is no event to wait on across
        # processes here, and the bound turns a broken start into an error instead of a hang.
        deadline = time.monotonic() + READY_TIMEOUT
        while not ready():
            if proc.poll() is not None:
                self.stop()
                raise SystemExit(f"{what} exited ({proc.returncode}) before it was ready:\n"
                                 f"{log_path.read_text(errors='replace')[-3000:]}")
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"{what} not ready within {READY_TIMEOUT} s")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop what this process started (forked Locust workers inherit the object: not theirs)."""
        if os.getpid() != _OWNER_PID:
            return
        self.stopped = True
        # Bots first, then the fakes they talk to: a bot stopping with its fakes gone would
        # spend its shutdown on retries.
        for proc in reversed(self.processes):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
            if env_flag("BOTFAKES_LOAD_DEBUG"):
                print(f"stopped {proc.args[-1]} at {time.monotonic():.2f}", file=sys.stderr)
        self.processes.clear()
        if self._remove_workdir and not env_flag("BOTFAKES_LOAD_KEEP"):
            shutil.rmtree(self.workdir, ignore_errors=True)
            self._remove_workdir = False


# ---- non-HTTP request events ---------------------------------------------------------------

def fire(environment, request_type: str, name: str, started: float, length: int = 0,
         exception: BaseException | str | None = None) -> None:
    """Report one request to Locust; `started` is a time.perf_counter() value."""
    if isinstance(exception, str):
        exception = AssertionError(exception)
    environment.events.request.fire(
        request_type=request_type, name=name, response_time=(time.perf_counter() - started) * 1000.0,
        response_length=length, exception=exception, context={})


# ---- a Deriv WebSocket client for Locust users ----------------------------------------------

DERIV_TIMEOUT = 10.0


class DerivConnection:
    """One socket, one reader greenlet; replies routed by req_id, stream messages by subscription."""

    def __init__(self, url: str) -> None:
        self.ws = connect(url, open_timeout=DERIV_TIMEOUT, max_size=2 ** 22)
        self.req_ids = itertools.count(1)
        self.pending: dict[int, AsyncResult] = {}
        self.streams: dict[str, Queue] = {}
        self.unrouted: list[dict] = []
        self.reader = gevent.spawn(self._read)

    def _read(self) -> None:
        try:
            for raw in self.ws:
                message = json.loads(raw)
                subscription = (message.get("subscription") or {}).get("id")
                if subscription in self.streams:
                    self.streams[subscription].put(message)
                    continue
                waiter = self.pending.pop(message.get("req_id"), None)
                if waiter is not None:
                    waiter.set(message)
                elif not subscription:
                    self.unrouted.append(message)
        except Exception as exc:  # the connection ended: everyone waiting learns why
            for waiter in self.pending.values():
                waiter.set_exception(ConnectionError(f"connection ended: {exc!r}"))
            self.pending.clear()

    def send(self, request: dict) -> tuple[int, AsyncResult]:
        req_id = next(self.req_ids)
        waiter = AsyncResult()
        self.pending[req_id] = waiter
        self.ws.send(json.dumps({**request, "req_id": req_id}))
        return req_id, waiter

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            self.reader.kill(block=False)


def problem_with(reply: dict, req_id: int, request: dict, msg_type: str) -> str | None:
    """Why `reply` is not the answer to `request` (None when it is)."""
    if "error" in reply:
        return f"{reply['error'].get('code')}: {reply['error'].get('message')}"
    if reply.get("req_id") != req_id:
        return f"req_id {reply.get('req_id')} answered request {req_id}"
    if reply.get("msg_type") != msg_type:
        return f"msg_type {reply.get('msg_type')} for a {msg_type} request"
    echo = reply.get("echo_req") or {}
    if echo.get("req_id") != req_id or any(echo.get(k) != v for k, v in request.items() if k != "passthrough"):
        return f"echo_req {echo} is not request {req_id}"
    if reply.get("passthrough") != request.get("passthrough"):
        return f"passthrough {reply.get('passthrough')} for {request.get('passthrough')}"
    return None


# ---- thresholds ----------------------------------------------------------------------------

_defaults = {"max_fail_ratio": 0.0, "max_p95_ms": 1000.0}
_checks: list[Callable[[], list[str]]] = []


def thresholds(max_p95_ms: float, max_fail_ratio: float = 0.0) -> None:
    """This load's default thresholds (the command line overrides them)."""
    _defaults.update(max_fail_ratio=max_fail_ratio, max_p95_ms=max_p95_ms)


def check(fn: Callable[[], list[str]]) -> Callable[[], list[str]]:
    """Register an end-of-run check: it returns the problems it found (empty when all is well)."""
    _checks.append(fn)
    return fn


@events.init_command_line_parser.add_listener
def _add_options(parser) -> None:
    parser.add_argument("--max-fail-ratio", type=float, default=None, env_var="LOCUST_MAX_FAIL_RATIO",
                        help="botfakes: exit non-zero when more than this fraction of requests failed")
    parser.add_argument("--max-p95-ms", type=float, default=None, env_var="LOCUST_MAX_P95_MS",
                        help="botfakes: exit non-zero when the aggregated 95th percentile is higher")


def verdict(environment) -> list[str]:
    """Locust's aggregated stats against the thresholds, then the load's own checks."""
    options = environment.parsed_options
    max_fail = getattr(options, "max_fail_ratio", None)
    max_p95 = getattr(options, "max_p95_ms", None)
    max_fail = _defaults["max_fail_ratio"] if max_fail is None else max_fail
    max_p95 = _defaults["max_p95_ms"] if max_p95 is None else max_p95
    total = environment.stats.total
    problems = []
    if total.num_requests == 0:
        problems.append("no request was made")
    else:
        if total.fail_ratio > max_fail:
            problems.append(f"fail ratio {total.fail_ratio:.4f} > {max_fail} "
                            f"({total.num_failures} of {total.num_requests})")
        p95 = total.get_response_time_percentile(0.95)
        if p95 > max_p95:
            problems.append(f"p95 {p95:.0f} ms > {max_p95:.0f} ms")
    for fn in _checks:
        try:
            problems += fn()
        except Exception as exc:  # a check that cannot run is a failed check
            problems.append(f"check {fn.__name__} could not run: {exc!r}")
    return problems


@events.quitting.add_listener
def _apply_thresholds(environment, **_kw) -> None:
    if isinstance(environment.runner, WorkerRunner):
        return  # the master holds the aggregated stats and decides
    problems = verdict(environment)
    total = environment.stats.total
    summary = (f"{total.num_requests} requests, {total.num_failures} failures, "
               f"p95 {total.get_response_time_percentile(0.95) or 0:.0f} ms")
    if problems:
        print(f"BOTFAKES LOAD FAILED: {summary}", file=sys.stderr, flush=True)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr, flush=True)
        environment.process_exit_code = 1
    else:
        print(f"BOTFAKES LOAD OK: {summary}", file=sys.stderr, flush=True)


def is_worker(environment) -> bool:
    return isinstance(environment.runner, WorkerRunner)


def is_master(environment) -> bool:
    return isinstance(environment.runner, MasterRunner)
