"""Which bot instance opened which connection to a fake, or why that cannot be said.

A fake journals a `connect` with the client's address (`peer`); the client's port names a socket
of some process on this machine. A connection may live for milliseconds (a Deriv socket the
scenario closes at once, a short-lived process), so the socket is looked up at journal time, on
the fakes' loop, the cheap way: the kernel's socket table (/proc/net/tcp) gives the inode of the
socket with that port, and the open files of the instances' already-known processes say whose it
is (about a millisecond). What that misses (a worker spawned since the last scan) is queued for
one worker thread, which rescans the instances' process trees and then every process's sockets.
A connection still unresolved is tried again whenever the bots' sockets are scanned later, and
once more right before the harness kills or stops an instance. What stays unresolved gets a
reason instead of a name.
"""

from __future__ import annotations

import concurrent.futures
import os
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterable

import psutil

from botfakes.testing.process import BotProcess


@dataclass(frozen=True)
class Owner:
    label: str  # "A", "B", ... or "?"
    reason: str = ""  # why "?" (empty when resolved)


UNKNOWN_GONE = "its socket was closed before it could be looked up"
UNKNOWN_PENDING = "not looked up yet"


class ConnectionOwners:
    def __init__(self, instances: Callable[[], Iterable[BotProcess]]) -> None:
        self._instances = instances
        self._owners: dict[str, Owner] = {}
        self._unresolved: dict[str, int] = {}  # conn -> client port
        self._queued_at: dict[str, float] = {}
        self._lock = threading.Lock()
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="conn-owner")
        self._closed = False

    # -- called on the fakes' loop: cheap -----------------------------------------------------

    def connected(self, conn: str, peer: object) -> None:
        try:
            port = int(str(peer).rsplit(":", 1)[1])
        except (ValueError, IndexError):
            with self._lock:
                self._owners[conn] = Owner("?", f"the fake gave no client port ({peer!r})")
            return
        label = self._resolve_now(port)
        with self._lock:
            if self._closed:
                return
            if label:
                self._owners[conn] = Owner(label)
                return
            self._unresolved[conn] = port
            self._queued_at[conn] = time.monotonic()
            self._owners.setdefault(conn, Owner("?", UNKNOWN_PENDING))
        self._pool.submit(self._resolve_pending)

    def _resolve_now(self, port: int) -> str | None:
        """The instance whose known processes hold the socket with local port `port`, from /proc
        (Linux), without scanning for new processes; None if not found that way."""
        inodes = _socket_inodes(port)
        if not inodes:
            return None
        for bot in list(self._instances()):
            for pid in bot.known_pids():
                if inodes & _open_socket_inodes(pid):
                    return bot.label
        return None

    # -- worker thread ------------------------------------------------------------------------

    def _bot_ports(self) -> dict[int, tuple[str, int]]:
        """Local port -> (instance label, pid) for every socket of every instance's processes."""
        ports: dict[int, tuple[str, int]] = {}
        for bot in list(self._instances()):
            for pid in bot.pids():
                try:
                    conns = psutil.Process(pid).net_connections(kind="inet")
                except psutil.Error:
                    continue
                for c in conns:
                    if c.laddr:
                        ports[c.laddr.port] = (bot.label, pid)
        return ports

    def _label_of_pid(self, pid: int) -> str | None:
        for bot in list(self._instances()):
            if pid in bot.pids():
                return bot.label
        try:
            ancestors = {p.pid for p in psutil.Process(pid).parents()}
        except psutil.Error:
            return None
        for bot in list(self._instances()):
            if ancestors & bot.pids():
                return bot.label
        return None

    def _resolve_pending(self) -> None:
        with self._lock:
            pending = dict(self._unresolved)
        if not pending:
            return
        ports = self._bot_ports()
        left = {}
        for conn, port in pending.items():
            if port in ports:
                self._set(conn, Owner(ports[port][0]))
            else:
                left[conn] = port
        if left:
            self._resolve_system_wide(left)

    def _resolve_system_wide(self, pending: dict[str, int]) -> None:
        try:
            sockets = {c.laddr.port: c.pid for c in psutil.net_connections(kind="inet")
                       if c.laddr and c.raddr and c.laddr.ip == "127.0.0.1"}
        except psutil.Error:
            sockets = {}
        for conn, port in pending.items():
            pid = sockets.get(port)
            if pid is None:
                late = time.monotonic() - self._queued_at.get(conn, time.monotonic())
                self._set(conn, Owner("?", f"{UNKNOWN_GONE} ({late:.2f} s after it opened)"), final=False)
                continue
            label = self._label_of_pid(pid)
            if label:
                self._set(conn, Owner(label))
            else:
                try:
                    name = " ".join(psutil.Process(pid).cmdline()[:3])
                except psutil.Error:
                    name = "?"
                self._set(conn, Owner("?", f"opened by pid {pid} ({name}), not a bot instance"))

    def _set(self, conn: str, owner: Owner, final: bool = True) -> None:
        with self._lock:
            self._owners[conn] = owner
            if final:
                self._unresolved.pop(conn, None)

    # -- harness side -------------------------------------------------------------------------

    def snapshot(self, timeout: float = 5.0) -> None:
        """Resolve what is pending now, while every instance still runs (before a kill/stop)."""
        if not self._closed:
            self._pool.submit(self._resolve_pending).result(timeout)

    def owner(self, conn: str) -> Owner:
        with self._lock:
            return self._owners.get(conn, Owner("?", "no connect event seen in this scenario"))

    def settle(self, timeout: float = 5.0) -> None:
        """Wait until every queued lookup has run (before a timeline is written)."""
        if not self._closed:
            self._pool.submit(lambda: None).result(timeout)

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=True)


def _socket_inodes(port: int) -> set[str]:
    """Inodes of the connected TCP sockets whose local port is `port` (the kernel's table)."""
    inodes = set()
    hex_port = f":{port:04X}"
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f, None)
                for line in f:
                    fields = line.split()
                    # local_address rem_address st ... inode; st 0A is LISTEN
                    if len(fields) > 9 and fields[1].endswith(hex_port) and fields[3] != "0A":
                        inodes.add(fields[9])
        except OSError:
            continue
    return inodes


def _open_socket_inodes(pid: int) -> set[str]:
    """Inodes of the sockets process `pid` has open ("socket:[123]" links in /proc/pid/fd)."""
    found = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return found
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            found.add(target[8:-1])
    return found
