"""The ``pipecore`` command.

Subcommands are registered in `COMMANDS`: each is a name, a help line, a function that adds its
arguments to its sub-parser and a function that runs it (returning the exit code). To add one
(``serve``, ``sql``), write the two functions in your module and add a `Command` here — the
common options (``--data-dir``, ``--config``, ``-v``) are already on every sub-parser.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from collections.abc import Callable, Sequence

import attrs

from . import __version__

__all__ = ["COMMANDS", "Command", "build_parser", "main"]


@attrs.frozen
class Command:
    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


# ------------------------------------------------------------------------------------ demo
def _configure_demo(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--points", type=int, default=1_000_000, help="points to move")
    parser.add_argument("--devices", type=int, default=4, help="devices to spread them over")
    parser.add_argument("--measurements", type=int, default=2, help="series per device")
    parser.add_argument("--rows-per-tablet", type=int, default=5000, help="rows per event")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait")


def _run_demo(args: argparse.Namespace) -> int:
    """An in-process pipe: generated-source → do-nothing-processor → counting-sink."""
    from .node import Node
    from .testing import plugins, wait_until

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
    from .pipes import PipeInfo
    from .testing.plugins import Counts

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


COMMANDS: list[Command] = [
    Command("demo", "run an in-process pipe and print what moved", _configure_demo, _run_demo),
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
        child = sub.add_parser(command.name, help=command.help, parents=[common])
        command.configure(child)
        child.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from .errors import PipecoreError

    try:
        code: int = args.run(args)
    except PipecoreError as exc:
        print(f"pipecore {args.command}: {exc}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
