"""Client writes flow into pipes exactly like SQL writes: a pipe with a collecting sink on a
node serving the official client over loopback; one test per insert call. An insertTablet of
N rows arrives as one tablet event."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from iotdb.Session import Session
from iotdb.utils.IoTDBConstants import TSDataType
from iotdb.utils.Tablet import Tablet

from pipecore import Node
from pipecore.testing import inprocess
from pipecore.testing import plugins as testing_plugins

FAST = {"pipe_heartbeat_interval_seconds_for_collecting_pipe_meta": 0.02}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Node, Session, str]]:
    with Node.open(tmp_path / "node", FAST, plugins=[testing_plugins, inprocess]) as node:
        host, port = node.serve("127.0.0.1", 0)
        collector = f"clients-{tmp_path.name}"
        testing_plugins.reset(collector)
        node.execute(
            "create pipe p with source ('source'='iotdb-source') with sink "
            f"('sink'='collecting-sink', 'sink.collector'='{collector}')"
        )
        session = Session(host, port)
        session.open(False)
        try:
            yield node, session, collector
        finally:
            session.close()
            testing_plugins.reset(collector)


def _events(collector: str, count: int, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    tablets = testing_plugins.collected(collector)
    while len(tablets) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)  # nothing more may come
    return [(t.device, t.measurements, t.aligned, [r for r in t.iter_rows()]) for t in tablets]


def test_insert_tablet_is_one_tablet_event(served):
    _, session, collector = served
    rows = [[i, float(i)] for i in range(500)]
    session.insert_tablet(
        Tablet(
            "root.p.d", ["a", "b"], [TSDataType.INT32, TSDataType.DOUBLE], rows, list(range(500))
        )
    )
    (event,) = _events(collector, 1)
    assert event[:3] == ("root.p.d", ["a", "b"], False)
    assert event[3] == [(i, [i, float(i)]) for i in range(500)]


def test_insert_tablets_aligned(served):
    _, session, collector = served
    tablets = [
        Tablet(f"root.p.d{k}", ["a"], [TSDataType.TEXT], [["x"], [None]], [1, 2]) for k in range(2)
    ]
    session.insert_aligned_tablets(tablets)
    events = _events(collector, 2)
    assert [(e[0], e[2], e[3]) for e in events] == [
        ("root.p.d0", True, [(1, ["x"]), (2, [None])]),
        ("root.p.d1", True, [(1, ["x"]), (2, [None])]),
    ]


def test_insert_record_and_records(served):
    _, session, collector = served
    session.insert_record(
        "root.p.r", 5, ["a", "b"], [TSDataType.INT64, TSDataType.BOOLEAN], [7, True]
    )
    session.insert_records(
        ["root.p.r", "root.p.q"],
        [6, 7],
        [["a"], ["c"]],
        [[TSDataType.INT64], [TSDataType.FLOAT]],
        [[8], [1.5]],
    )
    assert [(e[0], e[3]) for e in _events(collector, 3)] == [
        ("root.p.r", [(5, [7, True])]),
        ("root.p.r", [(6, [8])]),
        ("root.p.q", [(7, [1.5])]),
    ]


def test_string_records_and_records_of_one_device(served):
    _, session, collector = served
    session.insert_str_record("root.p.s", 1, ["v"], ["12.5"])
    session.insert_string_records_of_one_device("root.p.s", [2, 3], [["v"], ["v"]], [["1"], ["2"]])
    session.insert_records_of_one_device("root.p.s", [4], [["v"]], [[TSDataType.DOUBLE]], [[4.0]])
    assert [e[3] for e in _events(collector, 4)] == [
        [(1, [12.5])],
        [(2, [1.0])],
        [(3, [2.0])],
        [(4, [4.0])],
    ]


def test_client_and_sql_writes_give_the_same_events(served):
    node, session, collector = served
    session.insert_aligned_record("root.p.x", 1, ["a"], [TSDataType.INT32], [1])
    node.execute("insert into root.p.x(time, a) values(2, 2)")  # no ALIGNED: the device's
    events = _events(collector, 2)
    assert [(e[0], e[1], e[2], e[3]) for e in events] == [
        ("root.p.x", ["a"], True, [(1, [1])]),
        ("root.p.x", ["a"], True, [(2, [2])]),
    ]
