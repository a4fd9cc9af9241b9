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


def botfakes_run(tmp_path, *args, timeout=600):
    return subprocess.run([sys.executable, "-m", "botfakes", "run", "--report-dir",
                           str(tmp_path / "report"), *args],
                          capture_output=True, text=True, timeout=timeout)


def test_default_matrix_is_as_expected(tmp_path):
    result = botfakes_run(tmp_path)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "as expected" in result.stdout
    records = [json.loads(p.read_text()) for p in (tmp_path / "report" / "records").glob("*.json")]
    assert {r["bot"] for r in records} == set(BUNDLED)
    for r in records:
        if r["bot"] == "reference":
            assert r["outcome"] == "passed", r
        expected = dict(BUNDLED[r["bot"]].expected).get(r["scenario"])
        assert (r.get("bug") or None) == expected, r
        if expected:
            assert r["error"] and r["timeline"], r
    html = (tmp_path / "report" / "report.html").read_text()
    assert "Timeline of requests and connections" in html
    suites = ET.parse(tmp_path / "report" / "junit.xml").getroot()
    assert int(suites.find("testsuite").get("tests")) == len(records)


def test_a_users_bot_with_a_bug_exits_non_zero(tmp_path):
    cmd = f"env BOT_VARIANT=naive_no_instance_guard {sys.executable} -m botfakes.reference_bot"
    result = botfakes_run(tmp_path, "--bot-cmd", cmd, "--bot-parts", "polling",
                          "--bot-name", "mybot", "-k", "two_instances or webhook")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "two-pollers: 409 Conflict: terminated by other getUpdates request" in result.stdout
    assert "skipped: mybot has no webhook part" in result.stdout


def test_a_correct_users_bot_exits_zero(tmp_path):
    result = botfakes_run(tmp_path, "--bot-cmd", f"{sys.executable} -m botfakes.reference_bot",
                          "--bot-parts", "polling,deriv", "-k", "two_instances or deriv_replies")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 bug(s) found" in result.stdout
