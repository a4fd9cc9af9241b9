"""`python -m botfakes env`: the environment contract of running fakes, as a shell reads it."""

import json
import subprocess
import sys

from botfakes.fakes.control import ControlClient

from .test_serve import start_serve


def test_env_prints_export_lines_a_shell_can_eval(tmp_path):
    proc, ready, _ = start_serve(tmp_path)
    try:
        script = (f'eval "$({sys.executable} -m botfakes env --ready-file {ready} --set BOTFAKES_PID=42)"'
                  ' && env')
        out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60, check=True).stdout
        env = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        info = json.loads(ready.read_text())
        assert env["BOTFAKES_PID"] == "42" and env["BOTFAKES_CONTROL_URL"] == info["control_url"]
        assert env["TELEGRAM_API_BASE_URL"] == info["fakes"]["botapi"]["url"]
        assert env["TELEGRAM_BOT_TOKEN"] == info["fakes"]["botapi"]["token"]
        assert env["DERIV_WS_URL"] == info["fakes"]["deriv"]["url"] + "/websockets/v3"
        assert env["BOTFAKES_MTPROTO_PORT"] == str(info["fakes"]["mtproto"]["port"])
        control = ControlClient(info["control_url"])
        # The minted credentials are real on the fakes: the account exists, the session is known.
        assert any(a["token"] == env["DERIV_API_TOKEN"] for a in control.deriv.accounts())
        assert env["TELETHON_SESSION"].startswith("1") and env["TELEGRAM_API_ID"] == "611335"
        dotenv = subprocess.run([sys.executable, "-m", "botfakes", "env", "--ready-file", str(ready),
                                 "--format", "dotenv", "--no-mint"], capture_output=True, text=True,
                                timeout=60, check=True).stdout
        assert f"TELEGRAM_BOT_TOKEN={env['TELEGRAM_BOT_TOKEN']}\n" in dotenv
        assert "DERIV_API_TOKEN" not in dotenv
        assert not any(line.startswith("export ") for line in dotenv.splitlines())
    finally:
        proc.terminate()
        proc.wait(30)


def test_env_without_a_ready_file_exits_2(tmp_path):
    result = subprocess.run([sys.executable, "-m", "botfakes", "env", "--ready-file",
                             str(tmp_path / "none.json")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "cannot read" in result.stderr and result.stdout == ""
