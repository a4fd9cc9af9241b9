"""A small deterministic market: a seeded random walk per symbol on a fake clock.

Time in the fake is `Market.epoch` (integer seconds). It moves only when the market steps: each
step advances the clock by `seconds_per_tick` and gives every symbol one new tick. The
transport steps it on an interval (like the real feed) or a test steps it by hand through the
control API, so contracts settle exactly when a test says their duration has passed.

Real synthetic indices tick every 2 s (R_*) or every 1 s (1HZ*); here every symbol ticks on
every step, which keeps "step N ticks" meaning the same for all of them.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass

#: Synthetic indices (open around the clock, like the real ones).
#: symbol -> (display name, pip, start quote, annualised volatility); the per-tick step is that
#: volatility scaled to one 2-second tick, as the indices are defined
SYMBOLS: dict[str, tuple[str, float, float, float]] = {
    "R_10": ("Volatility 10 Index", 0.001, 6345.123, 0.10),
    "R_25": ("Volatility 25 Index", 0.001, 2510.456, 0.25),
    "R_50": ("Volatility 50 Index", 0.0001, 250.1234, 0.50),
    "R_75": ("Volatility 75 Index", 0.0001, 45123.4567, 0.75),
    "R_100": ("Volatility 100 Index", 0.01, 1234.56, 1.00),
    "1HZ10V": ("Volatility 10 (1s) Index", 0.01, 9123.45, 0.10),
    "1HZ100V": ("Volatility 100 (1s) Index", 0.01, 812.34, 1.00),
}

#: How many past ticks each symbol keeps for ticks_history (and candles).
HISTORY_TICKS = 5000


@dataclass(frozen=True, slots=True)
class Tick:
    symbol: str
    epoch: int
    quote: float


class Symbol:
    """One underlying: its walk and its recent ticks."""

    def __init__(self, name: str, seed: int, start_epoch: int, backfill: int,
                 seconds_per_tick: int) -> None:
        display, pip, start, volatility = SYMBOLS[name]
        self.name = name
        self.display_name = display
        self.pip = pip
        self.decimals = max(0, len(f"{pip:.10f}".rstrip("0").split(".")[1]))
        self.volatility = volatility * (2 / (365 * 86400)) ** 0.5
        # a walk of its own per symbol: adding subscribers or symbols never changes another's path
        self._rng = random.Random(f"{seed}:{name}")
        self._quote = start
        self.history: deque[Tick] = deque(maxlen=HISTORY_TICKS)
        epoch = start_epoch - backfill * seconds_per_tick
        for _ in range(backfill + 1):
            self._advance(epoch)
            epoch += seconds_per_tick

    def _advance(self, epoch: int) -> Tick:
        self._quote *= 1.0 + self._rng.gauss(0.0, self.volatility)
        tick = Tick(self.name, epoch, round(self._quote, self.decimals))
        self.history.append(tick)
        return tick

    @property
    def last(self) -> Tick:
        return self.history[-1]

    def pip_size(self) -> int:
        return self.decimals

    def ticks_between(self, start: int, end: int) -> list[Tick]:
        return [t for t in self.history if start <= t.epoch <= end]


class Market:
    def __init__(self, seed: int = 0, start_epoch: int = 1_700_000_000,
                 seconds_per_tick: int = 1, backfill: int = 1000,
                 symbols: tuple[str, ...] | None = None) -> None:
        self.seed = seed
        self.seconds_per_tick = seconds_per_tick
        self.epoch = start_epoch
        self.symbols = {
            name: Symbol(name, seed, start_epoch, backfill, seconds_per_tick)
            for name in (symbols or tuple(SYMBOLS))
        }
        self.steps = 0

    def step(self) -> list[Tick]:
        """Advance the clock by one tick period; every symbol gets its next tick."""
        self.epoch += self.seconds_per_tick
        self.steps += 1
        return [s._advance(self.epoch) for s in self.symbols.values()]

    def get(self, name: str) -> Symbol | None:
        return self.symbols.get(name)


def candles(ticks: list[Tick], granularity: int) -> list[dict]:
    """Group ticks into OHLC candles of `granularity` seconds (epoch = the candle's open time)."""
    out: list[dict] = []
    current: dict | None = None
    for t in ticks:
        start = t.epoch - t.epoch % granularity
        if current is None or current["epoch"] != start:
            current = {"epoch": start, "open": t.quote, "high": t.quote, "low": t.quote,
                       "close": t.quote}
            out.append(current)
        else:
            current["high"] = max(current["high"], t.quote)
            current["low"] = min(current["low"], t.quote)
            current["close"] = t.quote
    return out
