"""The typed Python face of /_control/deriv/ (reached as `ControlClient(...).deriv`)."""

from __future__ import annotations

from typing import Any

from ..control.client import FakeControl


class DerivControl(FakeControl):
    fake = "deriv"

    def reset(self, *, seed: int | None = None, start_epoch: int | None = None,
              tick_interval: float | None = None) -> dict:
        """A fresh world; tick_interval=0 puts the market on a manual clock."""
        return self._post("/reset", {"seed": seed, "start_epoch": start_epoch,
                                     "tick_interval": tick_interval})

    def create_account(self, *, token: str | None = None, loginid: str | None = None,
                       currency: str | None = None, balance: float | None = None,
                       is_virtual: bool | None = None, **more: Any) -> dict:
        return self._post("/accounts", {"token": token, "loginid": loginid,
                                        "currency": currency, "balance": balance,
                                        "is_virtual": is_virtual, **more})

    def accounts(self) -> list[dict]:
        return self._get("/accounts")

    def market(self) -> dict:
        return self._get("/market")

    def step(self, ticks: int = 1) -> dict:
        """Advance the fake clock `ticks` ticks; stream messages are sent before this returns."""
        return self._post("/market/step", {"ticks": ticks})

    def set_tick_interval(self, seconds: float) -> dict:
        return self._post("/market/interval", {"seconds": seconds})

    def stall(self, *, subscription: str | None = None, type: str | None = None,
              symbol: str | None = None, conn: str | None = None,
              method: str | None = None) -> dict:
        """Withhold matching stream messages (a push-stage drop rule) until unstall()."""
        return self._post("/stall", {"subscription": subscription, "type": type,
                                     "symbol": symbol, "conn": conn, "method": method})

    def unstall(self, rule_id: str | None = None) -> list[str]:
        return self._post("/unstall", {"id": rule_id})["removed"]

    def limits(self) -> dict:
        return self._get("/limits")

    def set_limits(self, *, enabled: bool | None = None, **classes: dict) -> dict:
        """e.g. set_limits(connection={"per_minute": 3}) or set_limits(enabled=False)."""
        return self._post("/limits", {"enabled": enabled, "classes": classes or None})

    def latency(self, delay: float, jitter: float = 0.0, method: str | None = None,
                times: int | None = None) -> dict:
        """Every matching request waits delay + up to jitter seconds (seeded) before its reply."""
        return self._post("/latency", {"delay": delay, "jitter": jitter, "method": method,
                                       "times": times})

    def configure(self, *, idle_timeout: float | None = None) -> dict:
        """Change the idle timeout of the running fake (0 = never); reset restores it."""
        return self._post("/config", {"idle_timeout": idle_timeout})
