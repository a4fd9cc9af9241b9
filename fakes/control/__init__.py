"""The control kit shared by every fake: the plane, its decisions, connections, journal, rules, gates.

- plane.py      ControlPlane and the `plane.request(...)` passage every fake request goes through
- decisions.py  Decision: deliver, delay, drop, close or error, for a request or a push
- enact.py      enact_request(): a decision enacted on a connection, with the fake's error mapping
- links.py      Link per client connection (stream, WebSocket, HTTP kinds) and the Links table
- pushes.py     PushQueue: one connection's server pushes, in order, as decided
- journal.py    the event journal (one event shape for all fakes), filters and waits on it
- faults.py     fault rules: error, delay, drop, close; next N, skip K, probability
- gates.py      gates: hold N matching requests, release them in a chosen order (schedules.py)
- matching.py   the one matcher rules, gates and filters share
- clock.py      Clock, the one injected clock of a core
- fake.py       the Fake base class the runtime, CLI and plugin drive
- http.py       the /_control/ JSON routes (schemas.py checks their bodies)
- client.py     ControlClient, the Python face of those routes (sync, and `.aio`)
"""

from .client import ControlClient, ControlError, ControlTimeout
from .faults import FaultRule
from .gates import Gate
from .journal import Event, EventFilter, Journal
from .matching import Match
from .decisions import Decision
from .plane import ControlPlane, RequestContext

__all__ = [
    "ControlClient", "ControlError", "ControlTimeout", "ControlPlane", "Decision", "Event", "EventFilter",
    "FaultRule", "Gate", "Journal", "Match", "RequestContext",
]
