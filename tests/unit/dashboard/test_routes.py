"""The dashboard's HTTP routes on a running runtime (loopback): the page, its files, the world,
a journal page, the stream's first messages, the trace format and bad input."""

import json
import urllib.error
import urllib.request

import pytest

from botfakes.fakes.runtime import FakesRuntime


@pytest.fixture(scope="module")
def runtime():
    with FakesRuntime(["botapi"]) as rt:
        yield rt


def get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def test_the_control_root_leads_to_the_page(runtime):
    status, headers, body = get(runtime.control_url + "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b"dashboard/static/swimlanes.js" in body


def test_static_files_and_only_them(runtime):
    status, headers, body = get(runtime.control_url + "/_control/dashboard/static/swimlanes.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    for name in ("nothing.js", "..%2Froutes.py", "routes.py"):
        status, _, body = get(runtime.control_url + f"/_control/dashboard/static/{name}")
        assert status == 404 and json.loads(body)["ok"] is False


def test_the_world_shows_both_sides_of_a_chat(runtime):
    control = runtime.control
    control.reset()
    token = control.botapi.new_bot()
    control.botapi.send_message(token, "/start", {"id": 77, "first_name": "Ada"})
    status, _, body = get(runtime.control_url + "/_control/dashboard/world")
    bot = next(b for b in json.loads(body)["result"]["bots"] if b["token"] == token)
    (chat,) = bot["chats"]
    assert chat["id"] == 77 and chat["title"] == "Ada"
    assert [m["text"] for m in chat["messages"]] == ["/start"]


def test_a_page_of_the_journal_before_or_after_a_seq(runtime):
    control = runtime.control
    control.reset()
    for i in range(5):
        control.note(f"n{i}")
    last = control.get("/journal")["last_seq"]
    _, _, body = get(runtime.control_url + f"/_control/journal/page?before={last}&limit=2")
    assert [e["method"] for e in json.loads(body)["result"]["events"]] == ["n2", "n3"]
    _, _, body = get(runtime.control_url + f"/_control/journal/page?after={last - 4}&limit=2")
    assert [e["method"] for e in json.loads(body)["result"]["events"]] == ["n1", "n2"]
    status, _, body = get(runtime.control_url + "/_control/journal/page?before=x")
    assert status == 400 and json.loads(body)["description"] == "Bad Request: before must be an integer"


def test_the_stream_starts_with_hello_and_the_backlog(runtime):
    control = runtime.control
    control.reset()
    control.note("before the dashboard opened")
    with urllib.request.urlopen(runtime.control_url + "/_control/journal/stream", timeout=10) as resp:
        assert resp.headers["Content-Type"] == "text/event-stream"
        messages, data = [], []
        for raw in resp:
            line = raw.decode().rstrip("\r\n")
            if line.startswith("event: "):
                kind = line[len("event: "):]
            elif line.startswith("data: "):
                data.append(line[len("data: "):])
            elif not line and data:
                messages.append((kind, json.loads("".join(data))))
                data = []
                if kind == "stats":
                    break
    assert [k for k, _ in messages] == ["hello", "events", "stats"]
    assert messages[1][1]["events"][-1]["method"] == "before the dashboard opened"


def test_the_journal_as_a_trace_and_a_bad_format(runtime):
    control = runtime.control
    control.reset()
    control.note("instance A started", conn="A")
    status, _, body = get(runtime.control_url + "/_control/journal?format=trace")
    trace = json.loads(body)
    assert status == 200 and trace["displayTimeUnit"] == "ms"
    assert any(e["ph"] == "i" and e["name"] == "A: instance A started" for e in trace["traceEvents"])
    status, _, body = get(runtime.control_url + "/_control/journal?format=csv")
    description = json.loads(body)["description"]
    assert status == 400 and description.startswith("Bad Request:") and "format" in description
