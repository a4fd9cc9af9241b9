"""Which armed rules can hold a Deriv request (decides whether a frame gets a task of its own)."""

from __future__ import annotations

from botfakes.fakes.control.faults import FaultRule
from botfakes.fakes.control.gates import Gate
from botfakes.fakes.control.matching import Match
from botfakes.fakes.control.plane import ControlPlane
from botfakes.fakes.deriv.core import DerivCore
from botfakes.fakes.deriv.transport import DerivTransport


def transport() -> DerivTransport:
    return DerivTransport(ControlPlane(seed=1), DerivCore(seed=1), idle_timeout=None)


def test_rules_of_other_fakes_cannot_hold_a_deriv_request():
    t = transport()
    assert not t.plane.may_hold("deriv")
    t.plane.faults.add(FaultRule(match=Match(fake="botapi", method="getUpdates"), action="delay",
                                 delay=5))
    t.plane.faults.add(FaultRule(match=Match(fake="mtproto"), action="drop", delay=1))
    t.plane.gates.add(Gate(match=Match(fake="botapi", method="sendMessage"), count=2))
    assert not t.plane.may_hold("deriv")


def test_deriv_or_any_fake_delay_rules_and_gates_can():
    for match in (Match(fake="deriv", method="ping"), Match(fake="*")):
        t = transport()
        t.plane.faults.add(FaultRule(match=match, action="delay", delay=0.5))
        assert t.plane.may_hold("deriv")
        t = transport()
        t.plane.gates.add(Gate(match=match, count=2))
        assert t.plane.may_hold("deriv")
    t = transport()  # a push-stage delay holds pushes, not requests
    t.plane.faults.add(FaultRule(match=Match(fake="deriv"), action="delay", delay=1, stage="push"))
    assert not t.plane.may_hold("deriv")
