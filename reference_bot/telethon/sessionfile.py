"""Telling a session file from a session string, and keeping a session file to one process.

No Telethon import here, so the bot can check this before paying for importing Telethon.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class SessionInUse(RuntimeError):
    pass


def is_session_path(value: str) -> bool:
    """TELETHON_SESSION names a file when it ends with `.session`, has a `/` or exists; a
    StringSession string (version "1" + urlsafe base64, a few hundred characters) never does."""
    if not value.strip():
        return False  # no session at all (Path("") would be the current folder, which exists)
    if value.endswith(".session") or os.path.sep in value:
        return True
    try:
        return Path(value).exists() or Path(value + ".session").exists()
    except OSError:  # longer than a file name may be: a string session
        return False


def session_file(value: str) -> Path:
    return Path(value if value.endswith(".session") else value + ".session")


def lock_session_file(path: Path) -> int:
    """An exclusive flock on `<file>.lock` (kept open by the caller), or SessionInUse."""
    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise SessionInUse(
            f"{path} is in use by another process (it holds {lock_path}). One session file "
            "serves one client: a second one gets 'database is locked' from SQLite and "
            "AUTH_KEY_DUPLICATED from Telegram. Stop the other process or give this one "
            "its own session."
        ) from None
    return fd
