"""Running real Pyrogram (Kurigram, PyPI) against the fake in tests, in its own process with the
botfakes preload on PYTHONPATH, the way a bot runs: no Client option names the fake."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import sys
import textwrap
from typing import Any

import pytest

from botfakes.fakes.mtproto.preload import pyrogram_environment

BOUND = 30.0  # bounds a broken run; every wait below ends on an event

needs_kurigram = pytest.mark.skipif(importlib.util.find_spec("pyrogram") is None,
                                     reason="Kurigram not installed (pip install kurigram)")

# The client: "string" (a session string), "file" (a .session file) or "bot" (a fresh sign-in
# with a bot token); prints one JSON line per step.
CLIENT = textwrap.dedent('''
    import asyncio, json, pathlib, sys
    from pyrogram import Client

    def say(**step):
        print(json.dumps(step), flush=True)

    async def main(mode, config):
        kwargs = dict(api_id=config["api_id"], api_hash=config["api_hash"])
        if mode == "string":
            client = Client("bot", session_string=config["session"], in_memory=True, **kwargs)
        elif mode == "file":
            path = pathlib.Path(config["path"])
            client = Client(path.name[:-len(".session")], workdir=str(path.parent), **kwargs)
        else:
            client = Client("fresh", in_memory=True, bot_token=config["token"], **kwargs)
        received = asyncio.get_running_loop().create_future()

        @client.on_message()
        async def on_message(_, message):
            if not received.done():
                received.set_result(message)

        await client.start()
        me = await client.get_me()
        say(step="get_me", id=me.id, first_name=me.first_name, is_bot=me.is_bot, username=me.username)
        if mode == "bot":
            say(step="saved", session=await client.export_session_string())
            await client.stop()
            return
        sent = await client.send_message("alice", "hello from Kurigram")
        say(step="send_message", id=sent.id, text=sent.text, outgoing=sent.outgoing)
        history = [m async for m in client.get_chat_history("crypto_signals", limit=100)]
        say(step="history", ids=[m.id for m in history], chat=history[0].chat.username,
            texts=[m.text for m in history[:3]])
        say(step="listening")
        message = await received
        say(step="update", id=message.id, text=message.text, chat=message.chat.username)
        await client.stop()

    asyncio.run(main(sys.argv[1], json.loads(sys.argv[2])))
''')


def python_env(mtproto) -> dict[str, str]:
    return {**os.environ, **pyrogram_environment(mtproto.host, mtproto.port, dict(os.environ))}


class KurigramClient:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.other: list[str] = []

    @classmethod
    async def start(cls, mtproto, mode: str, config: dict[str, Any]) -> "KurigramClient":
        config = {"api_id": mtproto.api_id, "api_hash": mtproto.api_hash, **config}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", CLIENT, mode, json.dumps(config), env=python_env(mtproto),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        return cls(proc)

    async def step(self) -> dict[str, Any]:
        while True:
            line = await asyncio.wait_for(self.proc.stdout.readline(), BOUND)
            if not line:
                raise AssertionError("Kurigram exited:\n" + "\n".join(self.other))
            text = line.decode(errors="replace").rstrip()
            if text.startswith("{"):
                return json.loads(text)
            self.other.append(text)

    async def finish(self) -> int:
        rest, _ = await asyncio.wait_for(self.proc.communicate(), BOUND)
        self.other += rest.decode(errors="replace").splitlines()
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
