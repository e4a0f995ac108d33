"""A multi-row INSERT is ONE write — one sequence number, one pipe event — as IoTDB's insert
node is (issue 15 #2); and writing the rows as one tablet leaves the store exactly as
writing them one by one would (the law behind `Store.insert_rows`)."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from thrift_processes import Serve, start_all, wait_for

import pipecore
from pipecore_storage import Store


def _points(store: Store) -> set[tuple[str, int, object]]:
    result = store.query("root.**")
    out = set()
    for i, column in enumerate(result.columns):
        for t, v, null in zip(
            result.timestamps.tolist(),
            result.values[i].tolist(),
            result.null_masks[i].tolist(),
            strict=True,
        ):
            if not null:
                out.add((column, t, v))
    return out


def test_sql_insert_of_many_rows_is_one_event(tmp_path) -> None:
    with pipecore.Node.open(tmp_path / "n") as node:
        sub = node.store.subscribe("t")
        node.execute(
            "INSERT INTO root.sg.d(time, s1, s2) VALUES (3, 1, 'a'), (1, 2, null), (2, 3, 'c')"
        )
        events = sub.drain()
        assert len(events) == 1
        assert events[0].tablet.row_count == 3
        assert events[0].tablet.timestamps.tolist() == [1, 2, 3]  # sorted by time
        assert _points(node.store) == {
            ("root.sg.d.s1", 1, 2.0),
            ("root.sg.d.s1", 2, 3.0),
            ("root.sg.d.s1", 3, 1.0),
            ("root.sg.d.s2", 2, "c"),
            ("root.sg.d.s2", 3, "a"),
        }


_value = st.one_of(st.none(), st.integers(-5, 5), st.floats(-10, 10, allow_nan=False))
_row = st.fixed_dictionaries({}, optional={"s1": _value, "s2": _value, "s3": _value})


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), _row), min_size=1, max_size=12))
def test_rows_as_one_tablet_equal_rows_one_by_one(tmp_path_factory, rows) -> None:
    tmp = tmp_path_factory.mktemp("rows")
    with Store.open(tmp / "one") as one, Store.open(tmp / "each") as each:
        present = [(t, {m: v for m, v in r.items() if v is not None}) for t, r in rows]
        present = [(t, r) for t, r in present if r]
        one.insert_rows("root.sg.d", [t for t, _ in rows], [r for _, r in rows])
        for t, r in present:
            each.insert_record("root.sg.d", t, r)
        assert _points(one) == _points(each)


@pytest.mark.subprocess
@pytest.mark.slow
@pytest.mark.parametrize("mode", ["stream", "hybrid"])
def test_large_insert_reaches_the_receiver_at_once(tmp_path, mode) -> None:
    """20,000 rows in one INSERT took 26 s to reach the receiver in stream mode (one event per
    row); as one event they arrive within a few seconds."""
    a, b = start_all(Serve(tmp_path, "A"), Serve(tmp_path, "B"))
    try:
        a.sql(
            f"CREATE PIPE big WITH SOURCE ('realtime.mode'='{mode}') WITH SINK "
            f"('sink'='iotdb-thrift-sink', 'sink.node-urls'='{b.url}')"
        )
        rows = 20_000
        values = ",".join(f"({i},{i})" for i in range(1, rows + 1))
        a.sql(f"INSERT INTO root.big.d(time, s) VALUES {values}")
        started = time.monotonic()
        wait_for(lambda: b.count("root.big.**") == rows, 60, "20,000 rows at B", logs=(a, b))
        assert time.monotonic() - started < 10.0
    finally:
        a.stop()
        b.stop()
