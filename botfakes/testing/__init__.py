"""Test support shared by the scenarios, the test suites, the Locust loads and the benchmarks.

- `ports.free_port()`: a free 127.0.0.1 port, for a server that must know its port in advance;
- `process.BotProcess`: one bot process (start, readiness, stop, kill -9, restart, output);
- `env`: the environment contract (default variables, {placeholders}), also printed by
  `python -m botfakes env` for shells and CI.
"""

from .env import Contract, UnknownPlaceholder, bot_environment, default_variables, placeholder_values, resolve
from .ports import free_port
from .process import BotExited, BotNotReady, BotProcess, ReadyHttp, ReadyLine

__all__ = [
    "BotExited", "BotNotReady", "BotProcess", "Contract", "ReadyHttp", "ReadyLine",
    "UnknownPlaceholder", "bot_environment", "default_variables", "free_port",
    "placeholder_values", "resolve",
]
