"""The control plane shared by every fake: journal, fault rules, gates, counters, reset.

- plane.py    ControlPlane and the `plane.request(...)` passage every fake request goes through
- journal.py  the event journal (one event shape for all fakes) and waits on it
- faults.py   fault rules: error, delay, drop, close; next N, skip K, probability
- gates.py    gates: hold N matching requests, release them in a chosen order
- fake.py     the Fake base class the runtime, CLI and plugin drive
- http.py     the /_control/ JSON routes
- client.py   ControlClient, the Python face of those routes (sync, and `.aio`)
"""

from .client import ControlClient, ControlError, ControlTimeout
from .faults import FaultRule
from .gates import Gate
from .journal import Event, EventFilter, Journal
from .matching import Match
from .plane import ControlPlane, RequestContext

__all__ = [
    "ControlClient", "ControlError", "ControlTimeout", "ControlPlane", "Event", "EventFilter",
    "FaultRule", "Gate", "Journal", "Match", "RequestContext",
]
