"""IoTDB's IoTDBPipeTypeConversionIT (pipe/it/dual/treemodel/manual): for each source type,
one series per target type (``root.test.<S>2<T>.status``, the sender's of type S, the
receiver's of type T), rows written by SQL and sent as tablets (forced-log): the receiver
holds them converted as IoTDB's ValueConverter converts them.

IoTDB marks the whole class @Ignore ("Currently this may lose some data because tsFile
conversion is banned, and historical transferred is not opened if history.enable = false");
pipecore runs it. The IT writes 100 random rows (+3 to 5 fixed ones) per series with one
INSERT each; here 20 random rows (+ the fixed ones) keep the folder fast — the rules do not
depend on the count. Expected cells come from pipecore's converter, as the IT's come from
ValueConverter (its rules are checked in tests/thrift/test_thrift_value_convert.py).
"""

from __future__ import annotations

import random
import time

import numpy as np
import pytest
from iotdb_it import assert_data_eventually, create_pipe

from pipecore.timeparse import format_datetime
from pipecore_storage.types import TSDataType as T
from pipecore_thrift_sink.value_convert import convert_values

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

SIZE = 20  # the IT's generateDataSize is 100 (see the module docstring)
TEXTS = [
    "Hello",
    "Hello World!",
    "This is a test.",
    "IoTDB Hello World!!!!",
    "IoTDB is an excellent time series database!!!!!!!!!",
]
ALL = [
    T.BOOLEAN,
    T.INT32,
    T.INT64,
    T.FLOAT,
    T.DOUBLE,
    T.TEXT,
    T.TIMESTAMP,
    T.BLOB,
    T.STRING,
    T.DATE,
]
# the IT's methods: source → its targets, in the IT's order
METHODS = {
    T.BOOLEAN: [T.INT32, T.INT64, T.FLOAT, T.DOUBLE, T.TEXT, T.TIMESTAMP, T.BLOB, T.STRING, T.DATE],
    T.INT32: [T.BOOLEAN, T.INT64, T.FLOAT, T.DOUBLE, T.TEXT, T.TIMESTAMP, T.BLOB, T.STRING, T.DATE],
    T.INT64: [T.BOOLEAN, T.INT32, T.FLOAT, T.DOUBLE, T.TEXT, T.TIMESTAMP, T.BLOB, T.STRING, T.DATE],
    T.FLOAT: [T.BOOLEAN, T.INT32, T.INT64, T.DOUBLE, T.TEXT, T.TIMESTAMP, T.BLOB, T.STRING, T.DATE],
    T.DOUBLE: [T.BOOLEAN, T.INT32, T.INT64, T.FLOAT, T.TEXT, T.TIMESTAMP, T.BLOB, T.STRING, T.DATE],
    T.TEXT: [T.BLOB, T.STRING, T.BOOLEAN, T.INT32, T.INT64, T.FLOAT, T.DOUBLE, T.TIMESTAMP, T.DATE],
    T.TIMESTAMP: [T.BOOLEAN, T.INT32, T.INT64, T.FLOAT, T.DOUBLE, T.TEXT, T.BLOB, T.STRING, T.DATE],
    T.DATE: [T.BOOLEAN, T.INT32, T.INT64, T.FLOAT, T.DOUBLE, T.TEXT, T.STRING, T.TIMESTAMP],
    T.BLOB: [T.TEXT, T.STRING, T.BOOLEAN, T.INT32, T.INT64, T.FLOAT, T.DOUBLE, T.TIMESTAMP, T.DATE],
    T.STRING: [T.TEXT, T.BLOB, T.BOOLEAN, T.INT32, T.INT64, T.FLOAT, T.DOUBLE, T.TIMESTAMP],
}
NAMES = {
    T.BOOLEAN: "Boolean",
    T.INT32: "Int32",
    T.INT64: "Int64",
    T.FLOAT: "Float",
    T.DOUBLE: "Double",
    T.TEXT: "Text",
    T.TIMESTAMP: "Timestamp",
    T.DATE: "Date",
    T.BLOB: "Blob",
    T.STRING: "String",
}


