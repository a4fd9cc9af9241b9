"""The one clock a fake's core reads: monotonic time for rules and timeouts, wall time for dates.

Cores take a Clock (default: the real one) so a test can substitute both at once.
"""

from __future__ import annotations

import time


class Clock:
    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()
