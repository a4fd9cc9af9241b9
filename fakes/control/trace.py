"""Journal events as a Chrome/Perfetto trace (the JSON trace-event format).

Opens in ui.perfetto.dev or chrome://tracing with one process per fake and one thread (lane) per
connection: a request and its response are one complete ("X") slice named after the method, a
request held at a gate a slice nested in it ("held at gate-1", with the release turn), and
connects, disconnects, pushes, faults and notes instant ("i") events; the harness's notes ("instance
B started") are global instants, a line across every lane. Requests that overlap on one connection
(a WebSocket carries several at once) go to a second lane of that connection, because a trace
thread's slices must nest.

    journal_trace(events)                  # GET /_control/journal?format=trace
    records_trace(records)                 # one group of processes per scenario run
    write_trace(records, path)             # botfakes run --trace FILE
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

ERROR_COLOUR = "terrible"  # chrome://tracing's reserved colour names; Perfetto shows args instead


class _Builder:
    def __init__(self, prefix: str = "", pid_base: int = 1) -> None:
        self.prefix = prefix
        self.pid_base = pid_base
        self.out: list[dict[str, Any]] = []
        self.pids: dict[str, int] = {}
        self.tids: dict[tuple[str, str, int], int] = {}
        self.slot_ends: dict[tuple[str, str], list[float]] = {}

    def pid(self, fake: str) -> int:
        if fake not in self.pids:
            pid = self.pids[fake] = self.pid_base + len(self.pids)
            self.out.append({"ph": "M", "name": "process_name", "pid": pid, "tid": 0,
                             "args": {"name": f"{self.prefix}{fake}"}})
            self.out.append({"ph": "M", "name": "process_sort_index", "pid": pid, "tid": 0,
                             "args": {"sort_index": pid}})
        return self.pids[fake]

    def tid(self, fake: str, conn: str, slot: int, label: str) -> int:
        key = (fake, conn, slot)
        if key not in self.tids:
            pid = self.pid(fake)
            tid = self.tids[key] = len(self.tids) + 1
            name = (conn or f"{fake} (no connection)") + (f" · {slot + 1}" if slot else "")
            if label:
                name += f" · {label}"
            self.out.append({"ph": "M", "name": "thread_name", "pid": pid, "tid": tid,
                             "args": {"name": name}})
            self.out.append({"ph": "M", "name": "thread_sort_index", "pid": pid, "tid": tid,
                             "args": {"sort_index": tid}})
        return self.tids[key]

    def slot(self, fake: str, conn: str, start: float, end: float) -> int:
        """The first lane of the connection free at `start` (slices in one lane must nest)."""
        ends = self.slot_ends.setdefault((fake, conn), [])
        for i, busy_until in enumerate(ends):
            if busy_until <= start:
                ends[i] = end
                return i
        ends.append(end)
        return len(ends) - 1


def _outcome_text(outcome: Mapping[str, Any] | None) -> str:
    if not outcome:
        return ""
    return "ok" if outcome.get("ok") else f"{outcome.get('code')} {outcome.get('text', '')}".strip()


def journal_trace(
    events: Sequence[Mapping[str, Any]],
    owners: Mapping[str, str] | None = None,
    *,
    prefix: str = "",
    pid_base: int = 1,
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A trace of journal events (dicts as the journal's JSON); `owners` = conn -> instance."""
    builder = _Builder(prefix, pid_base)
    _add_events(builder, events, owners or {})
    return {"traceEvents": builder.out, "displayTimeUnit": "ms",
            "otherData": {"source": "botfakes journal", **dict(metadata or {})}}


