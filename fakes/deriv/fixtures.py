"""pytest fixtures for the fake Deriv API (registered by botfakes' pytest plugin).

    def test_ping(deriv):
        async with websockets.connect(deriv.endpoint) as ws: ...

`deriv` gives a freshly reset fake on a manual clock (the market moves only when the test calls
`deriv.step(n)`), so tick contents are the same on every run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from ..control.client import ControlClient
from .control import DerivControl
from .transport import PATH


@dataclass
class DerivHandle:
    url: str  # ws://127.0.0.1:PORT, what python-deriv-api takes as `endpoint`
    control: DerivControl  # typed /_control/deriv/ client
    plane: ControlClient  # the shared control plane (faults, gates, journal)

    def endpoint_for(self, app_id: Any = 1089, **query: str) -> str:
        extra = "".join(f"&{k}={v}" for k, v in query.items())
        return f"{self.url}{PATH}?app_id={app_id}{extra}"

    @property
    def endpoint(self) -> str:
        """The full URL a hand-written websockets client connects to."""
        return self.endpoint_for(1089, l="EN", brand="deriv")

    def create_account(self, **fields: Any) -> dict:
        return self.control.create_account(**fields)

    def step(self, ticks: int = 1) -> dict:
        return self.control.step(ticks)


@pytest.fixture
def deriv(botfakes) -> DerivHandle:
    control = botfakes.control
    typed = DerivControl(control)
    typed.reset(tick_interval=0)
    return DerivHandle(url=botfakes.url("deriv"), control=typed, plane=control)
