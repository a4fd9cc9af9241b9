"""Benchmark the fake MTProto server with unmodified Telethon.

    python benchmarks/bench_mtproto.py [--quick]

Measures, in one run:
  - key exchanges per second: fresh Telethon clients connecting with an empty session (req_pq_multi,
    req_DH_params, set_client_DH_params, then invokeWithLayer), one after another;
  - server-side cost of one key exchange alone (the sans-I/O KeyExchange, no sockets);
  - Telethon get_me round trips per second on one client, and across 50 concurrent clients;
  - get_me per layer: Telethon 1.45 (layer 229) beside GramJS 2.26 (layer 198, Node, through
    botfakes' preload), one client each; the GramJS row is skipped without Node or
    `npm install` in tests/integration/mtproto/js;
  - the CPU split: the fakes run on the runtime's own thread, so that thread's CPU time is the
    server's and the benchmark thread's is the clients';
  - the reference: an asyncio TCP echo server on the same kind of thread, answering a packet of
    get_me's size, i.e. the floor a round trip costs here before any MTProto work.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import threading
import time
from pathlib import Path

import psutil

from telethon import TelegramClient
from telethon.network import authenticator
from telethon.sessions import StringSession

from botfakes.fakes.mtproto.fixtures import API_HASH, API_ID
from botfakes.fakes.mtproto.keyexchange import KeyExchange, trust_test_key
from botfakes.fakes.mtproto.session import read_object
from botfakes.fakes.runtime import FakesRuntime


class Meter:
    """Wall time plus CPU time of this thread (clients) and of the runtime thread (server)."""

    def __init__(self, runtime: FakesRuntime | None, server_cpu=None) -> None:
        self.runtime = runtime
        self.server_cpu = server_cpu or (lambda: runtime.call_sync(time.thread_time))

    def __enter__(self) -> "Meter":
        self.s0 = self.server_cpu()
        self.c0 = time.thread_time()
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self.t0
        self.client = time.thread_time() - self.c0
        self.server = self.server_cpu() - self.s0


def fresh_client(host: str, port: int) -> TelegramClient:
    session = StringSession()
    session.set_dc(2, host, port)
    return TelegramClient(session, API_ID, API_HASH)


async def key_exchanges(host: str, port: int, n: int) -> None:
    for _ in range(n):
        client = fresh_client(host, port)
        await client.connect()
        await client.disconnect()


async def get_me_loop(client: TelegramClient, n: int) -> None:
    for _ in range(n):
        await client.get_me()


async def server_key_exchange_only(n: int) -> float:
    class Wire:
        def __init__(self) -> None:
            self.exchange = KeyExchange()

        async def send(self, request):
            from telethon.extensions import BinaryReader
            answer = self.exchange.handle(read_object(bytes(request)))
            with BinaryReader(bytes(answer)) as reader:
                return reader.tgread_object()

    spent = 0.0
    for _ in range(n):
        wire = Wire()
        original = wire.exchange.handle

        def timed(request, original=original):
            nonlocal spent
            t0 = time.perf_counter()
            try:
                return original(request)
            finally:
                spent += time.perf_counter() - t0

        wire.exchange.handle = timed
        await authenticator.do_authentication(wire)
    return spent / n


def start_echo_server() -> tuple[int, asyncio.AbstractEventLoop, threading.Thread]:
    """The reference: an echo server in its own thread/loop, like the runtime's fakes."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    port_box = []

    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readexactly(4)
                size = int.from_bytes(head, "little")
                writer.write(head + await reader.readexactly(size))
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port_box.append(server.sockets[0].getsockname()[1])
        ready.set()

    def run():
        asyncio.set_event_loop(loop)
        loop.run_until_complete(main())
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    return port_box[0], loop, thread


async def echo_round_trips(port: int, n: int, clients: int = 1, size: int = 240) -> None:
    async def one():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        packet = size.to_bytes(4, "little") + os.urandom(size)
        for _ in range(n):
            writer.write(packet)
            await reader.readexactly(len(packet))
        writer.close()

    await asyncio.gather(*(one() for _ in range(clients)))


GRAMJS_CLIENT = Path(__file__).resolve().parents[1] / "tests/integration/mtproto/js/gramjs_client.cjs"


