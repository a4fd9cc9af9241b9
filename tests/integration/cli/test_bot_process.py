"""botfakes.testing.process.BotProcess with real processes: readiness, exit causes, kill -9 of a
process group, restart, output; botfakes.testing.ports.free_port."""

import socket
import sys
import textwrap

import psutil
import pytest

from botfakes.testing import BotExited, BotNotReady, BotProcess, ReadyHttp, ReadyLine, free_port


def script(tmp_path, name, body):
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return [sys.executable, "-u", str(path)]


def test_exit_before_ready_raises_with_code_runtime_and_last_lines(tmp_path):
    cmd = script(tmp_path, "dies.py", """
        import sys
        print("loading config")
        print("Error: no BOT_TOKEN", file=sys.stderr)
        sys.exit(3)
    """)
    exits = []
    bot = BotProcess("A", cmd, {}, cwd=tmp_path, log_path=tmp_path / "a.log",
                     on_exit=lambda b, code: exits.append((b.label, code)))
    bot.start()
    with pytest.raises(BotExited) as info:
        bot.wait_ready(ReadyLine("never printed"), timeout=30)
    assert str(info.value).startswith("instance A exited with code 3 after ")
    assert info.value.tail == ["loading config", "Error: no BOT_TOKEN"]
    assert "  | Error: no BOT_TOKEN" in str(info.value)
    assert bot.returncode == 3 and not bot.alive and bot.runtime_s < 30
    assert exits == [("A", 3)] and not bot.exit_requested
    assert "Error: no BOT_TOKEN" in (tmp_path / "a.log").read_text()
    bot.close()


def test_ready_by_line_then_kill_reaches_the_whole_process_group(tmp_path):
    cmd = script(tmp_path, "workers.py", """
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
        print(f"ready with worker {child.pid}", flush=True)
        time.sleep(300)
    """)
    bot = BotProcess("B", cmd, {}, cwd=tmp_path).start()
    match = bot.wait_ready(ReadyLine(r"ready with worker (\d+)"), timeout=30)
    worker = int(match.group(1))
    assert worker in bot.pids() and bot.alive
    bot.kill()
    assert bot.exit_requested and bot.describe_exit().startswith("instance B was killed by SIGKILL after")
    with pytest.raises(psutil.NoSuchProcess):
        psutil.Process(worker).wait(10)  # the kill reached the worker too
        psutil.Process(worker)
    bot.close()


def test_ready_by_http_stop_and_restart(tmp_path):
    port = free_port()
    cmd = script(tmp_path, "server.py", """
        import http.server, os
        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200 if self.path == "/health" else 404); self.end_headers()
            def log_message(self, *a): print("request", self.path, flush=True)
        http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
    """)
    bot = BotProcess("C", cmd, {"PORT": str(port)}, cwd=tmp_path).start()
    assert bot.wait_ready(ReadyHttp("/health"), timeout=30) == 200
    first = bot.pid
    assert bot.stop(timeout=10) == -15  # SIGTERM
    bot.restart()
    assert bot.pid != first and bot.wait_ready(ReadyHttp("/health"), timeout=30) == 200
    assert "--- instance C restarted ---" in bot.output()
    bot.close()
    assert not bot.alive


def test_callable_readiness_and_not_ready_in_time(tmp_path):
    cmd = script(tmp_path, "idle.py", "import time; time.sleep(300)\n")
    bot = BotProcess("D", cmd, {}, cwd=tmp_path).start()
    calls = []
    assert bot.wait_ready(lambda: calls.append(1) or len(calls) >= 3, timeout=30) is True
    with pytest.raises(BotNotReady, match="instance D not ready within 0.2 s"):
        bot.wait_ready(ReadyLine("x"), timeout=0.2)
    bot.close()


def test_free_port_is_bindable_and_bounded():
    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
    assert free_port(max_port=32767) <= 32767
