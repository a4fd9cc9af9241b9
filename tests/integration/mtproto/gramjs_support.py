"""Running real GramJS (npm `telegram`, installed in js/ and in the gramjs examples) in tests."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from botfakes.fakes.mtproto.preload import gramjs_environment

JS = Path(__file__).parent / "js"
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
BOUND = 30.0  # bounds a broken run; every wait below ends on an event

needs_gramjs = pytest.mark.skipif(
    shutil.which("node") is None or not (JS / "node_modules/telegram").is_dir(),
    reason="GramJS not installed: cd tests/integration/mtproto/js && npm install")


def node_env(mtproto) -> dict[str, str]:
    """The bot's environment plus what the preload needs: no GramJS option names the fake."""
    return {**os.environ, **gramjs_environment(mtproto.host, mtproto.port, dict(os.environ))}


class NodeClient:
    """js/gramjs_client.cjs in one mode; its steps are JSON lines (GramJS's own log lines are not)."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.other: list[str] = []

    @classmethod
    async def start(cls, mtproto, mode: str, config: dict[str, Any]) -> "NodeClient":
        config = {"apiId": mtproto.api_id, "apiHash": mtproto.api_hash, **config}
        proc = await asyncio.create_subprocess_exec(
            "node", str(JS / "gramjs_client.cjs"), mode, json.dumps(config), cwd=JS,
            env=node_env(mtproto), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        return cls(proc)

    async def step(self) -> dict[str, Any]:
        while True:
            line = await asyncio.wait_for(self.proc.stdout.readline(), BOUND)
            if not line:
                raise AssertionError(f"GramJS exited: {self.other}")
            text = line.decode(errors="replace").strip()
            if text.startswith("{"):
                result = json.loads(text)
                if "error" in result:
                    raise AssertionError(f"GramJS failed: {result['error']}\n{result.get('stack')}")
                return result
            self.other.append(text)

    async def finish(self) -> int:
        await asyncio.wait_for(self.proc.wait(), BOUND)
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
