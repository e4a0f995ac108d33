"""``pipecore demo``: two nodes on loopback, a pipe between them made with SQL, the sync tool
guide's example data (seed 001 §7) written on the sender, and the SELECT of both sides
printed side by side.

The pipe's plugins are chosen in one place, `demo_pipe`: ``iotdb-source`` and
``iotdb-thrift-sink`` (to the receiver's RPC port) when the node has them, otherwise the
in-process stand-ins of `pipecore.testing.inprocess`. The output says which ran.
"""

from __future__ import annotations

import contextlib
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from ..parameters import mask_secrets
from ..server.node import Node
from ..sql import ResultTable
from ..sql.result import display_width
from ..testing import inprocess

__all__ = ["SEED_QUERY", "SEED_SCRIPT", "demo_pipe", "run_demo"]

#: Seed 001 §7, "Result Verification": executed on the sender.
SEED_SCRIPT = """\
CREATE DATABASE root.vehicle;
CREATE TIMESERIES root.vehicle.d0.s0 WITH DATATYPE=INT32, ENCODING=RLE;
CREATE TIMESERIES root.vehicle.d0.s1 WITH DATATYPE=TEXT, ENCODING=PLAIN;
CREATE TIMESERIES root.vehicle.d1.s2 WITH DATATYPE=FLOAT, ENCODING=RLE;
CREATE TIMESERIES root.vehicle.d1.s3 WITH DATATYPE=BOOLEAN, ENCODING=PLAIN;
insert into root.vehicle.d0(timestamp,s0) values(now(),10);
insert into root.vehicle.d0(timestamp,s0,s1) values(now(),12,'12');
insert into root.vehicle.d0(timestamp,s1) values(now(),'14');
insert into root.vehicle.d1(timestamp,s2) values(now(),16.0);
insert into root.vehicle.d1(timestamp,s2,s3) values(now(),18.0,true);
insert into root.vehicle.d1(timestamp,s3) values(now(),false);
flush;"""
#: "Execute SELECT statements, the same results can be found on sender and receiver."
SEED_QUERY = "select ** from root.vehicle"
RECEIVER = "receiver"


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _clause(kind: str, params: dict[str, str]) -> str:
    items = ", ".join(f"{_quote(k)}={_quote(v)}" for k, v in params.items())
    return f"WITH {kind} ({items})"


def demo_pipe(
    sender: Node, receiver_address: tuple[str, int], password: str | None = None
) -> tuple[str, str]:
    """The CREATE PIPE statement of the demo and a description of its route — the one place
    that decides which source and sink carry the data. `password`: the receiver's root
    password, for the sink's handshake."""
    registry = sender.registry
    host, port = receiver_address
    if registry.find("iotdb-source") is not None:
        source = {"source": "iotdb-source"}
    else:
        source = {"source": "in-process-source"}
    if registry.find("iotdb-thrift-sink") is not None:
        sink = {"sink": "iotdb-thrift-sink", "sink.node-urls": f"{host}:{port}"}
        if password is not None:
            sink["sink.password"] = password
        route = f"iotdb-thrift-sink over loopback to {host}:{port}"
    else:
        sink = {"sink": "in-process-sink", "sink.node": RECEIVER}
        route = "in-process-sink (the thrift sink is not installed)"
    sql = f"CREATE PIPE demo {_clause('SOURCE', source)} {_clause('SINK', sink)}"
    return sql, f"{source['source']} -> {route}"


def side_by_side(left: str, right: str, gap: int = 4) -> str:
    """Two blocks of text next to each other."""
    a, b = left.splitlines(), right.splitlines()
    width = max((display_width(line) for line in a), default=0)
    lines = []
    for i in range(max(len(a), len(b))):
        first = a[i] if i < len(a) else ""
        second = b[i] if i < len(b) else ""
        lines.append(first + " " * (width - display_width(first) + gap) + second)
    return "\n".join(line.rstrip() for line in lines)


@contextlib.contextmanager
def _nodes(base: Path, config: Any) -> Iterator[tuple[Node, Node]]:
    with contextlib.ExitStack() as stack:
        receiver = stack.enter_context(Node.open(base / "receiver", config, plugins=[inprocess]))
        inprocess.register_target(RECEIVER, receiver)
        stack.callback(inprocess.unregister_target, RECEIVER)
        sender = stack.enter_context(Node.open(base / "sender", config, plugins=[inprocess]))
        yield sender, receiver


def _wait_identical(sender: Node, receiver: Node, timeout: float) -> tuple[Any, Any, bool]:
    deadline = time.monotonic() + timeout
    while True:
        left, right = sender.run(SEED_QUERY), receiver.run(SEED_QUERY)
        lt, rt = left.table(), right.table()
        if lt.rows and lt.columns == rt.columns and lt.rows == rt.rows:
            return left, right, True
        if time.monotonic() > deadline:
            return left, right, False
        time.sleep(0.05)


def run_demo(
    data_dir: str | None = None,
    config: Any = None,
    *,
    timeout: float = 60.0,
    out: TextIO | None = None,
    say: Callable[[str], None] | None = None,
) -> int:
    """Run the demo; 0 when both sides answer the same rows, 1 otherwise."""
    import sys

    stream = out or sys.stdout
    echo = say or (lambda text: print(text, file=stream, flush=True))
    with contextlib.ExitStack() as stack:
        base = (
            Path(data_dir)
            if data_dir
            else Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pipecore-demo-")))
        )
        sender, receiver = stack.enter_context(_nodes(base, config))
        password = secrets.token_urlsafe(12)  # never the default root/root, even in a demo
        for node in (receiver, sender):
            node.users.set_password("root", password)
        receiver_address = receiver.serve("127.0.0.1", 0)
        sender_address = sender.serve("127.0.0.1", 0)
        echo(f"receiver node on {receiver_address[0]}:{receiver_address[1]} ({base / 'receiver'})")
        echo(f"sender node   on {sender_address[0]}:{sender_address[1]} ({base / 'sender'})")
        sql, route = demo_pipe(sender, receiver_address, password)
        echo(f"\nsender> {mask_secrets(sql)}")
        sender.execute(sql)
        echo(f"pipe demo: {route}\n")
        for result, statement in zip(
            sender.execute_script(SEED_SCRIPT), SEED_SCRIPT.splitlines(), strict=True
        ):
            echo(f"sender> {statement}")
            _ = result
        left, right, same = _wait_identical(sender, receiver, timeout)
        echo(f"\n{SEED_QUERY}\n")
        echo(side_by_side(_titled("sender", left.table()), _titled("receiver", right.table())))
        rows = len(left.table().rows)
        if same:
            echo(f"\nidentical: {rows} rows on both sides")
            return 0
        echo(
            f"\nNOT identical after {timeout:.0f} s: the receiver has {len(right.table().rows)}"
            f" of {rows} rows"
        )
        return 1


def _titled(title: str, table: ResultTable) -> str:
    return f"{title}:\n{table.render()}"
