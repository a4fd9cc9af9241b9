"""One bot process under test: start, readiness, stop, kill -9, restart, and its output.

The bot runs in its own session (process group), so a kill reaches the workers it spawned and a
Ctrl-C on the test runner does not reach the bot before the runner can stop it in order. Its
stdout and stderr are read by a thread into memory (and a log file if given): readiness by an
output line is an event, not a file poll, and the last lines are at hand when it dies.

    bot = BotProcess("A", ["python", "-m", "mybot"], env, cwd=repo)
    bot.start()
    bot.wait_ready(ReadyLine(r"Bot started"), timeout=30)   # raises BotExited if it dies first
    ...
    bot.kill()          # SIGKILL to its process group: a crash, no clean-up runs
    bot.restart()
    bot.stop()          # SIGTERM, SIGKILL if it does not stop in time
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Union

import psutil

# How long after the process exits its output pipe is still read: a worker it spawned may hold
# the pipe open, and its last words must not delay the exit report.
_DRAIN_AFTER_EXIT = 1.0
# Between two readiness probes of a server that is still starting (connection refused).
_PROBE_INTERVAL = 0.05


@dataclass(frozen=True)
class ReadyLine:
    """Ready once a line of the bot's stdout/stderr matches this regex (re.search)."""

    pattern: str


@dataclass(frozen=True)
class ReadyHttp:
    """Ready once GET http://host:port{path} answers 2xx (port: the bot's $PORT by default)."""

    path: str = "/health"
    port: int | None = None
    host: str = "127.0.0.1"


Readiness = Union[ReadyLine, ReadyHttp, Callable[[], Any]]


class BotExited(RuntimeError):
    """The bot exited while something waited on it (readiness, or a scenario)."""

    def __init__(self, bot: "BotProcess", lines: int = 15) -> None:
        self.bot = bot
        self.tail = bot.tail(lines)
        text = bot.describe_exit()
        if self.tail:
            text += "; its last output:\n" + "\n".join(f"  | {line}" for line in self.tail)
        super().__init__(text)


class BotNotReady(TimeoutError):
    """The bot kept running but never became ready within the timeout."""


