"""report.html in headless Chromium: a failure's swimlanes drawn from a real forced race."""

from __future__ import annotations

import json
import threading
import urllib.request

from playwright.sync_api import expect

from botfakes.scenarios.report import write_html

from .conftest import screenshot


def get_updates(runtime, token: str, results: list) -> None:
    url = f"{runtime.url('botapi')}/bot{token}/getUpdates?timeout=5"
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            results.append(json.loads(resp.read()))
    except urllib.error.HTTPError as exc:
        results.append(json.loads(exc.read()))


def two_pollers_journal(runtime) -> list[dict]:
    """Two long polls of one token held by a gate until both are in, released in arrival order:
    the first parks, the second takes over, the first gets the 409 (seed 004's failure)."""
    control = runtime.control
    token = control.botapi.new_bot()
    gate = control.add_gate("botapi", "getUpdates", count=2)
    results: list = []
    pollers = [threading.Thread(target=get_updates, args=(runtime, token, results)) for _ in range(2)]
    for p in pollers:
        p.start()
    control.wait(fake="botapi", kind="response", method="getUpdates", code=409, timeout=30)
    control.note("the second instance took over", conn="B")
    control.botapi.send_message(token, "/start", {"id": 7})  # answers the surviving poll
    for p in pollers:
        p.join(30)
    assert sorted(r["ok"] for r in results) == [False, True], results
    events = control.get("/journal")["events"]
    conns = [e["conn"] for e in events if e["kind"] == "gate" and e["data"]["gate"] == gate["id"]
             and e["data"]["action"] == "held"]
    instance_of = {conns[0]: "A", conns[1]: "B"}
    for e in events:
        e["instance"] = e["conn"] if e["fake"] == "harness" else instance_of.get(e["conn"], "?")
    return events


def record_of(events: list[dict]) -> dict:
    return {
        "bot": "naive_two_pollers", "scenario": "two_instances_polling",
        "title": "Two instances of the bot poll one token", "outcome": "failed",
        "expected_bug": "two-pollers", "bug": "two-pollers", "finding_class": "bug",
        "bug_title": "two instances poll one bot token", "seeds": ["004"],
        "error": "409 Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
        "evidence": ["instance A got the 409 after instance B's getUpdates"],
        "events": events, "bot_exit": None,
        "bot_output_tail": {"A": ["polling started", "telegram.error.Conflict: Conflict: terminated by other getUpdates request"],
                            "B": ["polling started"]},
        "replay_token": "bf1-two_instances_polling-0a1b", "schedule": ["getUpdates A", "getUpdates B"],
        "duration": 1.0, "seconds": 1.0,
    }


def test_report_draws_a_failure_as_swimlanes(page, runtime, tmp_path):
    events = two_pollers_journal(runtime)
    reference = {**record_of([]), "bot": "reference", "outcome": "passed", "bug": None,
                 "finding_class": None, "expected_bug": None, "events": []}
    path = tmp_path / "report.html"
    write_html([reference, record_of(events)], path)
    assert "<script src" not in path.read_text()  # one self-contained file
    page.goto(path.as_uri())
    failure = page.locator("section.failure#two_instances_polling--naive_two_pollers")
    expect(failure.locator(".verdict")).to_contain_text("The bot has two-pollers, a bug")
    lanes = failure.locator(".sl-report")
    expect(lanes.locator(".sl-response.sl-crit", has_text="409 Conflict: terminated by other getUpdates request")).to_be_visible()
    expect(lanes.locator(".sl-hold")).to_have_count(2)  # both polls held by the gate
    expect(lanes.locator(".sl-gate", has_text="released 1st by gate-1")).to_be_visible()
    expect(lanes.locator(".sl-band-race").first).to_be_visible()  # the forced race highlighted
    expect(lanes.locator(".sl-head")).to_contain_text("botapi · instance A")
    expect(lanes.locator(".sl-head")).to_contain_text("botapi · instance B")
    expect(failure.locator(".race")).to_contain_text("gate-1 held 2 getUpdates")
    expect(failure.locator(".schedule")).to_contain_text("botfakes run --replay bf1-two_instances_polling-0a1b")
    expect(failure.locator("pre.tail .crit-line")).to_contain_text("telegram.error.Conflict")
    expect(page.locator("td.caught a[href='#two_instances_polling--naive_two_pollers']")).to_be_visible()
    lanes.locator(".sl-response.sl-crit").first.click()
    expect(failure.locator(".event-detail")).to_contain_text('"code": 409')
    screenshot(page, "report-failure")
    assert page.errors == []