async def gramjs_get_me(runtime: FakesRuntime, host: str, port: int, session: str, n: int) -> tuple | None:
    """One GramJS client (layer 198) doing n get_me round trips; None without Node/GramJS."""
    if shutil.which("node") is None or not (GRAMJS_CLIENT.parent / "node_modules/telegram").is_dir():
        print("skipped: get_me, GramJS (needs node and npm install in tests/integration/mtproto/js)")
        return None
    from botfakes.fakes.mtproto.preload import gramjs_environment

    config = {"session": session, "count": n, "apiId": API_ID, "apiHash": API_HASH}
    proc = await asyncio.create_subprocess_exec(
        "node", str(GRAMJS_CLIENT), "bench", json.dumps(config), cwd=GRAMJS_CLIENT.parent,
        env={**os.environ, **gramjs_environment(host, port, dict(os.environ))},
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)

    async def step(name: str) -> dict:
        while True:
            line = (await asyncio.wait_for(proc.stdout.readline(), 120)).decode()
            if not line:
                raise RuntimeError("GramJS exited")
            if line.startswith("{") and json.loads(line).get("step") == name:
                return json.loads(line)

    await step("ready")
    node = psutil.Process(proc.pid)  # the client's CPU is the Node process's
    before = sum(node.cpu_times()[:2])
    with Meter(runtime) as m:  # the wall time is Node's own, around its loop
        proc.stdin.write(b"go\n")
        result = await step("bench")
        client_cpu = sum(node.cpu_times()[:2]) - before
    await proc.wait()
    return ("get_me, 1 client, layer 198 (GramJS 2.26)", n, result["seconds"], n / result["seconds"],
            client_cpu / n * 1e3, m.server / n * 1e3)


def row(name: str, count: int, meter: Meter) -> tuple:
    return (name, count, meter.wall, count / meter.wall, meter.client / count * 1e3,
            meter.server / count * 1e3)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer iterations (smoke run)")
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON here (run_all.py reads it)")
    args = parser.parse_args()
    scale = 0.2 if args.quick else 1.0
    n_kex = max(3, int(30 * scale))
    n_one = max(20, int(1000 * scale))
    n_each = max(2, int(40 * scale))
    n_clients = 50

    trust_test_key()
    rows = []
    with FakesRuntime(["mtproto"]) as runtime:
        info = runtime.info()["fakes"]["mtproto"]
        host, port = info["host"], info["port"]
        control = runtime.control.mtproto

        async def scenario() -> None:
            with Meter(runtime) as m:
                await key_exchanges(host, port, n_kex)
            rows.append(row("key exchange + connect (fresh session)", n_kex, m))

            session = control.string_session()
            client = TelegramClient(StringSession(session), API_ID, API_HASH)
            await client.connect()
            await client.get_me()
            with Meter(runtime) as m:
                await get_me_loop(client, n_one)
            rows.append(row("get_me, 1 client, layer 229 (Telethon 1.45)", n_one, m))
            await client.disconnect()
            gramjs = await gramjs_get_me(runtime, host, port,
                                         control.mint_session(format="gramjs")["session"], n_one)
            if gramjs is not None:
                rows.append(gramjs)

            sessions = [control.string_session() for _ in range(n_clients)]
            clients = [TelegramClient(StringSession(s), API_ID, API_HASH) for s in sessions]
            await asyncio.gather(*(c.connect() for c in clients))
            with Meter(runtime) as m:
                await asyncio.gather(*(get_me_loop(c, n_each) for c in clients))
            rows.append(row(f"get_me, {n_clients} concurrent clients", n_clients * n_each, m))
            await asyncio.gather(*(c.disconnect() for c in clients))

        asyncio.run(scenario())
        per_kex = asyncio.run(server_key_exchange_only(max(3, int(20 * scale))))

    echo_port, echo_loop, _thread = start_echo_server()

    def echo_cpu() -> float:
        fut = asyncio.run_coroutine_threadsafe(_thread_time(), echo_loop)
        return fut.result(10)

    async def reference() -> None:
        with Meter(None, echo_cpu) as m:
            await echo_round_trips(echo_port, n_one)
        rows.append(row("reference: TCP echo of a get_me-sized packet, 1 client", n_one, m))
        with Meter(None, echo_cpu) as m:
            await echo_round_trips(echo_port, n_each, clients=n_clients)
        rows.append(row(f"reference: TCP echo, {n_clients} concurrent clients", n_clients * n_each, m))

    asyncio.run(reference())
    echo_loop.call_soon_threadsafe(echo_loop.stop)

    print(f"\nbotfakes MTProto fake, Telethon {__import__('telethon').__version__}, "
          f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs\n")
    header = f"{'measure':58} {'count':>6} {'wall s':>8} {'per s':>9} {'client ms':>10} {'server ms':>10}"
    print(header)
    print("-" * len(header))
    for name, count, wall, rate, client_ms, server_ms in rows:
        print(f"{name:58} {count:6d} {wall:8.2f} {rate:9.1f} {client_ms:10.3f} {server_ms:10.3f}")
    print(f"\nserver-side key exchange alone (sans-I/O, 3 steps): {per_kex * 1e3:.2f} ms "
          f"= {1 / per_kex:.0f} exchanges/s per core")
    print("client ms / server ms: CPU time per operation on the client thread / the server thread")
    if args.json:  # for run_all.py
        import json

        with open(args.json, "w") as f:
            json.dump({"rows": [dict(zip(("measure", "count", "wall_s", "per_s", "client_ms", "server_ms"), r))
                                for r in rows], "server_key_exchange_s": per_kex}, f)


async def _thread_time() -> float:
    return time.thread_time()


if __name__ == "__main__":
    main()
