"""The bot spec, the verdict statuses and the HTML report, without running any bot."""

import pytest

from botfakes.scenarios.report import write_html
from botfakes.scenarios.summary import Cell, cell_status, format_terminal
from botfakes.scenarios.spec import BUNDLED, BotSpec


def record(bot="bot", scenario="two_instances_polling", outcome="passed", expected=None, bug=None, **kw):
    return {"bot": bot, "scenario": scenario, "outcome": outcome, "expected_bug": expected,
            "bug": bug, "error": kw.pop("error", None), **kw}


def test_spec_from_toml(tmp_path):
    path = tmp_path / "mybot.toml"
    path.write_text('[bot]\ncommand = "python -m mybot --fast"\nparts = ["polling", "deriv"]\n'
                    'probe = "/hello"\n[bot.env]\nLOG_LEVEL = "debug"\n')
    spec = BotSpec.from_toml(path)
    assert spec.name == "mybot" and spec.command == ("python", "-m", "mybot", "--fast")
    assert spec.has("deriv") and not spec.has("webhook")
    assert dict(spec.env) == {"LOG_LEVEL": "debug"} and spec.probe == "/hello"


def test_spec_rejects_unknown_parts_and_empty_commands(tmp_path):
    with pytest.raises(ValueError, match="unknown part"):
        BotSpec.from_command("python bot.py", "polling,telepathy")
    with pytest.raises(ValueError, match="needs a command"):
        BotSpec.from_command("", "polling")
    path = tmp_path / "bad.toml"
    path.write_text("[other]\n")
    with pytest.raises(ValueError, match=r"\[bot\] table"):
        BotSpec.from_toml(path)


def test_every_naive_variant_expects_at_least_one_bug():
    assert BUNDLED["reference"].expected == ()
    for name, spec in BUNDLED.items():
        if name != "reference":  # caught by the default run, or (issue 14) only by --explore
            assert spec.expected or spec.explore_expected, name


@pytest.mark.parametrize("rec, status", [
    (record(), "passed"),
    (record(outcome="failed", expected="two-pollers", bug="two-pollers"), "caught"),
    (record(outcome="failed", expected="two-pollers", bug="lost-updates"), "bug"),
    (record(outcome="failed", bug="two-pollers"), "bug"),
    (record(expected="two-pollers"), "missed"),
    (record(outcome="skipped", reason="no webhook part"), "skipped"),
    (record(outcome="error", error="Traceback"), "error"),
    (record(outcome="failed", bug="retry-after-ignored", ignored=True), "ignored"),
])
def test_cell_status(rec, status):
    assert Cell(rec).status == status


def test_disagreeing_runs_are_flaky():
    runs = [Cell(record()), Cell(record(outcome="failed", bug="two-pollers"))]
    assert cell_status(runs) == "flaky"
    assert cell_status([Cell(record()), Cell(record())]) == "passed"


def test_report_shows_matrix_and_timeline(tmp_path):
    failed = record(bot="naive", outcome="failed", expected="two-pollers", bug="two-pollers",
                    error="409 Conflict: terminated by other getUpdates request",
                    bug_title="two instances poll one bot token", seeds=["001"],
                    events=[{"time": 1.0, "instance": "A", "fake": "botapi", "conn": "botapi#1",
                             "kind": "response", "method": "getUpdates",
                             "outcome": {"ok": False, "code": 409, "text": "Conflict: <x>"}}],
                    output={"A": "log line"})
    records = [record(bot="reference"), failed]
    text = format_terminal(records)
    assert "BUG  two_instances_polling" in text and "ok   two_instances_polling" in text
    path = tmp_path / "report.html"
    write_html(records, path)
    html = path.read_text()
    assert 'class="caught"' in html and "botapi#1" in html
    assert "Conflict: &lt;x&gt;" in html  # escaped
