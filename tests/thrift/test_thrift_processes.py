"""Between real `pipecore serve` processes on loopback: seed 001 §7 through the thrift sink, and
seed 002's examples (full, historical range, bidirectional, cascade). Each runs with the async
(`iotdb-thrift-sink`) and the sync sink."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from thrift_processes import Serve, start_all, wait_for

from pipecore.cli.demo import SEED_SCRIPT  # seed 001 §7 (checked against the seed)

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

SINKS = ["iotdb-thrift-sink", "iotdb-thrift-sync-sink"]


def cli_sql(node: Serve, statements: str) -> str:
    """``pipecore sql -h 127.0.0.1 -p <port> -e "<statements>"`` — its output."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from pipecore.cli import main; sys.exit(main())",
            "sql",
            "-h",
            "127.0.0.1",
            "-p",
            str(node.port),
            "--zone",
            "+00:00",
            "-e",
            statements,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def table_lines(output: str) -> list[str]:
    """The bordered table of a query's output (without the timing line)."""
    return [line for line in output.splitlines() if line.startswith(("+", "|"))]


@pytest.fixture(scope="module")
def abc(tmp_path_factory: pytest.TempPathFactory):
    """Three serving nodes A, B, C shared by the tests of this module (each test uses its own
    databases and pipes, and drops its pipes at the end)."""
    tmp = tmp_path_factory.mktemp("nodes")
    made = start_all(*(Serve(tmp, name) for name in "ABC"))
    yield made
    for node in made:
        node.stop()


@pytest.fixture
def nodes(abc):
    """``nodes(n)``: the first n shared nodes; their pipes are dropped after the test."""
    used: list[Serve] = []

    def take(n: int) -> tuple[Serve, ...]:
        used.extend(abc[:n])
        return abc[:n]

    yield take
    for node in used:
        for row in node.rows("SHOW PIPES"):  # this node's own pipes only, as in IoTDB
            node.sql(f"DROP PIPE {row[0]}")


def pipe_created(node: Serve, statement: str) -> None:
    node.sql(statement)
    [row] = node.rows("SHOW PIPES")[-1:]
    assert row[2] == "RUNNING", f"{row[0]}: {row[2]}: {row[6]}"


def select_all(node: Serve, pattern: str = "root.**") -> list[tuple]:
    return node.rows(f"select ** from {pattern}")


@pytest.mark.parametrize("sink", SINKS)
def test_seed_001_result_verification(nodes, sink):
    """Seed 001 §7 between two processes, driven by ``pipecore sql -h -p -e``."""
    sender, receiver = nodes(2)
    create = f"CREATE PIPE p WITH SINK ('sink'='{sink}', 'sink.node-urls'='{receiver.url}');"
    cli_sql(sender, create + SEED_SCRIPT)
    wait_for(lambda: receiver.count("root.vehicle.**") == 8, 30, "the seed's 8 points")
    query = "select ** from root.vehicle"
    expected = table_lines(cli_sql(sender, query))
    assert len(expected) == 6 + 4  # the seed's six rows
    assert table_lines(cli_sql(receiver, query)) == expected
    # IoTDB 1.3/2.0 lists no pipeTransfer senders on the receiver; pipecore's own view does
    assert receiver.rows("SHOW PIPES") == []
    senders = receiver.rows("SHOW PIPE RECEIVERS")
    assert any(row[2] == "thrift" and "root.vehicle" in str(row[6]) for row in senders)
    sender.sql("DROP PIPE p")  # the other sink's run writes the same seed data again
    for node in (sender, receiver):
        node.sql("DELETE DATABASE root.vehicle")


def db(name: str, sink: str) -> str:
    """A database of one test and one sink (the nodes are shared)."""
    return f"root.{name}_{sink.removeprefix('iotdb-thrift-').replace('-', '_')}"


def write_rows(node: Serve, device: str, start: int, count: int, flush: bool = False) -> None:
    values = ", ".join(f"({t}, {t}, {t * 0.5}, '{t}')" for t in range(start, start + count))
    node.sql(f"insert into {device}(timestamp, a, b, c) values {values}")
    if flush:
        node.sql("flush")


@pytest.mark.parametrize("sink", SINKS)
def test_seed_002_full_synchronisation(nodes, sink):
    """``create pipe A2B with sink ('sink'='iotdb-thrift-sink', 'sink.ip', 'sink.port')``:
    history (sealed files and unsealed data) and realtime data all arrive."""
    a, b = nodes(2)
    full = db("full", sink)
    write_rows(a, f"{full}.d1", 0, 300, flush=True)  # history in a sealed TsFile
    write_rows(a, f"{full}.d2", 0, 100)  # history still in the memtable
    host, port = b.url.split(":")
    pipe_created(
        a,
        f"create pipe A2B with sink ('sink'='{sink}', 'sink.ip'='{host}', 'sink.port'='{port}')",
    )
    write_rows(a, f"{full}.d1", 300, 200)  # realtime
    write_rows(a, f"{full}.d3", 0, 50, flush=True)
    wait_for(lambda: b.count(f"{full}.**") == 650 * 3, 30, "all points on B")
    assert select_all(b, full) == select_all(a, full)


