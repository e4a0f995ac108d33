"""The connector's parts that need no Flink: options, serialization, split planning."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pipecore_flink import (
    DefaultIoTSerializationSchema,
    Event,
    IoTDBSink,
    IoTDBSinkOptions,
    IoTDBSource,
    IoTDBSourceOptions,
    TimeseriesOption,
)
from pipecore_flink.serialization import as_serializer
from pipecore_flink.source import add_time_range, with_from


def test_default_schema_reads_the_seeds_map() -> None:
    record = {
        "device": "root.sg.d1",
        "timestamp": "17",
        "measurements": "s1,s2,s3",
        "types": "DOUBLE,INT32,TEXT",
        "values": "0.5,7,hello",
    }
    assert DefaultIoTSerializationSchema().serialize(record) == Event(
        "root.sg.d1", 17, ("s1", "s2", "s3"), ("DOUBLE", "INT32", "TEXT"), (0.5, 7, "hello")
    )


def test_default_schema_takes_lists_and_rejects_mismatches() -> None:
    schema = DefaultIoTSerializationSchema()
    event = schema.serialize(
        {
            "device": "root.a",
            "timestamp": 1,
            "measurements": ["b"],
            "types": ["BOOLEAN"],
            "values": ["true"],
        }
    )
    assert event is not None and event.values == (True,)
    with pytest.raises(ValueError, match="2 measurements, 2 types and 1 values"):
        schema.serialize(
            {
                "device": "root.a",
                "timestamp": 1,
                "measurements": "x,y",
                "types": "INT64,INT64",
                "values": "1",
            }
        )
    with pytest.raises(ValueError, match="without a device"):
        schema.serialize({"timestamp": 1, "measurements": "x", "types": "INT64", "values": "1"})


def test_own_schema_as_object_or_callable() -> None:
    class Mine:
        def serialize(self, n: int) -> Event:
            return Event("root.m", n, ("v",), ("INT64",), (n,))

    assert as_serializer(Mine())(3) == Event("root.m", 3, ("v",), ("INT64",), (3,))
    assert as_serializer(lambda n: None)(3) is None
    with pytest.raises(TypeError):
        as_serializer(42)  # type: ignore[arg-type]


def test_options_and_builder_validate() -> None:
    ts = TimeseriesOption("root.sg.d1.s1", "double", "gorilla", "snappy")
    assert (ts.data_type, ts.encoding, ts.compressor) == ("DOUBLE", "GORILLA", "SNAPPY")
    with pytest.raises(ValueError, match=r"starts with 'root\.'"):
        TimeseriesOption("sg.d1.s1")
    sink = IoTDBSink(IoTDBSinkOptions()).with_batch_size(1000).with_session_pool_size(3)
    assert (sink.batch_size, sink.session_pool_size) == (1000, 3)
    with pytest.raises(ValueError):
        sink.with_batch_size(0)
    with pytest.raises(ValueError):
        sink.with_session_pool_size(0)


def test_split_mode_follows_the_query() -> None:
    aligned = IoTDBSource(IoTDBSourceOptions(sql="select s1 from root.sg1.d1 align by device"))
    assert aligned.split_by == "device"
    assert IoTDBSource(IoTDBSourceOptions(sql="select * from root.sg.**")).split_by == "time"


def test_sql_rewriting() -> None:
    sql = "select s1 from root.sg.* where s1 > 3 limit 10 align by device"
    assert (
        with_from(sql, "root.sg.d2")
        == "select s1 from root.sg.d2 where s1 > 3 limit 10 align by device"
    )
    assert add_time_range(sql, 5, 9) == (
        "select s1 from root.sg.* where (s1 > 3) and time >= 5 and time < 9"
        " limit 10 align by device"
    )
    assert add_time_range("select * from root.a", None, 4) == "select * from root.a where time < 4"
    assert add_time_range("select * from root.a", None, None) == "select * from root.a"


_RANGE = re.compile(r"where (?:time >= (-?\d+))?(?: and )?(?:time < (-?\d+))?$")


@given(
    lo=st.integers(-(10**6), 10**6),
    width=st.integers(1, 10**6),
    splits=st.integers(2, 9),
    probes=st.lists(st.integers(-2 * 10**6, 3 * 10**6), min_size=1, max_size=30),
)
def test_time_splits_partition_all_time(lo: int, width: int, splits: int, probes: list[int]):
    """Every timestamp, inside the bounds or not, falls into exactly one split."""
    source = IoTDBSource(
        IoTDBSourceOptions(sql="select * from root.a"), split_by="time", splits=splits
    )

    class FakeSession:  # stands for the server's min_time/max_time answer only
        pass

    import pipecore_flink.source as src

    class Field:
        def __init__(self, v: int) -> None:
            self.v = v

        def get_data_type(self) -> str:
            return "INT64"

        def get_object_value(self, _t: str) -> int:
            return self.v

        def get_long_value(self) -> int:
            return self.v

    class Row:
        def get_fields(self) -> list:
            return [Field(lo), Field(lo + width - 1)]

    original = src._rows
    src._rows = lambda session, sql: iter([Row()])  # type: ignore[assignment]
    try:
        queries = source._time_splits(FakeSession())
    finally:
        src._rows = original  # type: ignore[assignment]
    ranges = []
    for q in queries:
        m = _RANGE.search(q)
        assert m, q
        ranges.append(
            (
                None if m.group(1) is None else int(m.group(1)),
                None if m.group(2) is None else int(m.group(2)),
            )
        )
    for t in probes:
        inside = [r for r in ranges if (r[0] is None or t >= r[0]) and (r[1] is None or t < r[1])]
        assert len(inside) == 1, (t, ranges)
