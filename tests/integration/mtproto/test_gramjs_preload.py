"""The GramJS preload by itself: what it changes in a Node process, and only with it."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from botfakes.fakes.mtproto import keyexchange
from botfakes.fakes.mtproto.preload import GRAMJS_PRELOAD

from .gramjs_support import BOUND, JS, needs_gramjs, node_env

pytestmark = [pytest.mark.asyncio, needs_gramjs]

# Loads GramJS's RSA module the way GramJS does, then dials port 80 on the fake's host.
PROBE = """
const rsa = require("telegram/crypto/RSA");
const net = require("net");
const keys = [...rsa._serverKeys.keys()];
const socket = net.connect(80, process.env.BOTFAKES_MTPROTO_HOST || "127.0.0.1");
socket.on("connect", () => { console.log(JSON.stringify({keys, connected: socket.remotePort})); socket.end(); });
socket.on("error", (err) => { console.log(JSON.stringify({keys, error: err.code})); });
"""


async def probe(env: dict[str, str]) -> dict:
    proc = await asyncio.create_subprocess_exec("node", "-e", PROBE, cwd=JS, env=env,
                                                stdout=asyncio.subprocess.PIPE)
    out, _ = await asyncio.wait_for(proc.communicate(), BOUND)
    return json.loads(out.decode().strip().splitlines()[-1])


async def test_with_the_preload_gramjs_trusts_the_fake_key_and_port_80_reaches_the_fake(mtproto):
    seen = await probe(node_env(mtproto))
    assert str(keyexchange.test_key_fingerprint()) in seen["keys"]
    assert seen["connected"] == mtproto.port
    [connect] = await mtproto.plane.aio.wait(fake="mtproto", kind="connect", timeout=BOUND)
    assert connect["conn"]


async def test_without_it_nothing_changes(mtproto):
    env = {k: v for k, v in os.environ.items() if k != "NODE_OPTIONS"}
    env["BOTFAKES_MTPROTO_PORT"] = str(mtproto.port)  # the variables alone do nothing
    seen = await probe(env)
    assert str(keyexchange.test_key_fingerprint()) not in seen["keys"] and len(seen["keys"]) == 2  # GramJS's own
    assert seen == {"keys": seen["keys"], "error": "ECONNREFUSED"}  # nothing listens on port 80


async def test_the_cli_prints_the_preload_path():
    botfakes = Path(sys.executable).parent / "botfakes"
    proc = await asyncio.create_subprocess_exec(str(botfakes), "gramjs-preload", stdout=asyncio.subprocess.PIPE)
    out, _ = await asyncio.wait_for(proc.communicate(), BOUND)
    assert out.decode().strip() == str(GRAMJS_PRELOAD) and GRAMJS_PRELOAD.is_file()