def records_trace(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """One trace of every scenario run that journaled events (verdict records' "events")."""
    out: list[dict[str, Any]] = []
    pid_base = 1
    runs = 0
    for record in records:
        events = record.get("events") or []
        if not events:
            continue
        runs += 1
        verdict = record.get("bug") or record.get("outcome", "")
        builder = _Builder(f"{record.get('scenario')} on {record.get('bot')} [{verdict}] · ", pid_base)
        _add_events(builder, events, {})
        out.extend(builder.out)
        pid_base += max(len(builder.pids), 1) + 1
    return {"traceEvents": out, "displayTimeUnit": "ms",
            "otherData": {"source": "botfakes run", "runs": runs}}


def _add_events(builder: _Builder, events: Sequence[Mapping[str, Any]], owners: Mapping[str, str]) -> None:
    if not events:
        return
    t0 = min(e["time"] for e in events)
    t_end = max(e["time"] for e in events)

    def us(t: float) -> float:
        return round((t - t0) * 1e6, 3)

    def label(e: Mapping[str, Any]) -> str:
        if e.get("conn") in owners:
            return owners[e["conn"]]
        instance = e.get("instance")
        return f"instance {instance}" if instance and instance != "?" else ""

    responses = {e["request"]: e for e in events if e["kind"] == "response" and e.get("request")}
    held: dict[int, Mapping[str, Any]] = {}
    released: dict[int, Mapping[str, Any]] = {}
    for e in events:
        if e["kind"] == "gate" and e.get("request"):
            action = (e.get("data") or {}).get("action")
            if action == "held":
                held[e["request"]] = e
            elif action == "released":
                released[e["request"]] = e
    request_tid: dict[int, tuple[int, int]] = {}

    for e in sorted(events, key=lambda x: x["seq"]):
        kind, fake, conn = e["kind"], e["fake"], e.get("conn") or ""
        if kind == "request":
            response = responses.get(e["seq"])
            end = response["time"] if response else t_end
            slot = builder.slot(fake, conn, e["time"], end)
            pid, tid = builder.pid(fake), builder.tid(fake, conn, slot, label(e))
            request_tid[e["seq"]] = (pid, tid)
            outcome = response.get("outcome") if response else None
            name = e.get("method") or "request"
            args: dict[str, Any] = {"seq": e["seq"], "params": (e.get("data") or {}).get("params")}
            slice_ = {"ph": "X", "name": name, "cat": fake, "pid": pid, "tid": tid,
                      "ts": us(e["time"]), "dur": max(us(end) - us(e["time"]), 0.0), "args": args}
            if response is None:
                args["unanswered"] = True
            else:
                args["outcome"] = _outcome_text(outcome)
                args["response_seq"] = response["seq"]
                if outcome and not outcome.get("ok"):
                    slice_["name"] = f"{name} → {outcome.get('code')}"
                    slice_["cname"] = ERROR_COLOUR
            builder.out.append(slice_)
            hold = held.get(e["seq"])
            if hold is not None:
                let_go = released.get(e["seq"])
                hold_end = min(let_go["time"] if let_go else end, end)
                data = (let_go or {}).get("data") or {}
                gate = (hold.get("data") or {}).get("gate")
                builder.out.append({
                    "ph": "X", "name": f"held at {gate}", "cat": "gate", "pid": pid, "tid": tid,
                    "ts": us(hold["time"]), "dur": max(us(hold_end) - us(hold["time"]), 0.0),
                    "args": {"gate": gate, "turn": data.get("turn"), "arrival": data.get("position"),
                             "released": let_go is not None}})
            continue
        if kind in ("response",) and e.get("request") in request_tid:
            continue  # drawn as the end of its request's slice
        if kind == "gate" and e.get("request") in request_tid:
            continue  # drawn as the hold slice
        instant: dict[str, Any] = {"ph": "i", "ts": us(e["time"]), "cat": kind,
                                   "args": {"seq": e["seq"], "data": e.get("data") or {}}}
        if e.get("outcome") is not None:
            instant["args"]["outcome"] = _outcome_text(e["outcome"])
        if fake == "harness":
            instant.update(name=f"{conn + ': ' if conn else ''}{e.get('method')}", s="g",
                           pid=builder.pid("harness"), tid=0)
        else:
            where = request_tid.get(e.get("request") or -1)
            if where is None:
                where = (builder.pid(fake), builder.tid(fake, conn, 0, label(e)))
            name = kind if not e.get("method") else f"{kind} {e['method']}"
            instant.update(name=name, s="t", pid=where[0], tid=where[1])
            if kind == "fault" or (e.get("outcome") and not e["outcome"].get("ok")):
                instant["cname"] = ERROR_COLOUR
        builder.out.append(instant)


def write_trace(records: Iterable[Mapping[str, Any]], path: "str | os.PathLike[str]") -> int:
    """`botfakes run --trace FILE`: the records' journals as one trace file; returns the runs."""
    trace = records_trace(records)
    Path(path).write_text(json.dumps(trace, default=str), encoding="utf-8")
    return trace["otherData"]["runs"]