class BotProcess:
    def __init__(self, label: str, command: Iterable[str], env: Mapping[str, str], *, cwd: str | Path,
                 log_path: str | Path | None = None,
                 on_exit: Callable[["BotProcess", int], None] | None = None) -> None:
        self.label = label
        self.command = list(command)
        self.env = dict(env)
        self.cwd = Path(cwd)
        self.log_path = Path(log_path) if log_path else None
        self.on_exit = on_exit
        self.proc: subprocess.Popen | None = None
        self.returncode: int | None = None
        # Set by stop() and kill(): the exit that follows is the runner's doing, not the bot's.
        self.exit_requested = False
        self._lines: list[str] = []
        self._cond = threading.Condition()
        self._started_at = 0.0
        self._exited_at: float | None = None
        self._exited = threading.Event()
        self._threads: list[threading.Thread] = []
        self._log = None
        self._known_pids: set[int] = set()

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> "BotProcess":
        if self.alive:
            raise RuntimeError(f"instance {self.label} is already running")
        self.returncode = None
        self.exit_requested = False
        self._exited.clear()
        self._exited_at = None
        if self.log_path and self._log is None:
            self._log = open(self.log_path, "ab")
        self._started_at = time.monotonic()
        self.proc = subprocess.Popen(
            self.command, env=self.env, cwd=self.cwd, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
        self._known_pids = {self.proc.pid}
        proc = self.proc
        pump = threading.Thread(target=self._pump, args=(proc,), name=f"bot-{self.label}-output",
                                daemon=True)
        waiter = threading.Thread(target=self._wait, args=(proc, pump), name=f"bot-{self.label}-exit",
                                  daemon=True)
        self._threads = [pump, waiter]
        pump.start()
        waiter.start()
        return self

    def _pump(self, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        for raw in iter(proc.stdout.readline, b""):
            if self._log is not None:
                try:
                    self._log.write(raw)
                    self._log.flush()
                except ValueError:  # closed meanwhile
                    pass
            with self._cond:
                self._lines.append(raw.decode(errors="replace").rstrip("\r\n"))
                self._cond.notify_all()
        proc.stdout.close()

    def _wait(self, proc: subprocess.Popen, pump: threading.Thread) -> None:
        code = proc.wait()
        exited_at = time.monotonic()
        pump.join(_DRAIN_AFTER_EXIT)
        with self._cond:
            if proc is self.proc:
                self.returncode = code
                self._exited_at = exited_at
                self._exited.set()
            self._cond.notify_all()
        if self.on_exit is not None and proc is self.proc:
            self.on_exit(self, code)

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM to the process group, as a deploy or Ctrl-C would; SIGKILL after `timeout`."""
        if self.proc is None:
            return None
        if self.alive:
            self.exit_requested = True
            self._signal(signal.SIGTERM)
            if not self._exited.wait(timeout):
                self._signal(signal.SIGKILL)
        self._exited.wait(15.0)
        return self.returncode

    def kill(self) -> int | None:
        """SIGKILL to the whole process group: a crash, no clean-up runs."""
        if self.proc is None:
            return None
        if self.alive:
            self.exit_requested = True
            self._signal(signal.SIGKILL)
        self._exited.wait(15.0)
        return self.returncode

    def restart(self, timeout: float = 15.0) -> "BotProcess":
        """Stop it if it runs, then start it again with the same command and environment."""
        self.stop(timeout)
        with self._cond:
            self._lines.append(f"--- instance {self.label} restarted ---")
        return self.start()

    def close(self) -> None:
        self.kill()
        for thread in self._threads:
            thread.join(5.0)
        if self._log is not None:
            self._log.close()
            self._log = None

    def _signal(self, sig: int) -> None:
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    # -- state ---------------------------------------------------------------------------------

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise RuntimeError(f"instance {self.label} was never started")
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc is not None and not self._exited.is_set()

    @property
    def exited_at(self) -> float | None:
        """time.monotonic() when its exit was seen (None while it runs)."""
        return self._exited_at

    @property
    def runtime_s(self) -> float:
        """Seconds from start to exit (or to now, while it runs)."""
        if self.proc is None:
            return 0.0
        end = self._exited_at if self._exited_at is not None else time.monotonic()
        return end - self._started_at

    def wait(self, timeout: float | None = None) -> int | None:
        """The exit code, or None if it still runs after `timeout` seconds."""
        self._exited.wait(timeout)
        return self.returncode

    def pids(self) -> set[int]:
        """Its process and every descendant (a bot may run workers), also remembered ones."""
        if self.alive:
            try:
                parent = psutil.Process(self.pid)
                self._known_pids |= {self.pid} | {c.pid for c in parent.children(recursive=True)}
            except psutil.Error:
                pass
        return set(self._known_pids)

    def known_pids(self) -> set[int]:
        """The pids found so far (no process scan: cheap enough for an event loop)."""
        return set(self._known_pids)

    def describe_exit(self) -> str:
        """"instance A exited with code 1 after 0.4 s" (or "is running", or the signal)."""
        if self.proc is None:
            return f"instance {self.label} was never started"
        if self.alive:
            return f"instance {self.label} is running (pid {self.pid}, for {self.runtime_s:.1f} s)"
        code = self.returncode
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"instance {self.label} was killed by {name} after {self.runtime_s:.1f} s"
        return f"instance {self.label} exited with code {code} after {self.runtime_s:.1f} s"

    # -- output --------------------------------------------------------------------------------

    def output(self) -> str:
        with self._cond:
            return "\n".join(self._lines) + ("\n" if self._lines else "")

    def tail(self, n: int = 15) -> list[str]:
        with self._cond:
            return [line for line in self._lines if line.strip()][-n:]

    # -- readiness -----------------------------------------------------------------------------

    def wait_ready(self, readiness: Readiness, timeout: float = 30.0) -> Any:
        """Until ready: the re.Match for ReadyLine, the HTTP status for ReadyHttp, or the
        callable's truthy value. Raises BotExited if the bot exits first, BotNotReady after
        `timeout`."""
        deadline = time.monotonic() + timeout
        if isinstance(readiness, ReadyLine):
            return self._wait_line(re.compile(readiness.pattern), deadline, timeout)
        if isinstance(readiness, ReadyHttp):
            port = readiness.port or int(self.env.get("PORT", "0") or 0)
            if not port:
                raise ValueError("ReadyHttp needs a port: none given and the bot has no PORT")
            url = f"http://{readiness.host}:{port}{readiness.path}"
            probe: Callable[[], Any] = lambda: _http_2xx(url)  # noqa: E731
            what = f"GET {url} never answered 2xx"
        elif callable(readiness):
            probe, what = readiness, "its readiness check never passed"
        else:
            raise TypeError(f"unknown readiness {readiness!r}")
        while True:
            if not self.alive:
                raise BotExited(self)
            value = probe()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise BotNotReady(f"instance {self.label} not ready within {timeout:g} s: {what}")
            # Still starting: nothing to wait on but the next probe (or the exit, which ends it).
            self._exited.wait(_PROBE_INTERVAL)

    def _wait_line(self, pattern: re.Pattern, deadline: float, timeout: float) -> re.Match:
        seen = 0
        with self._cond:
            while True:
                for line in self._lines[seen:]:
                    match = pattern.search(line)
                    if match:
                        return match
                seen = len(self._lines)
                if self._exited.is_set():
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BotNotReady(f"instance {self.label} not ready within {timeout:g} s: no "
                                      f"output line matched {pattern.pattern!r}")
                self._cond.wait(left)
        raise BotExited(self)


def _http_2xx(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5.0) as resp:
            return resp.status if 200 <= resp.status < 300 else None
    except (urllib.error.URLError, OSError, ValueError):
        return None
