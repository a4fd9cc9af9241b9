"""Enacting a request's decision on its connection, the same way on every fake.

    async with plane.request(FAKE, link.conn, method, params) as req:
        if await enact_request(req, link, error_answer):
            return                          # the fault rule answered (or not) instead of the core
        ...                                 # the core answers

`error_answer` is the fake's error-mapping hook: it turns a rule's `error` dict (in the fake's
own vocabulary, see faults.py) into the message to send and its journal outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from .links import Link
    from .plane import RequestContext


@dataclass
class FaultAnswer:
    """What an error rule answers, in the fake's terms."""

    message: Any  # what to send; None = nothing
    outcome: dict[str, Any]  # the journal outcome, journal.error(code, text)
    close: bool = False  # close the connection after sending (a transport-level error)
    data: dict[str, Any] = field(default_factory=dict)  # more journal data for the response


ErrorMapping = Callable[[dict[str, Any]], FaultAnswer]


async def enact_request(req: "RequestContext", link: "Link", error_answer: ErrorMapping) -> bool:
    """Enact a terminal decision (error, drop, close); False when the core is to answer."""
    decision = req.decision
    rule = decision.rule
    if rule is None:
        return False
    if decision.action == "error":
        answer = error_answer(decision.error)
        req.reply(answer.outcome, data={**answer.data, "fault": rule.id})
        if answer.message is not None:
            await link.send(answer.message)
        if answer.close:
            await link.close()
    elif decision.action == "drop":
        req.reply(rule.outcome(), data={"fault": rule.id})
        req.passed()  # a gate releasing in turn must not wait for an answer that never comes
        await link.hold_unanswered()
    else:  # close
        req.reply(rule.outcome(), data={"fault": rule.id})
        await link.close(decision.close_code, decision.close_reason)
    return True
