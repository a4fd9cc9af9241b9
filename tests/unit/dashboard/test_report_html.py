"""report.html rendered from its template, without a browser: one self-contained file, the
verdict in words, the forced race, the schedule, and journal text that cannot break the page."""

from botfakes.scenarios.report import forced_race, render_html, verdict_in_words
from botfakes.scenarios.summary import Cell


def record(**fields):
    base = {"bot": "mybot", "scenario": "two_instances_polling", "title": "t", "outcome": "failed",
            "expected_bug": None, "bug": "two-pollers", "finding_class": "bug",
            "bug_title": "two instances poll one bot token", "error": "409 Conflict", "evidence": [],
            "events": [], "bot_output_tail": {}, "bot_exit": None, "replay_token": None, "schedule": None}
    base.update(fields)
    return base


def gate_events():
    return [
        {"seq": 1, "time": 0.0, "fake": "botapi", "conn": "botapi#1", "kind": "request", "method": "getUpdates", "instance": "A", "data": {}},
        {"seq": 2, "time": 0.1, "fake": "botapi", "conn": "botapi#1", "kind": "gate", "method": "getUpdates", "request": 1, "instance": "A", "data": {"gate": "gate-1", "action": "held"}},
        {"seq": 3, "time": 0.2, "fake": "botapi", "conn": "botapi#2", "kind": "request", "method": "getUpdates", "instance": "B", "data": {}},
        {"seq": 4, "time": 0.3, "fake": "botapi", "conn": "botapi#2", "kind": "gate", "method": "getUpdates", "request": 3, "instance": "B", "data": {"gate": "gate-1", "action": "held"}},
        {"seq": 5, "time": 0.4, "fake": "botapi", "conn": "botapi#2", "kind": "gate", "method": "getUpdates", "request": 3, "instance": "B", "data": {"gate": "gate-1", "action": "released", "turn": 0, "position": 1}},
        {"seq": 6, "time": 0.5, "fake": "botapi", "conn": "botapi#1", "kind": "gate", "method": "getUpdates", "request": 1, "instance": "A", "data": {"gate": "gate-1", "action": "released", "turn": 1, "position": 0}},
        {"seq": 7, "time": 0.6, "fake": "botapi", "conn": "botapi#1", "kind": "response", "method": "getUpdates", "request": 1, "instance": "A", "data": {},
         "outcome": {"ok": False, "code": 409, "text": "Conflict: </script><script>alert(1)</script>"}},
    ]


def test_the_forced_race_in_words_in_release_order():
    lines, highlight = forced_race(gate_events())
    assert lines == ["gate-1 held 2 getUpdates: botapi#1 (instance A), botapi#2 (instance B); "
                     "released botapi#2 (instance B), then botapi#1 (instance A)"]
    assert highlight == [1, 2, 3, 4, 5, 6, 7]


def test_verdicts_in_words_for_a_risk_and_a_dead_bot():
    risk = Cell(record(bug="retry-after-ignored", finding_class="risk", bug_title="ignores retry_after",
                       error="sent again 0.1 s after a 429 with retry_after 3"))
    assert verdict_in_words(risk).startswith("The bot has retry-after-ignored, a risk")
    dead = Cell(record(outcome="error", bug=None, error="the bot died",
                       bot_exit={"instance": "A", "code": 1, "after_s": 0.4, "tail": ["Traceback"]}))
    assert verdict_in_words(dead).startswith("The scenario could not decide: instance A exited with code 1 after 0.4 s")


def test_one_file_whose_journal_cannot_end_its_script_early():
    html = render_html([record(events=gate_events(), replay_token="bf1.abc", schedule=[],
                               schedule_text="(no gate released)",
                               bot_output_tail={"A": ["telegram.error.Conflict: Conflict"]})])
    assert "<script src" not in html and "<link rel=\"stylesheet\"" not in html
    assert "class Swimlanes" in html  # the dashboard's renderer, inlined
    assert "</script><script>alert(1)" not in html
    assert "<\\/script><script>alert(1)<\\/script>" in html  # inside the JSON, escaped for <script>
    assert "botfakes run --replay bf1.abc" in html and "(no gate released)" in html
    assert 'class="crit-line">telegram.error.Conflict: Conflict</span>' in html
