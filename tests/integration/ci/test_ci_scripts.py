"""The scripts the CI templates in ci/ run, run here the same way (bash, a subprocess each)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from websockets.sync.client import connect

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
CI = ROOT / "ci"
# Free ports: the defaults (8081, 8090, ...) may be taken by a test running next to this one.
ANY_PORTS = "--control-port 0 --botapi-port 0 --deriv-port 0 --mtproto-port 0"


def script_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TELEGRAM_", "DERIV_", "TELETHON_", "BOTFAKES_", "GITHUB_"))}
    env.update({"PYTHON": sys.executable, "PATH": f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
                "BOTFAKES_DIR": str(tmp_path / ".botfakes")})
    env.update(extra)
    return env


def exports(stdout: str) -> dict[str, str]:
    """The `export NAME=value` lines, read as a shell would read them."""
    found = {}
    for line in stdout.splitlines():
        assert line.startswith("export "), f"stdout must hold only export lines: {line!r}"
        name, _, value = line[len("export "):].partition("=")
        found[name] = shlex.split(value)[0]
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_start_fakes_exports_working_credentials_and_stop_fakes_stops_them(tmp_path):
    github_env = tmp_path / "github_env"
    github_env.write_text("")
    env = script_env(tmp_path, BOTFAKES_SERVE_ARGS=ANY_PORTS, GITHUB_ENV=str(github_env))
    started = subprocess.run(["bash", str(CI / "start-fakes.sh")], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=90)
    assert started.returncode == 0, started.stderr
    found = exports(started.stdout)
    pid = int(found["BOTFAKES_PID"])
    try:
        # GitHub Actions gets the same variables, unquoted.
        lines = dict(line.split("=", 1) for line in github_env.read_text().splitlines())
        assert lines == found
        # The Bot API answers getMe for the exported token.
        with urllib.request.urlopen(f"{found['TELEGRAM_API_BASE_URL']}/bot{found['TELEGRAM_BOT_TOKEN']}/getMe",
                                    timeout=10) as resp:
            me = json.load(resp)
        assert me["ok"] and me["result"]["is_bot"], me
        # The Deriv fake knows the exported account token.
        with connect(f"{found['DERIV_WS_URL']}?app_id={found['DERIV_APP_ID']}", open_timeout=10) as ws:
            ws.send(json.dumps({"authorize": found["DERIV_API_TOKEN"], "req_id": 1}))
            reply = json.loads(ws.recv(timeout=10))
        assert reply["msg_type"] == "authorize" and "error" not in reply, reply
        assert reply["authorize"]["balance"] == 10000
        # The Telethon session is one the fake minted (its auth key is in the fake's key list).
        with urllib.request.urlopen(f"{found['BOTFAKES_CONTROL_URL']}/_control/mtproto/keys", timeout=10) as resp:
            assert json.load(resp)["result"], "no minted key"
        assert found["TELETHON_SESSION"] and found["TELEGRAM_API_ID"].isdigit()
        assert json.loads(Path(found["BOTFAKES_READY_FILE"]).read_text())["control_url"] == found["BOTFAKES_CONTROL_URL"]
    finally:
        stopped = subprocess.run(["bash", str(CI / "stop-fakes.sh")], cwd=tmp_path, env=env,
                                 capture_output=True, text=True, timeout=60)
    assert stopped.returncode == 0, stopped.stderr
    assert not alive(pid)


def test_start_fakes_fails_with_the_log_when_serve_cannot_start(tmp_path):
    env = script_env(tmp_path, BOTFAKES_SERVE_ARGS="--only nosuchfake")
    started = subprocess.run(["bash", str(CI / "start-fakes.sh")], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=60)
    assert started.returncode == 1
    assert started.stdout == ""
    assert "exited before it was ready" in started.stderr and "unknown fake(s) nosuchfake" in started.stderr


def test_start_fakes_finds_the_python_of_the_botfakes_command_on_path(tmp_path):
    """No PYTHON, no active virtualenv, and a python3 on PATH without botfakes: the script runs
    the interpreter the `botfakes` command was installed with (its first line)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "botfakes").symlink_to(Path(sys.executable).with_name("botfakes"))
    env = script_env(tmp_path, BOTFAKES_SERVE_ARGS="--only botapi --control-port 0 --botapi-port 0",
                     PATH=f"{bin_dir}:/usr/bin:/bin")
    del env["PYTHON"]
    env.pop("VIRTUAL_ENV", None)
    started = subprocess.run(["bash", str(CI / "start-fakes.sh")], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=90)
    try:
        assert started.returncode == 0, started.stderr
        found = exports(started.stdout)
        assert set(found) >= {"BOTFAKES_PID", "TELEGRAM_BOT_TOKEN", "TELEGRAM_API_BASE_URL"}
    finally:
        subprocess.run(["bash", str(CI / "stop-fakes.sh")], cwd=tmp_path, env=env, capture_output=True, timeout=60)


def test_start_fakes_says_how_to_name_the_python_when_it_finds_none(tmp_path):
    env = script_env(tmp_path, PATH="/usr/bin:/bin")
    del env["PYTHON"]
    env.pop("VIRTUAL_ENV", None)
    started = subprocess.run(["bash", str(CI / "start-fakes.sh")], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=60)
    if started.returncode == 0:  # this machine's own python3 has botfakes: nothing to show
        subprocess.run(["bash", str(CI / "stop-fakes.sh")], cwd=tmp_path, env=env, capture_output=True, timeout=60)
        pytest.skip("python3 on /usr/bin has botfakes installed")
    assert started.returncode == 1 and started.stdout == ""
    assert "start-fakes.sh: botfakes is not installed for python3; set PYTHON" in started.stderr


def test_run_scenarios_against_the_reference_bot(tmp_path):
    """What the workflows' scenarios job runs, against the bundled reference bot with all parts."""
    env = script_env(tmp_path, BOT_CMD=f"{sys.executable} -m botfakes.reference_bot",
                     BOT_PARTS="polling,webhook,telethon,deriv", BOT_NAME="reference")
    proc = subprocess.run(["bash", str(CI / "run-scenarios.sh")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    report = tmp_path / "botfakes-report"
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert (report / "report.html").stat().st_size > 0
    junit = (report / "junit.xml").read_text()
    assert "<testsuite" in junit and 'failures="0"' in junit
    assert "0 bug(s), 0 risk(s), 0 scenario error(s)" in (report / "summary.txt").read_text()


def test_the_templates_run_these_scripts_and_keep_the_reports():
    github = (CI / "github" / "botfakes.yml").read_text()
    gitlab = (CI / "gitlab" / "botfakes.gitlab-ci.yml").read_text()
    for template in (github, gitlab):
        for script in ("ci/run-scenarios.sh", "ci/start-fakes.sh", "ci/stop-fakes.sh"):
            assert script in template
            assert (ROOT / script).exists()
        assert "botfakes-report/report.html" in template and "botfakes-report/junit.xml" in template
