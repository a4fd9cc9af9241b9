"""Seed 002: two Telethon clients (here: two processes) on one .session file -> database is locked.

How it happens, all in Telethon's own session code: SQLiteSession keeps one sqlite3 connection
with Python's implicit transactions. After any call whose answer carries users/chats with an
access_hash (get_me does, at connect), `process_entities` INSERTs into the entities table and
the transaction stays open, holding SQLite's write lock, until the next save() (the 60 s
keepalive, or disconnect). A second process opening the same file reads fine, then writes at
`self.session.auth_key = ...` in connect(), waits SQLite's busy timeout (Python's default 5 s,
which Telethon does not change) and fails with sqlite3.OperationalError: database is locked.

Determinism without sleeps: the second process is started only after the first client's
get_me has returned (the write lock is provably held then) and it runs to its failure while the
first keeps the lock. The 5 s in the middle is SQLite's timeout itself; running the second client
in its own process keeps it off the test's event loop (Telethon's sqlite calls block) and is how
the bug appears in production (a local run beside a deployed worker).
"""

from __future__ import annotations

import asyncio
import sys
import textwrap

import pytest

pytestmark = [pytest.mark.asyncio, pytest.mark.slow]

SECOND_PROCESS = textwrap.dedent("""
    import asyncio, os, sqlite3, sys, traceback
    from telethon import TelegramClient

    async def main():
        print("READY", flush=True)
        sys.stdin.readline()  # the first client holds the lock now
        client = TelegramClient(sys.argv[1], int(sys.argv[2]), sys.argv[3])
        try:
            await client.connect()
        except sqlite3.OperationalError:
            traceback.print_exc(file=sys.stdout)
            sys.stdout.flush()
            # end like the crashed worker: a clean disconnect would commit the session and
            # wait out a second busy timeout on the same lock
            os._exit(3)
        print("CONNECTED", (await client.get_me()).id)
        await client.disconnect()

    asyncio.run(main())
""")


async def test_two_processes_on_one_session_file_get_database_is_locked(mtproto, mtproto_session_file):
    path = mtproto_session_file
    # the second process starts first (Python + Telethon imports overlap the first connect)
    # and waits on stdin until the first client provably holds the write lock
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SECOND_PROCESS, path, str(mtproto.api_id), mtproto.api_hash,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    first = mtproto.client(path)
    await first.connect()  # get_me inside connect: entities written, transaction left open
    try:
        assert (await first.get_entity("crypto_signals")).access_hash  # more entities, same lock
        assert await asyncio.wait_for(proc.stdout.readline(), 60) == b"READY\n"
        out, _ = await asyncio.wait_for(proc.communicate(b"go\n"), 60)
        output = out.decode()
        assert proc.returncode == 3, output
        # the first client, meanwhile, still works: its loop was never blocked
        assert (await first.get_me()).id
    finally:
        await first.disconnect()
    assert "sqlite3.OperationalError: database is locked" in output, output
    assert "telethon/sessions/sqlite.py" in output and "_update_session_table" in output
    assert "auth_key" in output  # raised from `self.session.auth_key = ...` in connect()
