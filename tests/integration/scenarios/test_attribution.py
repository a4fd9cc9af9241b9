"""Which instance opened a connection, also for one that lives a few milliseconds."""

import socket
import sys
import textwrap

from botfakes.scenarios.attribution import ConnectionOwners
from botfakes.testing import BotProcess, ReadyLine


def test_a_connection_closed_at_once_is_still_attributed(tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    port = server.getsockname()[1]
    # The "bot" connects, waits for the go-ahead byte, closes at once and exits.
    code = textwrap.dedent(f"""
        import socket, sys
        print("up", flush=True)
        s = socket.create_connection(("127.0.0.1", {port}))
        s.recv(1)
        s.close()
    """)
    bots = [BotProcess("A", [sys.executable, "-c", code], {}, cwd=tmp_path),
            BotProcess("B", [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"],
                       {}, cwd=tmp_path)]
    owners = ConnectionOwners(lambda: bots)
    try:
        for bot in bots:
            bot.start().wait_ready(ReadyLine("up"), timeout=30)
            bot.pids()  # what the harness knows once an instance runs
        conn, peer = server.accept()
        # What a fake does on connect, on its loop: journal it; the owner is looked up right then.
        owners.connected("fake#1", f"{peer[0]}:{peer[1]}")
        assert owners.owner("fake#1").label == "A"  # resolved in the call, nothing queued
        assert "fake#1" not in owners._unresolved
        conn.send(b"x")
        assert bots[0].wait(30) == 0  # the connection and the process are gone now
        owners.settle()
        assert owners.owner("fake#1").label == "A"
        owners.connected("fake#2", "nonsense")
        assert owners.owner("fake#2").label == "?" and "no client port" in owners.owner("fake#2").reason
        assert owners.owner("fake#3").reason == "no connect event seen in this scenario"
        conn.close()
    finally:
        owners.close()
        for bot in bots:
            bot.close()
        server.close()
