"""Which local process opened a connection: the dashboard's "instance" of a lane.

A fake journals each connection's peer address; a client on this machine owns the socket whose
local port is that peer port. Looking it up costs CPU in the fakes' process (a scan of every
process's sockets is ~30 ms here), so it runs on a worker thread, at most once per SCAN_INTERVAL,
only while a dashboard is connected, and asks the processes that owned earlier connections first
(a bot opens many connections; one process's sockets are cheap to list). A connection that closed
before the lookup stays unattributed.
"""

from __future__ import annotations

import asyncio
import os
import queue
import shlex
import threading
import time
from typing import Any, Callable

import psutil

SCAN_INTERVAL = 1.0
MAX_KNOWN = 5000


def describe_process(pid: int) -> str:
    try:
        proc = psutil.Process(pid)
        words = proc.cmdline() or [proc.name()]
    except psutil.Error:
        return f"pid {pid}"
    # "python -m mybot" / "python bot.py" tells instances apart better than the interpreter path
    words = [os.path.basename(w) if i == 0 or w.endswith(".py") else w for i, w in enumerate(words)]
    text = shlex.join(words)
    if len(text) > 60:
        text = text[:59] + "…"
    own = " (the fakes' process)" if pid == os.getpid() else ""
    return f"pid {pid} · {text}{own}"


class OwnerResolver:
    def __init__(self, on_found: Callable[[dict[str, dict[str, Any]]], None]) -> None:
        self.on_found = on_found  # called on the loop with {conn: {"pid", "label"}}
        self.known: dict[str, dict[str, Any]] = {}  # the loop's: conn -> {"pid", "label"}
        self._recent_pids: list[int] = []  # the worker thread's: who owned connections lately
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._loop = asyncio.get_running_loop()
        self._queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, args=(self._queue,),
                                        name="botfakes-dashboard-owners", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(None)
        self._thread = None

    def lookup(self, conn: str, peer: str, server_port: int | None) -> None:
        if conn in self.known:
            return
        try:
            port = int(peer.rsplit(":", 1)[1])
        except (IndexError, ValueError):
            return
        self._queue.put((conn, port, server_port, 0))

    def _run(self, work: queue.Queue) -> None:
        while True:
            item = work.get()
            if item is None:
                return
            items = [item]
            time.sleep(SCAN_INTERVAL)  # gather the connections of a burst into one scan
            while True:
                try:
                    more = work.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    return
                items.append(more)
            found = self._resolve(items)
            for conn, port, server_port, tries in items:
                if conn not in found and tries < 1:  # a socket the scan missed: look once more
                    work.put((conn, port, server_port, tries + 1))
            if found and self._loop is not None and not self._loop.is_closed():
                try:
                    self._loop.call_soon_threadsafe(self._found, found)
                except RuntimeError:  # the loop closed meanwhile
                    return

    def _resolve(self, items: list[tuple[str, int, int | None, int]]) -> dict[str, dict[str, Any]]:
        wanted = {port: conn for conn, port, _, _ in items}
        owner_of_port: dict[int, int] = {}
        # the processes that owned earlier connections first: one process's sockets are cheap
        for pid in list(self._recent_pids):
            try:
                sockets = psutil.Process(pid).net_connections(kind="tcp")
            except psutil.Error:
                continue
            for s in sockets:
                if s.laddr and s.laddr.port in wanted and s.raddr:
                    owner_of_port[s.laddr.port] = pid
        if len(owner_of_port) < len(wanted):
            try:
                sockets = psutil.net_connections(kind="tcp")
            except psutil.Error:
                sockets = []
            for s in sockets:
                if s.pid and s.laddr and s.raddr and s.laddr.port in wanted:
                    # the fake's own end of the connection has the fake's port as its local port
                    owner_of_port.setdefault(s.laddr.port, s.pid)
        labels: dict[int, str] = {}
        found = {}
        for port, conn in wanted.items():
            pid = owner_of_port.get(port)
            if pid is None:
                continue
            if pid not in labels:
                labels[pid] = describe_process(pid)
            found[conn] = {"pid": pid, "label": labels[pid]}
        for pid in labels:  # only this worker thread touches the list
            if pid in self._recent_pids:
                self._recent_pids.remove(pid)
            self._recent_pids.append(pid)
        del self._recent_pids[:-8]
        return found

    def _found(self, found: dict[str, dict[str, Any]]) -> None:
        if len(self.known) > MAX_KNOWN:
            self.known.clear()
        self.known.update(found)
        self.on_found(found)
