"""The ``pipecore`` command: ``serve``, ``sql`` and ``demo``.

Subcommands are registered in `COMMANDS`: each is a name, a help line, a function that adds its
arguments to its sub-parser and a function that runs it (returning the exit code). The common
options (``--data-dir``, ``--config``, ``-v``) are on every sub-parser.

* ``pipecore serve --data-dir DIR [--config FILE] [--rpc-port N] [--rpc-address A]`` — a node
  in the foreground; prints ``pipecore serving on HOST:PORT`` once it listens (port 0 picks a
  free one), logs to standard error, stops cleanly on SIGTERM or SIGINT.
* ``pipecore sql`` — statements against an embedded node (``--data-dir``) or a server
  (``-h HOST -p PORT [-u USER -pw PASSWORD] [--ssl [--trust-store F [--trust-store-pwd P]]]``,
  default 127.0.0.1:6667), from ``-e``, ``-f``,
  standard input or the interactive prompt (`pipecore.cli.shell`). Exit code 1 on an error.
* ``pipecore pipes [--url URL] [--watch]`` — a serving node's pipes with throughput, backlog
  and lag, read from its metrics endpoint (`pipecore.cli.watch`); ``--watch`` refreshes in place.
* ``pipecore demo`` — two nodes, a pipe between them and the sync tool guide's example data
  (`pipecore.cli.demo`); ``--points N`` runs the in-process throughput demo instead.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from .. import __version__
from .users import configure_users_command, run_users_command

__all__ = ["COMMANDS", "Command", "build_parser", "main"]


@attrs.frozen
class Command:
    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    log_level: int = logging.WARNING  # with no -v
    add_help: bool = True


# ------------------------------------------------------------------------------------ demo
def _configure_demo(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait")
    group = parser.add_argument_group(
        "throughput demo", "with --points: one in-process pipe of generated points instead"
    )
    group.add_argument("--points", type=int, default=None, help="points to move")
    group.add_argument("--devices", type=int, default=4, help="devices to spread them over")
    group.add_argument("--measurements", type=int, default=2, help="series per device")
    group.add_argument("--rows-per-tablet", type=int, default=5000, help="rows per event")


def _run_demo(args: argparse.Namespace) -> int:
    """Two nodes and a pipe (pipecore.cli.demo), or with --points the throughput demo."""
    if args.points is None:
        from .demo import run_demo

        return run_demo(args.data_dir, args.config, timeout=args.timeout)
    return _run_throughput_demo(args)


def _run_throughput_demo(args: argparse.Namespace) -> int:
    """An in-process pipe: generated-source → do-nothing-processor → counting-sink."""
    from ..server.node import Node
    from ..testing import plugins, wait_until

    if args.points % args.measurements:
        print("pipecore demo: --points must be a multiple of --measurements", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="pipecore-demo-") as tmp:
        data_dir = args.data_dir or tmp
        with Node.open(data_dir, args.config, plugins=[plugins]) as node:
            plugins.reset("demo")
            started = time.perf_counter()
            node.create_pipe(
                "demo",
                source={
                    "source": "generated-source",
                    "source.points": str(args.points),
                    "source.devices": str(args.devices),
                    "source.measurements": str(args.measurements),
                    "source.rows-per-tablet": str(args.rows_per_tablet),
                },
                processor={"processor": "do-nothing-processor"},
                sink={"sink": "counting-sink", "sink.counter": "demo"},
            )
            counts = plugins.counts("demo")
            try:
                wait_until(lambda: counts.points >= args.points, args.timeout)
            except TimeoutError:
                print(
                    f"pipecore demo: only {counts.points} of {args.points} points arrived",
                    file=sys.stderr,
                )
                return 1
            elapsed = time.perf_counter() - started
            info = node.get_pipe("demo")
            _print_demo(info, counts, args, elapsed)
    return 0


def _print_demo(info: object, counts: object, args: argparse.Namespace, elapsed: float) -> None:
    from ..pipes import PipeInfo
    from ..testing.plugins import Counts

    assert isinstance(info, PipeInfo) and isinstance(counts, Counts)
    print(f"pipe {info.name}: {info.state}")
    print(f"  source    {info.source}")
    print(f"  processor {info.processor}")
    print(f"  sink      {info.sink}")
    print(
        f"moved {counts.points:,} points ({counts.rows:,} rows of {args.devices} devices × "
        f"{args.measurements} series) in {counts.tablets:,} tablet events, "
        f"{elapsed:.3f} s — {counts.points / elapsed:,.0f} points/s"
    )
    expected = args.points
    verdict = "every point accounted for" if counts.points == expected else "POINTS MISSING"
    print(f"sent {expected:,}, received {counts.points:,}: {verdict}")


# ------------------------------------------------------------------------------------ serve
def _configure_serve(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rpc-port", type=int, help="RPC port (default dn_rpc_port; 0: free)")
    parser.add_argument("--rpc-address", help="address to bind (default dn_rpc_address)")


def _run_serve(args: argparse.Namespace) -> int:
    from ..errors import PipeError
    from ..server.node import Node

    if not args.data_dir:
        print("pipecore serve: give the node's data directory with --data-dir", file=sys.stderr)
        return 2
    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        with Node.open(args.data_dir, args.config) as node:
            try:
                host, port = node.serve(args.rpc_address, args.rpc_port)
            except PipeError as exc:
                print(f"pipecore serve: {exc}", file=sys.stderr)
                return 2
            print(f"pipecore serving on {host}:{port} (data directory {node.data_dir})", flush=True)
            from ..server.metrics_http import metrics_endpoint

            endpoint = metrics_endpoint(node)
            if endpoint is not None:
                print(f"pipecore metrics on {endpoint.url}/metrics", flush=True)
            while not stop.wait(0.5):
                pass
            logging.getLogger("pipecore").info("stopping (signal received)")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("pipecore stopped", flush=True)
    return 0


# ------------------------------------------------------------------------------------ sql
def _configure_sql(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--help", action="help", help="show this help message and exit")
    parser.add_argument("-h", "--host", help="server address (default 127.0.0.1)")
    parser.add_argument("-p", "--port", type=int, help="server RPC port (default 6667)")
    parser.add_argument("-u", "--user", default="root", help="user (default root)")
    parser.add_argument("-pw", "--password", default="root", help="password (default root)")
    parser.add_argument("-e", "--execute", help="run these statements and exit")
    parser.add_argument("-f", "--file", help="run the statements of this file and exit")
    parser.add_argument("--zone", help="time zone of datetimes (default: this machine's)")
    tls = parser.add_argument_group("TLS", "for a server with enable_thrift_ssl = true")
    tls.add_argument("--ssl", action="store_true", help="connect over TLS")
    tls.add_argument(
        "-usessl",
        "--use_ssl",
        dest="use_ssl",
        choices=["true", "false"],
        help="IoTDB's spelling of --ssl (true/false)",
    )
    tls.add_argument(
        "--trust-store",
        "-ts",
        "--trust_store",
        dest="trust_store",
        help="CA certificates the server's must chain to: PEM, PKCS#12 or a folder "
        "(default: the system's CAs)",
    )
    tls.add_argument(
        "--trust-store-pwd",
        "-tpw",
        "--trust_store_pwd",
        dest="trust_store_pwd",
        help="password of a PKCS#12 trust store",
    )
    tls.add_argument("--key-store", help="our certificate and key, for mutual TLS")
    tls.add_argument("--key-store-pwd", help="password of the key store")


def _wants_ssl(args: argparse.Namespace) -> bool:
    """--ssl, -usessl true, or a trust/key store given (unless -usessl false)."""
    if args.use_ssl is not None:
        return bool(args.use_ssl == "true")
    return bool(args.ssl or args.trust_store or args.key_store)


def _ssl_context(args: argparse.Namespace) -> Any:
    """The client TLS context the options ask for, or None (plain TCP)."""
    if not _wants_ssl(args):
        return None
    from ..rpc import tls

    try:
        return tls.client_context(
            args.trust_store,
            args.trust_store_pwd,
            key_store_path=args.key_store,
            key_store_pwd=args.key_store_pwd,
        )
    except tls.KeyStoreError as exc:
        raise ValueError(
            f"{'--key-store' if exc.path == args.key_store else '--trust-store'} {exc}"
        ) from None


def _sql_target(args: argparse.Namespace) -> Any:
    from .shell import EmbeddedTarget, RemoteTarget

    if args.data_dir:
        if args.host or args.port:
            raise ValueError("give either --data-dir (embedded node) or -h/-p (a server)")
        if _wants_ssl(args):
            raise ValueError("--ssl connects to a server (-h/-p), not to --data-dir")
        from ..errors import PipeError
        from ..server.node import Node

        try:
            node = Node.open(args.data_dir, args.config)
        except PipeError as exc:
            raise PipeError(f"{exc}; a served node is reached with -h HOST -p PORT") from exc
        return EmbeddedTarget(node, args.zone)
    from .remote import RemoteSession

    session = RemoteSession(
        args.host or "127.0.0.1",
        args.port or 6667,
        args.user,
        args.password,
        zone=args.zone,
        ssl_context=_ssl_context(args),
    )
    return RemoteTarget(session.open())


def _run_sql(args: argparse.Namespace) -> int:
    from .shell import repl, run_script

    try:
        target = _sql_target(args)
    except ValueError as exc:
        print(f"pipecore sql: {exc}", file=sys.stderr)
        return 2
    try:
        if args.execute is not None or args.file is not None:
            text = args.execute if args.execute is not None else _read(args.file)
            return 0 if run_script(target, text, args.zone) else 1
        if not sys.stdin.isatty():
            return 0 if run_script(target, sys.stdin.read(), args.zone) else 1
        where = args.data_dir or f"{args.host or '127.0.0.1'}:{args.port or 6667}"
        return repl(target, args.zone, banner=f"pipecore {__version__} SQL on {where}")
    finally:
        target.close()


# ------------------------------------------------------------------------------------ pipes
def _configure_pipes(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        default="http://127.0.0.1:9091",
        help="the node's metrics endpoint (metric_reporter_list = PROMETHEUS; default "
        "http://127.0.0.1:9091)",
    )
    parser.add_argument("--watch", action="store_true", help="refresh the table in place")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between refreshes")
    parser.add_argument("--count", type=int, help="with --watch: stop after this many refreshes")


def _run_pipes(args: argparse.Namespace) -> int:
    """The pipes of a serving node with throughput and lag (`pipecore.cli.watch`)."""
    from .watch import show_once, watch

    try:
        if args.watch:
            return watch(args.url, interval=args.interval, count=args.count)
        return show_once(args.url, interval=min(args.interval, 1.0))
    except OSError as exc:
        print(
            f"pipecore pipes: cannot read {args.url}/metrics ({exc}); is the node serving "
            "with metric_reporter_list = PROMETHEUS?",
            file=sys.stderr,
        )
        return 1


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


COMMANDS: list[Command] = [
    Command(
        "users",
        "manage who may log in to a node and send to its receivers",
        configure_users_command,
        run_users_command,
    ),
    Command("serve", "run a node in the foreground", _configure_serve, _run_serve, logging.INFO),
    Command(
        "sql",
        "run SQL against a node (a prompt, -e or -f)",
        _configure_sql,
        _run_sql,
        add_help=False,
    ),
    Command(
        "pipes",
        "a serving node's pipes with throughput and lag (--watch: live)",
        _configure_pipes,
        _run_pipes,
    ),
    Command(
        "demo", "two nodes, a pipe between them, the same rows on both", _configure_demo, _run_demo
    ),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pipecore", description="Data-sync pipes for time series in the model of IoTDB."
    )
    parser.add_argument("--version", action="version", version=f"pipecore {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", help="the node's data directory")
    common.add_argument("--config", help="a TOML file with IoTDB-style keys")
    common.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        child = sub.add_parser(
            command.name, help=command.help, parents=[common], add_help=command.add_help
        )
        command.configure(child)
        child.set_defaults(run=command.run, log_level=command.log_level)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = max(logging.DEBUG, args.log_level - 10 * args.verbose)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from ..errors import PipecoreError

    try:
        code: int = args.run(args)
    except (PipecoreError, OSError) as exc:
        print(f"pipecore {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
