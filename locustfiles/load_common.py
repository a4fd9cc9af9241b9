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

Work done. With LOAD_UNTIL_SEEN a run ends once every named request was made (speed-independent
smoke runs); `-t` then only bounds a run that never gets there.

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
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import gevent
from gevent.event import AsyncResult
from gevent.queue import Queue
from locust import events
from locust.runners import MasterRunner, WorkerRunner
from locust.stats import CSV_STATS_INTERVAL_SEC
from websockets.sync.client import connect

from botfakes.fakes.control.client import ControlClient
from botfakes.testing import BotExited, BotNotReady, BotProcess, ReadyLine, bot_environment
# Used by the locustfiles as lc.*, so that they import one module.
from botfakes.fakes.control.client import ControlTimeout  # noqa: F401
from botfakes.testing import Contract, free_port  # noqa: F401

log = logging.getLogger("botfakes.load")

READY_TIMEOUT = float(os.environ.get("BOTFAKES_LOAD_READY_TIMEOUT", "60"))
# Where a bot's Deriv connection points when the load does not give it the Deriv fake: nothing
# listens there (the default would be the real Deriv).
NO_DERIV = "ws://127.0.0.1:9/websockets/v3"
_OWNER_PID = os.getpid()


def env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


# ---- targets ------------------------------------------------------------------------------

_all_targets: list["Targets"] = []


@events.quit.add_listener
def _stop_targets(**_kw) -> None:
    # Locust's last event: users and workers have stopped, the reports are written.
    for targets in _all_targets:
        targets.stop()