def _data(kind: T, rng: random.Random) -> tuple[list[int], np.ndarray]:
    """createTestDataFor<Type>: (times, values)."""
    times = list(range(SIZE))
    if kind is T.BOOLEAN:
        return times, np.array([rng.random() < 0.5 for _ in times])
    if kind in (T.INT32, T.INT64):
        bits = 31 if kind is T.INT32 else 63
        values = [rng.randint(-(2**bits), 2**bits - 1) for _ in times] + [-1, -2, -3]
        return [*times, SIZE + 1, SIZE + 2, SIZE + 3], np.array(values, kind.numpy_dtype)
    if kind in (T.FLOAT, T.DOUBLE):
        return times, np.array([rng.random() for _ in times], kind.numpy_dtype)
    if kind is T.TIMESTAMP:
        now = int(time.time() * 1000)
        return times, np.array([now + i for i in times], np.int64)
    if kind is T.DATE:
        days, (y, m, d) = [], (2023, 1, 1)
        for _ in times:
            days.append(y * 10000 + m * 100 + d)
            d += 1
            if d > 28:
                d, m = 1, m + 1
        return times, np.array(days, np.int32)
    texts = [str(i) for i in times] + TEXTS
    column = np.empty(len(texts), dtype=object)
    column[:] = [t.encode() if kind is T.BLOB else t for t in texts]
    return times + [SIZE + i for i in range(1, len(TEXTS) + 1)], column


def _sql_value(kind: T, value) -> str:
    if kind in (T.TEXT, T.STRING):
        return f"'{value}'"
    if kind is T.BLOB:
        return f"X'{value.hex()}'"
    if kind is T.DATE:
        return f"'{value // 10000:04d}-{value // 100 % 100:02d}-{value % 100:02d}'"
    return str(convert_values(np.array([value]), kind, T.TEXT)[0])  # Java's toString


def _cell(kind: T, value) -> str:
    """The receiver's cell as JDBC's getString shows it (the IT's expected sets)."""
    if kind is T.TIMESTAMP:
        return format_datetime(int(value), "UTC")
    if kind is T.BLOB:
        return "0x" + bytes(value).hex()
    if kind in (T.TEXT, T.STRING):
        return str(value)
    if kind is T.DATE:  # LocalDate.toString (DATE → TEXT converts to the yyyymmdd int)
        value = int(value)
        year = f"+{value // 10000}" if value // 10000 > 9999 else f"{value // 10000:04d}"
        return f"{year}-{value // 100 % 100:02d}-{value % 100:02d}"
    return str(convert_values(np.array([value], kind.numpy_dtype), kind, T.TEXT)[0])


@pytest.mark.parametrize(
    "source", list(METHODS), ids=lambda s: f"test{NAMES[s]}ToOtherTypeConversion"
)
def test_type_conversion(manual_env, source: T) -> None:
    sender, receiver = manual_env
    create_pipe(
        sender,
        "test",
        source={
            "source": "iotdb-source",
            "source.path": "root.test.**",
            "realtime.mode": "forced-log",
            "realtime.enable": "true",
            "history.enable": "false",
        },
        processor={"processor": "do-nothing-processor"},
        sink={
            "node-urls": f"127.0.0.1:{receiver.port}",
            "batch.enable": "false",
            "sink.format": "tablet",
        },
    )
    rng = random.Random(source.name)
    for target in METHODS[source]:
        device = f"root.test.{source.name}2{target.name}"
        sender.try_execute(
            f"create timeseries {device}.status with datatype={source.name},encoding=PLAIN"
        )
        receiver.try_execute(
            f"create timeseries {device}.status with datatype={target.name},encoding=PLAIN"
        )
        times, values = _data(source, rng)
        sender.try_execute(
            *(
                f"insert into {device}(timestamp,status) values ({t},{_sql_value(source, v)});"
                for t, v in zip(times, values.tolist(), strict=True)
            ),
            "flush",
        )
        converted = convert_values(values, source, target)
        assert_data_eventually(
            receiver,
            f"select status from {device}",
            f"Time,{device}.status,",
            [f"{t},{_cell(target, v)}," for t, v in zip(times, converted, strict=True)],
        )
