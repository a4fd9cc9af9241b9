"""`botfakes serve` as a user runs it: a subprocess, a ready file, SIGTERM."""

import json
import signal
import subprocess
import sys

from botfakes.fakes import registry
from botfakes.fakes.control import ControlClient


def start_serve(tmp_path, *extra):
    ready = tmp_path / "ready.json"
    ports = [arg for name in registry.names() for arg in (f"--{name}-port", "0")]
    proc = subprocess.Popen(
        [sys.executable, "-m", "botfakes", "serve", "--control-port", "0", *ports,
         "--ready-file", str(ready), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    lines = []
    for line in proc.stdout:  # blocking reads: the last line says everything listens
        lines.append(line)
        if line.startswith("control "):
            break
    else:
        raise AssertionError(f"serve exited early: {proc.wait()} {proc.stderr.read()}")
    return proc, ready, lines


def test_serve_prints_urls_writes_ready_file_and_stops_on_sigterm(tmp_path):
    proc, ready, lines = start_serve(tmp_path)
    try:
        info = json.loads(ready.read_text())
        assert lines[-1].strip() == f"control  {info['control_url']}/_control/"
        assert info["control_url"].startswith("http://127.0.0.1:")
        assert set(info["fakes"]) == set(registry.names())
        for name, entry in info["fakes"].items():
            assert any(line.startswith(name) and entry["url"] in line for line in lines)
        control = ControlClient(info["control_url"])
        assert control.stats()["journal"]["events"] == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "stopped" in err


def test_serve_rejects_unknown_fake(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "botfakes", "serve", "--only", "nosuch", "--control-port", "0"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "unknown fake(s) nosuch" in result.stderr