class Targets:
    """The fakes (a `botfakes serve` subprocess) and bot subprocesses one load runs against.

    Processes are botfakes.testing.BotProcess: own process group, output into a log file per
    process. Forked Locust workers inherit these objects; only the process that started them
    stops them, and output is read back from the log files, which every process sees.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        keep = os.environ.get("BOTFAKES_LOAD_DIR")
        self.workdir = Path(keep) if keep else Path(tempfile.mkdtemp(prefix=f"botfakes-{name}-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._remove_workdir = not keep
        self.processes: list[BotProcess] = []
        self.bot_logs: list[Path] = []
        self.info: dict[str, Any] = {}
        self.control: ControlClient | None = None
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
            # `botfakes serve` writes the ready file atomically once everything listens.
            self._start("fakes", args, os.environ.copy(), ready_file.exists, "botfakes serve")
            self.info = json.loads(ready_file.read_text())
        missing = [n for n in only if n not in self.info.get("fakes", {})]
        if missing:
            raise SystemExit(f"{self.name}: the fakes lack {', '.join(missing)}")
        self.control = ControlClient(self.info["control_url"])
        return self.info

    def fake_url(self, name: str) -> str:
        return self.info["fakes"][name]["url"]

    # The reference bot.
    def bot(self, label: str, contract: Contract, extra: dict[str, str] | None = None) -> dict[str, Any]:
        """Start `python -m botfakes.reference_bot` with the contract's variables (and `extra`);
        wait for `BOT READY {...}` and return it, with its "url"."""
        contract.data_dir = contract.data_dir or str(self.workdir / f"data-{label}")
        env = bot_environment(contract, {"LOG_LEVEL": "WARNING", **(extra or {})})
        if not contract.port:  # any free port; the bot prints the one it got
            env.update({"HOST": "127.0.0.1", "PORT": "0"})
        if not contract.deriv_url:
            env["DERIV_WS_URL"] = NO_DERIV
        self.bot_logs.append(self.workdir / f"{label}.log")
        match = self._start(label, [sys.executable, "-m", "botfakes.reference_bot"], env,
                            ReadyLine(r"^BOT READY (\{.*\})$"), f"reference bot {label}")
        ready = json.loads(match.group(1))
        ready["url"] = f"http://127.0.0.1:{ready['port']}"
        return ready

    def bot_output(self) -> str:
        return "\n".join(path.read_text(errors="replace") for path in self.bot_logs if path.exists())

    # Processes.
    def _start(self, label: str, command: list[str], env: dict[str, str], readiness, what: str) -> Any:
        proc = BotProcess(label, command, env, cwd=self.workdir, log_path=self.workdir / f"{label}.log")
        self.processes.append(proc)
        proc.start()
        try:
            return proc.wait_ready(readiness, READY_TIMEOUT)
        except (BotExited, BotNotReady) as exc:
            problem = f"{what}: {exc}"
            if isinstance(exc, BotNotReady):
                problem += "; its last output:\n" + "\n".join(f"  | {line}" for line in proc.tail())
            self.stop()
            raise SystemExit(problem) from None

    def stop(self) -> None:
        """Stop what this process started (forked Locust workers inherit the object: not theirs)."""
        if os.getpid() != _OWNER_PID:
            return
        self.stopped = True
        # Bots first, then the fakes they talk to: a bot stopping with its fakes gone would
        # spend its shutdown on retries. stop(): SIGTERM to its group, SIGKILL after 15 s.
        for proc in reversed(self.processes):
            proc.stop(15.0)
            proc.close()
            if env_flag("BOTFAKES_LOAD_DEBUG"):
                print(f"stopped {proc.label} at {time.monotonic():.2f}", file=sys.stderr)
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


# ---- ending a run on work done rather than on time --------------------------------------------

def _until_seen() -> dict[tuple[str, str], int]:
    """LOAD_UNTIL_SEEN="WS connect=8,WS forget": (type, name) -> requests wanted (default 1)."""
    wanted: dict[tuple[str, str], int] = {}
    for item in filter(None, (i.strip() for i in os.environ.get("LOAD_UNTIL_SEEN", "").split(","))):
        label, _, count = item.rpartition("=") if "=" in item else (item, "", "1")
        request_type, _, name = label.strip().partition(" ")
        wanted[(request_type, name)] = int(count)
    return wanted


class _UntilSeen:
    """Quits the run once every wanted request was made often enough and every user spawned.

    For runs whose point is that each kind of request works (CI smoke runs, the plumbing tests):
    how much a machine manages in a fixed `-t` depends on its speed; this does not, and `-t`
    stays the bound of a run that never gets there. Decided where the aggregated stats are (the
    master, or the only process), on each request or worker report.
    """

    def __init__(self) -> None:
        self.wanted = _until_seen()
        self.environment = None
        self.spawned = False
        self.quitting = False

    def reached(self) -> bool:
        entries = self.environment.stats.entries
        return all((name, kind) in entries and entries[(name, kind)].num_requests >= count
                   for (kind, name), count in self.wanted.items())

    def consider(self) -> None:
        if self.wanted and self.spawned and not self.quitting and self.reached():
            self.quitting = True
            log.info("every request of LOAD_UNTIL_SEEN was made; ending the run")
            # Locust's --csv writer takes a snapshot every CSV_STATS_INTERVAL_SEC and none at
            # exit: quit after its next timer, which gevent fires before this later one. (Never
            # from inside the request event: quitting kills the greenlet that fired it.)
            csv = getattr(self.environment.parsed_options, "csv_prefix", None)
            gevent.spawn_later(1.5 * CSV_STATS_INTERVAL_SEC if csv else 0, self.environment.runner.quit)


_until = _UntilSeen()


@events.init.add_listener
def _until_init(environment, **_kw) -> None:
    _until.environment = environment


@events.spawning_complete.add_listener
def _until_spawned(**_kw) -> None:
    if _until.environment is not None and not isinstance(_until.environment.runner, WorkerRunner):
        _until.spawned = True
        _until.consider()


@events.request.add_listener
@events.worker_report.add_listener
def _until_counted(**_kw) -> None:
    # Later: Locust's own listener, which counts this request or report, runs after this one.
    if _until.wanted and _until.spawned and not _until.quitting:
        gevent.spawn(_until.consider)


def is_master(environment) -> bool:
    return isinstance(environment.runner, MasterRunner)
