"""`botfakes run` as a user runs it: the default matrix, and a user's bot given by --bot-cmd.

The full matrix is the scenario suites' self-test: the reference bot passes every scenario and
every naive variant is caught with its own bug. Its verdicts are forced by gates, so one run is
expected to give the same matrix as any other (the repetition proof is `botfakes run --count 20`,
see the issue notes); here one run must be exactly as expected.
"""

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from botfakes.scenarios.spec import BUNDLED

pytestmark = pytest.mark.slow


def botfakes_run(tmp_path, *args, timeout=600, cwd=None):
    return subprocess.run([sys.executable, "-m", "botfakes", "run", "--report-dir",
                           str(tmp_path / "report"), *args],
                          capture_output=True, text=True, timeout=timeout, cwd=cwd)


def records(tmp_path):
    return [json.loads(p.read_text()) for p in (tmp_path / "report" / "records").glob("*.json")]


def test_default_matrix_is_as_expected(tmp_path):
    result = botfakes_run(tmp_path)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "as expected" in result.stdout
    found = records(tmp_path)
    assert {r["bot"] for r in found} == set(BUNDLED)
    for r in found:
        if r["bot"] == "reference":
            assert r["outcome"] == "passed", r
        expected = dict(BUNDLED[r["bot"]].expected).get(r["scenario"])
        assert (r.get("bug") or None) == expected, r
        if expected:
            assert r["error"] and r["timeline"] and r["finding_class"] in ("bug", "risk"), r
        # Attribution: every event on a connection names its instance, or says why not.
        for e in r.get("events") or []:
            assert e["instance"] != "?" or e.get("instance_reason"), (r["bot"], r["scenario"], e)
    html = (tmp_path / "report" / "report.html").read_text()
    # Each failure with its journal (report.py, tests/browser check how it renders).
    assert "Swimlanes" in html and "409 Conflict: terminated by other getUpdates request" in html
    suites = ET.parse(tmp_path / "report" / "junit.xml").getroot()
    assert int(suites.find("testsuite").get("tests")) == len(found)
    # Live progress: one line per finished scenario with a running count.
    assert f"[  1/{len(found)}]" in result.stdout and f"[{len(found):>3}/{len(found)}]" in result.stdout


def test_a_users_bot_with_a_bug_exits_1(tmp_path):
    cmd = f"env BOT_VARIANT=naive_no_instance_guard {sys.executable} -m botfakes.reference_bot"
    result = botfakes_run(tmp_path, "--bot-cmd", cmd, "--bot-parts", "polling",
                          "--bot-name", "mybot", "-k", "two_instances or webhook")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "two-pollers (bug): 409 Conflict: terminated by other getUpdates request" in result.stdout
    assert "skipped: mybot has no webhook part" in result.stdout
    assert "mybot: 1 bug(s), 0 risk(s), 0 scenario error(s), 3 skipped" in result.stdout


def test_a_correct_users_bot_exits_zero(tmp_path):
    result = botfakes_run(tmp_path, "--bot-cmd", f"{sys.executable} -m botfakes.reference_bot",
                          "--bot-parts", "polling,deriv", "-k", "two_instances or deriv_replies")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "bot: 0 bug(s), 0 risk(s), 0 scenario error(s)" in result.stdout


def test_a_bot_that_dies_at_start_is_reported_at_once_with_its_exit_and_output(tmp_path):
    bot = tmp_path / "bot.py"
    bot.write_text("import sys\nprint('starting', flush=True)\n"
                   "sys.exit('TypeError: webhookCallback and bot.start() refuse each other')\n")
    result = botfakes_run(tmp_path, "--bot-cmd", f"{sys.executable} bot.py", "--bot-parts",
                          "polling,webhook", "-k", "two_instances or webhook_mode", "-q", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "scenario error: instance A exited with code 1 after" in result.stdout
    assert "| TypeError: webhookCallback and bot.start() refuse each other" in result.stdout
    assert "[  1/" not in result.stdout  # -q: pytest's own progress instead of the lines
    assert "bot: 0 bug(s), 0 risk(s), 2 scenario error(s)" in result.stdout
    for r in records(tmp_path):
        exit_ = r["bot_exit"]
        assert r["outcome"] == "error" and exit_["instance"] == "A" and exit_["code"] == 1
        assert exit_["tail"][-1] == "TypeError: webhookCallback and bot.start() refuse each other"
        # Ended once the exit was journaled, not after a wait timed out (the shortest is 30 s).
        assert exit_["reported_s"] < 30, r


def test_bad_usage_is_printed_at_once_and_exits_2(tmp_path):
    result = botfakes_run(tmp_path, "--bot-cmd", "python bot.py", "--bot-parts", "pollin", timeout=60)
    assert result.returncode == 2
    assert "unknown part(s) ['pollin']" in result.stderr and not (tmp_path / "report").exists()
    spec = tmp_path / "bot.toml"
    spec.write_text('[bot]\ncommand = "python bot.py"\n[bot.env]\nTOKEN = "{telegram.tokn}"\n')
    result = botfakes_run(tmp_path, "--bot-spec", str(spec), timeout=60)
    assert result.returncode == 2 and "unknown placeholder {telegram.tokn}" in result.stderr
    result = botfakes_run(tmp_path, "--ignore", "two-poller", timeout=60)
    assert result.returncode == 2 and "--ignore two-poller: not a finding id" in result.stderr
