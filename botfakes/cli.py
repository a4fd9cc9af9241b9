"""`botfakes` command line: `serve` runs the fakes until Ctrl-C or SIGTERM, `run` the scenarios,
`env` prints the environment contract of running fakes."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

from botfakes import __version__
from botfakes.fakes import registry
from botfakes.fakes.runtime import FakesRuntime
from botfakes.scenarios import runner as scenario_runner

DEFAULT_CONTROL_PORT = 8090


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="botfakes",
        description="Fake Telegram Bot API, MTProto and Deriv servers for concurrency tests.",
    )
    parser.add_argument("--version", action="version", version=f"botfakes {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser(
        "serve", help="run the fakes on 127.0.0.1 until Ctrl-C or SIGTERM",
        description="Run the fakes. Ports: 0 picks a free one. Prints each URL; "
        "--ready-file gets the same as JSON once everything listens.",
    )
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to bind (default 127.0.0.1: the fakes are for loopback)")
    serve.add_argument("--only", default=",".join(registry.names()),
                       help=f"comma-separated fakes to run (default: {','.join(registry.names())})")
    serve.add_argument("--control-port", type=int, default=DEFAULT_CONTROL_PORT,
                       help=f"port of the /_control/ API (default {DEFAULT_CONTROL_PORT})")
    serve.add_argument("--seed", type=int, default=0,
                       help="seed for everything random in the fakes (default 0)")
    serve.add_argument("--ready-file", type=Path,
                       help="write the URLs and credentials as JSON here once ready")
    for name in registry.names():
        cls = registry.fake_class(name)
        group = serve.add_argument_group(name)
        group.add_argument(f"--{name}-port", type=int, default=cls.default_port,
                           help=f"port (default {cls.default_port})")
        cls.add_cli_arguments(group)

    run = commands.add_parser(
        "run", help="run the scenario suites and print the verdict matrix",
        description="With no bot given: every scenario against the bundled reference bot and its "
        "naive variants; exits 0 when the matrix is as expected. With --bot-spec bot.toml (or "
        "--bot-cmd and --bot-parts): the scenarios against your bot, started in the current folder. "
        "Exit codes: 0 clean, 1 bugs or risks found (bundled: not as expected), 2 scenario errors "
        "(e.g. the bot exited) or bad usage.",
    )
    scenario_runner.add_arguments(run)

    env = commands.add_parser(
        "env", help="print the environment contract of running fakes as shell export lines",
        description="Reads the ready file of `botfakes serve`, mints a Deriv account and an MTProto "
        "session on it, and prints the variables a bot under test gets (`eval \"$(python -m "
        "botfakes env --ready-file fakes.json)\"`).",
    )
    env.add_argument("--ready-file", type=Path, required=True,
                     help="the JSON file `botfakes serve --ready-file` wrote")
    env.add_argument("--format", choices=("export", "dotenv"), default="export",
                     help="export: `export NAME='value'` lines (default); dotenv: NAME=value "
                     "lines, as $GITHUB_ENV takes them")
    env.add_argument("--no-mint", action="store_true",
                     help="print only what the ready file holds (no Deriv token, no session)")
    env.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                     help="one more variable to print (repeatable), e.g. BOTFAKES_PID=123")

    commands.add_parser(
        "gramjs-preload", help="print the path of the GramJS preload (for NODE_OPTIONS=--require)",
        description="Prints the path of botfakes' GramJS preload: with it an unmodified GramJS bot "
        "trusts the MTProto fake's RSA key and dials the fake: BOTFAKES_MTPROTO_PORT=8443 "
        "NODE_OPTIONS=\"--require $(botfakes gramjs-preload)\" node bot.js",
    )
    commands.add_parser(
        "pyrogram-preload", help="print the folder of the Pyrogram preload (for PYTHONPATH)",
        description="Prints the folder of botfakes' Pyrogram/Kurigram preload (a sitecustomize): "
        "BOTFAKES_MTPROTO_PORT=8443 PYTHONPATH=\"$(botfakes pyrogram-preload)\" python bot.py",
    )
    return parser


def print_env(args: argparse.Namespace) -> int:
    from botfakes.testing.env import contract_from_ready, default_variables, export_lines

    try:
        info = json.loads(args.ready_file.read_text())
    except (OSError, ValueError) as exc:
        print(f"botfakes env: cannot read {args.ready_file}: {exc}", file=sys.stderr)
        return 2
    extra = {}
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep or not name:
            print(f"botfakes env: --set takes NAME=VALUE, got {item!r}", file=sys.stderr)
            return 2
        extra[name] = value
    contract = contract_from_ready(info, mint=not args.no_mint)
    variables = {**extra, "BOTFAKES_READY_FILE": str(args.ready_file.resolve()),
                 **default_variables(contract)}
    sys.stdout.write(export_lines(variables, args.format))
    return 0


def serve(args: argparse.Namespace) -> int:
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in registry.FAKES]
    if unknown:
        print(f"botfakes: unknown fake(s) {', '.join(unknown)}; known: "
              f"{', '.join(registry.names())}", file=sys.stderr)
        return 2
    runtime = FakesRuntime(
        names,
        host=args.host,
        ports={n: getattr(args, f"{n}_port") for n in names},
        control_port=args.control_port,
        options={n: registry.fake_class(n).options_from_args(args) for n in names},
        seed=args.seed,
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        runtime.start()
    except OSError as exc:
        print(f"botfakes: cannot listen: {exc}", file=sys.stderr)
        return 1
    try:
        info = runtime.info()
        if args.ready_file:
            # Written atomically so a watcher never reads half a file, and before the URLs are
            # printed so that whoever reads stdout may rely on the file being there.
            tmp = args.ready_file.with_name(args.ready_file.name + ".tmp")
            tmp.write_text(json.dumps(info, indent=2))
            os.replace(tmp, args.ready_file)
        for name, entry in info["fakes"].items():
            extras = "  ".join(f"{k}={v}" for k, v in entry.items() if k != "url")
            print(f"{name:<8} {entry['url']}  {extras}".rstrip())
        # Last line: "everything listens" for a reader of stdout.
        print(f"control  {info['control_url']}/_control/", flush=True)
        stop.wait()
    finally:
        runtime.stop()
    print("botfakes: stopped", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    if args.command == "run":
        return scenario_runner.run(args)
    if args.command == "env":
        return print_env(args)
    if args.command in ("gramjs-preload", "pyrogram-preload"):
        from botfakes.fakes.mtproto.preload import PYTHON_PRELOAD_DIR, gramjs_preload_path

        print(gramjs_preload_path() if args.command == "gramjs-preload" else PYTHON_PRELOAD_DIR)
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
