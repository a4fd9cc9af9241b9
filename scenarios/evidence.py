"""The harness's evidence: the bot's own words, the journal as a timeline, and who did what.

A mixin of Harness (it reads the harness's journal, instances and connection owners).
"""

from __future__ import annotations

import re
import time
import urllib.parse
from typing import Any, Iterable

from botfakes.testing.process import BotExited, BotNotReady, ReadyLine

from .attribution import Owner
from .bugs import Bug


class Evidence:
    """Needs from the harness: control, start_seq, instances, creds, owner_of()."""

    def journal(self, **filters: Any) -> list[dict[str, Any]]:
        return self.control.journal(since=self.start_seq, **filters)

    def quote(self, bug: Bug) -> tuple[str, str] | None:
        """(the bug's real error text, where it was seen) if the bot printed it or told a chat.

        Bots log a library's exception, or send it to the user; either is evidence.
        """
        for bot in self.instances:
            for line in bot.output().splitlines():
                text = next((t for t in bug.texts if t in line), None)
                if text:
                    return text, f"output of instance {bot.label}: {line.strip()[:240]}"
        for chat_id, messages in self.control.botapi.sent(self.creds.bot_token).items():
            for message in messages:
                body = str(message.get("text", ""))
                text = next((t for t in bug.texts if t in body), None)
                if text:
                    return text, f"the bot's message to chat {chat_id}: {body[:200]!r}"
        return None

    def wait_output(self, texts: Iterable[str], timeout: float) -> tuple[str, str] | None:
        """Until an instance prints one of `texts` (or `timeout`): (text, the line's source)."""
        pattern = "|".join(re.escape(t) for t in texts)
        deadline = time.monotonic() + timeout
        for bot in self.instances:
            try:
                match = bot.wait_ready(ReadyLine(pattern), max(0.0, deadline - time.monotonic()))
            except (BotExited, BotNotReady):
                continue
            return match.group(0), f"output of instance {bot.label}: {match.string.strip()[:240]}"
        return None

    def _instance_of(self, e: dict[str, Any], pushed_to: dict[str, str]) -> Owner:
        if e["fake"] == "harness":
            return Owner(e["conn"] or "-")
        if not e["conn"]:
            return Owner("-", "not on a connection")
        if e["conn"] in pushed_to:  # the fake's own connection, delivering to an instance
            return Owner(pushed_to[e["conn"]])
        return self.owner_of(e["conn"])

    def _pushed_to(self, events: list[dict[str, Any]]) -> dict[str, str]:
        """Connections the fake opened to deliver webhooks: conn -> the instance at that port."""
        by_port = {str(b.port): b.label for b in self.instances}  # type: ignore[attr-defined]
        pushed = {}
        for e in events:
            url = str((e.get("data") or {}).get("url") or "")
            if e["kind"] == "push" and url:
                port = urllib.parse.urlsplit(url).port
                if str(port) in by_port:
                    pushed[e["conn"]] = by_port[str(port)]
        return pushed

    def timeline(self, limit: int = 200) -> list[str]:
        """The scenario's journal as lines: time, instance, connection, what happened."""
        events = self.journal()
        if not events:
            return []
        t0 = events[0]["time"]
        lines = []
        pushed = self._pushed_to(events)
        for e in events[-limit:]:
            who = self._instance_of(e, pushed)
            what = e["method"]
            if e["kind"] == "request":
                params = e["data"].get("params") or {}
                brief = ", ".join(f"{k}={_short(v)}" for k, v in list(params.items())[:4])
                what = f"{what}({brief})"
            outcome = e.get("outcome")
            result = ""
            if outcome:
                result = "ok" if outcome.get("ok") else f"{outcome.get('code')} {outcome.get('text', '')}"
            why = f" [instance ?: {who.reason}]" if e["kind"] == "connect" and who.label == "?" else ""
            lines.append(
                f"+{e['time'] - t0:7.3f}s {who.label:>2} {e['fake']:<7} {e['conn']:<11} {e['kind']:<10} "
                f"{what} {('-> ' + result) if result else ''}".rstrip() + why
            )
        return lines

    def timeline_events(self) -> list[dict[str, Any]]:
        events = self.journal()
        pushed = self._pushed_to(events)
        for e in events:
            who = self._instance_of(e, pushed)
            e["instance"] = who.label
            if who.reason:
                e["instance_reason"] = who.reason
        return events


def _short(value: Any, width: int = 24) -> str:
    text = str(value)
    return text if len(text) <= width else text[: width - 1] + "…"
