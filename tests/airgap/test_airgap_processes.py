"""Seed 002's air-gap example between two real `pipecore serve` processes on loopback: node A
runs the guide's CREATE PIPE (both spellings: ``sink.ip`` and bare ``ip``) pointed at node B's
air-gap receiver (``pipe_air_gap_receiver_enabled``); history and realtime data arrive, the
same on both sides."""

from __future__ import annotations

from pathlib import Path

import pytest
from gap_helpers import free_port
from gap_processes import Serve, point_at, seed_examples
from thrift_processes import start_all, wait_for

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]


def write(node: Serve, device: str, start: int, count: int) -> None:
    values = ", ".join(f"({t}, {t}, {t * 0.5}, 'v{t}')" for t in range(start, start + count))
    node.sql(f"insert into {device}(timestamp, a, b, c) values {values}")


def same(a: Serve, b: Serve, pattern: str, timeout: float = 60.0) -> None:
    expected = a.count(pattern)
    wait_for(lambda: b.count(pattern) == expected, timeout, "every point", (a, b))
    assert a.rows(f"select ** from {pattern}") == b.rows(f"select ** from {pattern}")


def test_seed_air_gap_example(tmp_path: Path):
    examples = seed_examples("iotdb-air-gap-sink")
    assert len(examples) >= 2, examples  # 'sink.ip'/'sink.port' and bare 'ip'/'port'
    gap_port = free_port()
    b, a = start_all(
        Serve(
            tmp_path,
            "B",
            {"pipe_air_gap_receiver_enabled": True, "pipe_air_gap_receiver_port": gap_port},
        ),
        Serve(tmp_path, "A"),
    )
    try:
        for i, example in enumerate(examples):
            database = f"root.gap{i}"
            write(a, f"{database}.history", 0, 300)
            a.sql("flush")  # a sealed file: sent in pieces over the gap
            a.sql(point_at(example, "127.0.0.1", gap_port))
            for j in range(5):
                write(a, f"{database}.realtime", j * 20, 20)
            same(a, b, f"{database}.**")
            # IoTDB lists no air-gap senders in SHOW PIPES; pipecore's own view does
            assert b.rows("SHOW PIPES") == []
            receivers = b.rows("SHOW PIPE RECEIVERS")
            assert any(r[2] == "air-gap" for r in receivers), receivers
            a.sql("drop pipe A2B")
        same(a, b, "root.**")
    finally:
        a.stop()
        b.stop()


def test_schema_over_the_air_gap(tmp_path: Path):
    """Issue 16: with ``source.inclusion=all`` the schema crosses the gap too — an empty
    database, a series without data with its alias, tags and encodings, an aligned device —
    and a realtime DELETE TIMESERIES."""
    gap_port = free_port()
    b, a = start_all(
        Serve(
            tmp_path,
            "B",
            {"pipe_air_gap_receiver_enabled": True, "pipe_air_gap_receiver_port": gap_port},
        ),
        Serve(tmp_path, "A"),
    )
    try:
        a.sql("CREATE DATABASE root.gs.empty")
        a.sql("CREATE DATABASE root.gs.db")
        a.sql(
            "CREATE TIMESERIES root.gs.db.d.s(alias) WITH DATATYPE=INT32, ENCODING=ZIGZAG, "
            "COMPRESSOR=GZIP TAGS(k=v)"
        )
        a.sql("CREATE ALIGNED TIMESERIES root.gs.db.al(x DOUBLE, y TEXT)")
        a.sql(
            "CREATE PIPE A2B WITH SOURCE ('source.inclusion'='all', 'source.path'='root.gs.**') "
            "WITH SINK ('sink'='iotdb-air-gap-sink', "
            f"'sink.node-urls'='127.0.0.1:{gap_port}')"
        )

        def schema(node: Serve) -> tuple:
            return (
                sorted(node.rows("SHOW TIMESERIES root.gs.**")),
                sorted(node.rows("SHOW DEVICES root.gs.**")),
                node.rows("COUNT DATABASES root.gs.**"),
            )

        want = schema(a)
        assert len(want[0]) == 3 and want[2] == [("2",)]
        wait_for(lambda: schema(b) == want, 60, "the schema on B", (a, b))
        a.sql("DELETE TIMESERIES root.gs.db.d.s")
        wait_for(lambda: len(schema(b)[0]) == 2, 60, "the deletion on B", (a, b))
        assert schema(b) == schema(a)
    finally:
        a.stop()
        b.stop()
