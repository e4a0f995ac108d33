"""Rings and meshes of pipes with ``forwarding-pipe-requests=true`` (the default) never loop
(issue 15 #4): data carries its lineage — the clusters it passed through — and a node never
takes back data it already holds. Between real `pipecore serve` processes: a ring A→B→C→A
delivers each point once to each node, then goes quiet; a mesh too; a cascade still works."""

from __future__ import annotations

import time

import pytest
from thrift_processes import Serve, start_all, wait_for

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]


@pytest.fixture(scope="module")
def abc(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("ring")
    nodes = start_all(*(Serve(tmp, name) for name in "ABC"))
    yield nodes
    for node in nodes:
        node.stop()


def _received(node: Serve) -> int:
    """Points this node's receivers wrote for the senders connected now (SHOW PIPE
    RECEIVERS, pipecore's view: IoTDB's SHOW PIPES lists no pipeTransfer senders)."""
    return sum(int(row[7]) for row in node.rows("SHOW PIPE RECEIVERS"))


def _pipe(src: Serve, name: str, dst: Serve) -> None:
    """A pipe with forwarding on, of its test's database only (not the others' history)."""
    db = name.split("_")[0]
    src.sql(
        f"CREATE PIPE {name} WITH SOURCE ('source.forwarding-pipe-requests'='true', "
        f"'source.path'='root.{db}.**') "
        f"WITH SINK ('sink'='iotdb-thrift-sink', 'sink.node-urls'='{dst.url}')"
    )


def _quiet(nodes: tuple[Serve, ...], seconds: float = 3.0) -> list[int]:
    """What each node's receivers wrote, once it stopped changing for `seconds`."""
    last = [_received(n) for n in nodes]
    stable_since = time.monotonic()
    deadline = time.monotonic() + 60
    while time.monotonic() - stable_since < seconds:
        assert time.monotonic() < deadline, f"never quiet: {last}"
        time.sleep(0.3)
        now = [_received(n) for n in nodes]
        if now != last:
            last, stable_since = now, time.monotonic()
    return last


def test_ring_delivers_once_and_goes_quiet(abc) -> None:
    a, b, c = abc
    before = [_received(n) for n in abc]
    pipes = [(a, "ring_ab", b), (b, "ring_bc", c), (c, "ring_ca", a)]
    for src, name, dst in pipes:
        _pipe(src, name, dst)
    try:
        a.sql("insert into root.ring.a(time, s) values (1, 1), (2, 2), (3, 3)")
        b.sql("insert into root.ring.b(time, s) values (1, 10)")
        for node in abc:
            wait_for(lambda node=node: node.count("root.ring.**") == 4, 30, "4 points", abc)
        after = _quiet(abc)
        got = [x - y for x, y in zip(after, before, strict=True)]
        # each node wrote, as a receiver, exactly the points written elsewhere: once
        assert got == [1, 3, 4], got
        assert all(n.count("root.ring.**") == 4 for n in abc)
    finally:
        for src, name, _ in pipes:
            src.sql(f"DROP PIPE {name}")


def test_mesh_goes_quiet(abc) -> None:
    """A→B, A→C, B⇄C: B and C each write A's points twice (from A, and once through the
    other), then it goes quiet."""
    a, b, c = abc
    before = [_received(n) for n in abc]
    pipes = [(a, "mesh_ab", b), (a, "mesh_ac", c), (b, "mesh_bc", c), (c, "mesh_cb", b)]
    for src, name, dst in pipes:
        _pipe(src, name, dst)
    try:
        a.sql("insert into root.mesh.a(time, s) values (1, 1), (2, 2)")
        for node in (b, c):
            wait_for(lambda node=node: node.count("root.mesh.**") == 2, 30, "2 points", abc)
        after = _quiet(abc)
        got = [x - y for x, y in zip(after, before, strict=True)]
        assert got == [0, 4, 4], got  # from A, and A's once more by the other path
    finally:
        for src, name, _ in pipes:
            src.sql(f"DROP PIPE {name}")


def test_cascade_still_works(abc) -> None:
    a, b, c = abc
    pipes = [(a, "cas_ab", b), (b, "cas_bc", c)]
    for src, name, dst in pipes:
        _pipe(src, name, dst)
    try:
        a.sql("insert into root.cas.a(time, s) values (1, 1), (2, 2)")
        wait_for(lambda: c.count("root.cas.**") == 2, 30, "A's points at C", abc)
    finally:
        for src, name, _ in pipes:
            src.sql(f"DROP PIPE {name}")