@pytest.mark.parametrize("sink", ["iotdb-thrift-async-sink", "iotdb-thrift-sync-sink"])
def test_seed_002_historical_range(nodes, sink):
    """History only, between two dates, batching off: exactly the rows in the range arrive."""
    a, b = nodes(2)
    hist = db("hist", sink)
    day = 24 * 3600 * 1000
    start = 1692777600000  # 2023-08-23T08:00:00+00:00
    end = 1698048000000  # 2023-10-23T08:00:00+00:00
    times = [start - day, start, start + day, end - 1, end, end + day]
    for t in times:
        a.sql(f"insert into {hist}.d1(timestamp, s1) values ({t}, {t % 1000 + 1})")
    a.sql("flush")
    pipe_created(
        a,
        "create pipe A2B WITH SOURCE ("
        "'source'= 'iotdb-source', "
        "'source.realtime.mode'='hybrid', "
        "'source.realtime.enable'='false', "
        "'source.history.start-time' = '2023.08.23T08:00:00+00:00', "
        "'source.history.end-time' = '2023.10.23T08:00:00+00:00', "
        f"'source.path' = '{hist}.**') "
        f"with SINK ('sink'='{sink}', 'sink.node-urls'='{b.url}', 'sink.batch.enable'='false')",
    )
    wait_for(lambda: b.count(f"{hist}.**") == 4, 30, "the 4 rows in the range", (a, b))
    a.sql(f"insert into {hist}.d1(timestamp, s1) values ({start + 2 * day}, 5)")  # realtime
    data = b.sql(f"select s1 from {hist}.d1").data
    assert list(data.timestamps) == [start, start + day, end - 1, end]


def received(node: Serve) -> int:
    """Points this node's receivers took in from the senders connected now (SHOW PIPE
    RECEIVERS, pipecore's view: IoTDB's SHOW PIPES lists no pipeTransfer senders)."""
    return sum(int(r[7]) for r in node.rows("SHOW PIPE RECEIVERS"))


@pytest.mark.parametrize("sink", SINKS)
def test_seed_002_bidirectional_without_loops(nodes, sink):
    a, b = nodes(2)
    for here, there, name in ((a, b, "AB"), (b, a, "BA")):
        pipe_created(
            here,
            f"create pipe {name} with source ('source.forwarding-pipe-requests' = 'false', "
            "'source.history.enable' = 'false') "
            f"with sink ('sink'='{sink}', 'sink.node-urls'='{there.url}')",
        )
    bi = db("bi", sink)
    before = {node.name: received(node) for node in (a, b)}
    write_rows(a, f"{bi}.from_a", 0, 100)
    write_rows(b, f"{bi}.from_b", 0, 80, flush=True)
    write_rows(a, f"{bi}.from_a", 100, 20, flush=True)
    for node in (a, b):
        wait_for(lambda node=node: node.count(f"{bi}.**") == (120 + 80) * 3, 30, "both")
    assert select_all(a, bi) == select_all(b, bi)
    time.sleep(1.0)  # a loop would keep sending the echoes back and forth
    assert received(b) - before["B"] == 120 * 3  # only A's own points came to B, once
    assert received(a) - before["A"] == 80 * 3
    # each node sends and receives: SHOW PIPES lists its own pipe only, as IoTDB 1.3/2.0 does
    assert [r[0] for r in a.rows("SHOW PIPES")] == ["AB"]
    assert [r[0] for r in b.rows("SHOW PIPES")] == ["BA"]


@pytest.mark.parametrize("sink", SINKS)
def test_seed_002_cascade(nodes, sink):
    a, b, c = nodes(3)
    pipe_created(
        a,
        f"create pipe AB with sink ('sink'='{sink}', 'sink.node-urls'='{b.url}')",
    )
    pipe_created(
        b,
        "create pipe BC with source ('source.forwarding-pipe-requests' = 'true') "
        f"with sink ('sink'='{sink}', 'sink.node-urls'='{c.url}')",
    )
    cas = db("cas", sink)
    write_rows(a, f"{cas}.d1", 0, 200, flush=True)
    write_rows(a, f"{cas}.d1", 200, 100)
    wait_for(lambda: c.count(f"{cas}.**") == 900, 30, "A's points on C")
    assert select_all(c, cas) == select_all(a, cas)
