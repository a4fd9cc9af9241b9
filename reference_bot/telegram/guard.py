"""Single-instance guard on DATA_DIR (the fix for seed 001's 409 Conflict).

Two processes long-polling one token make the Bot API answer the older poll with
`409 Conflict: terminated by other getUpdates request`. The seed's fix was a PID file: create it
with O_EXCL, and when it exists ask the kernel whether that PID is alive. A PID file goes stale on
kill -9 or power loss, its PID can be reused by an unrelated process (the bot then refuses to start
until someone runs `rm bot.pid`), and "check, then remove, then create" races with a second
starter doing the same.

This guard holds an exclusive `flock` on `DATA_DIR/bot.lock` for the life of the process. The lock
belongs to the open file, so the kernel drops it when the process dies however it dies: kill -9
needs no clean-up, and there is no window between "is it stale?" and "take it". The file's content
(pid, host, start time) only serves to name the holder in the refusal message; it is never trusted
for the decision. The file is never deleted: unlinking a lock file lets a starter lock the old inode
while another creates a new one, and both would run.

Limits: flock is advisory, local to one host (on NFS it may be emulated or ignored); it guards one
DATA_DIR, so two hosts or two DATA_DIRs sharing a token are not caught (webhook mode is the answer
there: the Bot API itself keeps a single receiver).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path

LOCK_FILE_NAME = "bot.lock"
EXIT_ANOTHER_INSTANCE = 3


class AnotherInstanceRunning(RuntimeError):
    """The lock is held by a live process; `holder` is what that process wrote about itself."""

    def __init__(self, lock_path: Path, holder: dict):
        self.lock_path = lock_path
        self.holder = holder
        who = (
            f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}, "
            f"started {holder.get('started', '?')}"
            if holder
            else "a process that has not written its details yet"
        )
        super().__init__(
            f"another instance of this bot is already running ({who}) and holds {lock_path}. "
            "Only one instance may receive updates for a token (a second poller gets "
            "'409 Conflict: terminated by other getUpdates request'). Stop that instance first; "
            "if it crashed, nothing needs cleaning up: the lock is released when its process ends."
        )


class InstanceGuard:
    """`acquire()` or raise AnotherInstanceRunning; the lock lasts until `release()` or death."""

    def __init__(self, data_dir: Path | str):
        self.data_dir = Path(data_dir)
        self.lock_path = self.data_dir / LOCK_FILE_NAME
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        if self._fd is not None:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # O_CLOEXEC (Python's default) keeps child processes from inheriting, and so holding, it.
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise AnotherInstanceRunning(self.lock_path, holder) from None
        except BaseException:
            os.close(fd)
            raise
        # We hold the lock: whatever the file says is from a dead holder. Overwrite it.
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        # Empty the file first so a reader never names a holder that has gone.
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing the last descriptor drops the flock

    def __enter__(self) -> "InstanceGuard":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _read_holder(fd: int) -> dict:
    try:
        raw = os.pread(fd, 4096, 0)
        return json.loads(raw) if raw.strip() else {}
    except (OSError, ValueError):
        return {}
