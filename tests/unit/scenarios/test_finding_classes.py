"""Finding classes (bug vs risk), --ignore, the summary counts and `botfakes run`'s exit codes."""

import pytest

from botfakes.scenarios.bugs import BUGS, finding_class
from botfakes.scenarios.plugin import is_ignored
from botfakes.scenarios.summary import (EXIT_CLEAN, EXIT_ERRORS, EXIT_FINDINGS, Cell, counts,
                                        exit_code, format_terminal, uncaught_bots)

SEED_BUGS = {"two-pollers", "polling-while-webhook", "auth-key-duplicated", "database-locked",
             "concurrent-recv", "crossed-replies", "forged-webhook"}
RISKS = {"lost-updates", "retry-after-ignored", "hung-after-disconnect"}


def rec(bot="bot", scenario="two_instances_polling", outcome="passed", bug=None, expected=None, **kw):
    return {"bot": bot, "scenario": scenario, "outcome": outcome, "bug": bug, "expected_bug": expected,
            "finding_class": finding_class(bug), "error": kw.pop("error", "x" if bug else None), **kw}


def test_the_seeds_failures_are_bugs_and_resilience_gaps_are_risks():
    assert {b for b in SEED_BUGS if BUGS[b].cls == "bug"} == SEED_BUGS
    assert {b for b in RISKS if BUGS[b].cls == "risk"} == RISKS
    assert all(b.cls in ("bug", "risk") for b in BUGS.values())
    assert finding_class(None) is None and finding_class("nonexistent") is None


def test_matrix_shows_the_class():
    text = format_terminal([rec(bug="two-pollers", outcome="failed"),
                            rec(scenario="restart_after_kill", bug="lost-updates", outcome="failed")])
    assert "BUG  two_instances_polling" in text and "two-pollers (bug)" in text
    assert "RISK restart_after_kill" in text and "lost-updates (risk)" in text


def test_a_dead_bot_shows_its_exit_and_last_lines():
    died = rec(outcome="error", error="instance A exited with code 1 after 0.4 s",
               bot_exit={"instance": "A", "code": 1, "after_s": 0.4, "tail": ["Traceback", "ImportError: x"]})
    text = format_terminal([died])
    assert "ERR  two_instances_polling" in text and "instance A exited with code 1 after 0.4 s" in text
    assert "| ImportError: x" in text


@pytest.mark.parametrize("ignore, scenario, bug, expected", [
    (["retry-after-ignored"], "flood_control_retry_after", "retry-after-ignored", True),
    (["lost-updates,retry-after-ignored"], "flood_control_retry_after", "retry-after-ignored", True),
    (["flood_control_retry_after"], "flood_control_retry_after", "retry-after-ignored", True),
    (["flood_control_retry_after:retry-after-ignored"], "flood_control_retry_after", "retry-after-ignored", True),
    (["restart_after_kill:retry-after-ignored"], "flood_control_retry_after", "retry-after-ignored", False),
    (["two-pollers"], "flood_control_retry_after", "retry-after-ignored", False),
    (["two-pollers"], "flood_control_retry_after", None, False),
])
def test_ignore_matches_id_scenario_or_both(ignore, scenario, bug, expected):
    assert is_ignored(ignore, scenario, bug) is expected


def test_counts_each_kind_separately():
    records = [
        rec(scenario="s1", outcome="failed", bug="two-pollers"),
        rec(scenario="s2", outcome="failed", bug="lost-updates"),
        rec(scenario="s3", outcome="failed", bug="retry-after-ignored", ignored=True),
        rec(scenario="s4", outcome="error", error="instance A exited with code 1 after 0.4 s"),
        rec(scenario="s5", outcome="skipped", reason="no deriv part"),
        rec(scenario="s6"),
    ]
    c = counts(records)
    assert (c.bugs, c.risks, c.ignored, c.errors, c.skipped, c.passed) == (1, 1, 1, 1, 1, 1)
    assert c.line() == "1 bug(s), 1 risk(s), 1 scenario error(s), 1 skipped, 1 ignored"
    assert Cell(records[2]).status == "ignored"


@pytest.mark.parametrize("records, code", [
    ([rec()], EXIT_CLEAN),
    ([rec(), rec(scenario="s", outcome="skipped", reason="r")], EXIT_CLEAN),
    ([rec(outcome="failed", bug="two-pollers")], EXIT_FINDINGS),
    ([rec(outcome="failed", bug="lost-updates")], EXIT_FINDINGS),
    ([rec(outcome="failed", bug="lost-updates", ignored=True)], EXIT_CLEAN),
    ([rec(outcome="error", error="boom")], EXIT_ERRORS),
    ([rec(outcome="failed", bug="two-pollers"), rec(scenario="s", outcome="error", error="b")], EXIT_ERRORS),
    ([rec(), rec(outcome="failed", bug="two-pollers")], EXIT_FINDINGS),  # flaky across runs
    ([], EXIT_ERRORS),
])
def test_exit_codes_for_a_users_bot(records, code):
    assert exit_code(records, bundled=False) == code


def test_exit_codes_for_the_bundled_bots():
    caught = rec(bot="naive", outcome="failed", bug="two-pollers", expected="two-pollers")
    assert exit_code([rec(bot="reference"), caught], bundled=True) == EXIT_CLEAN
    missed = rec(bot="naive", expected="two-pollers")
    assert exit_code([rec(bot="reference"), missed], bundled=True) == EXIT_FINDINGS
    assert uncaught_bots([rec(bot="reference"), missed]) == ["naive"]
    wrong = rec(bot="reference", outcome="failed", bug="lost-updates")
    assert exit_code([wrong, caught], bundled=True) == EXIT_FINDINGS
    assert exit_code([rec(bot="reference", outcome="error", error="x"), caught], bundled=True) == EXIT_ERRORS
