"""Seed 002 in Pyrogram: two clients (here: two processes) on one .session file -> `database is locked`.

All in Kurigram's own storage: SQLiteStorage opens the file with a 1 s busy timeout and Python's
implicit transactions, and `update_peers` INSERTs the users/chats of every answer without
committing (commits happen in save(), at stop). So a client that has resolved a channel holds
SQLite's write lock, and a second process starting on the same file fails in
`storage.open()` -> `update()` with sqlite3.OperationalError: database is locked.

Determinism without sleeps: the second process is started first (imports take a while) and waits
on stdin until the first client provably holds the lock (its get_chat has returned); the 1 s in
between is SQLite's own timeout.
"""

from __future__ import annotations

import asyncio
import sys
import textwrap
from pathlib import Path

import pytest

from .pyrogram_support import BOUND, needs_kurigram

pytestmark = [pytest.mark.asyncio, pytest.mark.slow, needs_kurigram]

SECOND_PROCESS = textwrap.dedent("""
    import asyncio, os, pathlib, sqlite3, sys, traceback
    from pyrogram import Client

    async def main():
        print("READY", flush=True)
        sys.stdin.readline()  # the first client holds the lock now
        path = pathlib.Path(sys.argv[1])
        client = Client(path.stem, workdir=str(path.parent), api_id=int(sys.argv[2]), api_hash=sys.argv[3])
        try:
            await client.start()
        except sqlite3.OperationalError:
            traceback.print_exc(file=sys.stdout)
            sys.stdout.flush()
            os._exit(3)  # end like the crashed worker
        print("STARTED", (await client.get_me()).id, flush=True)
        await client.stop()

    asyncio.run(main())
""")


async def test_two_processes_on_one_session_file_get_database_is_locked(mtproto, tmp_path):
    from pyrogram import Client

    minted = await mtproto.aio.mint_session(format="pyrogram-file", path=str(tmp_path / "worker.session"))
    path = Path(minted["path"])
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SECOND_PROCESS, str(path), str(mtproto.api_id), mtproto.api_hash,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    first = Client(path.stem, workdir=str(path.parent), api_id=mtproto.api_id,
                   api_hash=mtproto.api_hash, no_updates=True)
    await first.start()
    try:
        assert (await first.get_chat("crypto_signals")).title == "Crypto Signals"  # peers written
        assert await asyncio.wait_for(proc.stdout.readline(), BOUND) == b"READY\n"
        out, _ = await asyncio.wait_for(proc.communicate(b"go\n"), BOUND)
        output = out.decode()
        assert proc.returncode == 3, output
        assert (await first.get_me()).id == minted["user"]["id"]  # the first keeps working
    finally:
        await first.stop()
    assert "sqlite3.OperationalError: database is locked" in output, output
    assert "pyrogram/storage/sqlite_storage.py" in output and "in open" in output, output
