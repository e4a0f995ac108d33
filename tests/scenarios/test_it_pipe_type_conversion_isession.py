"""IoTDB's IoTDBPipeTypeConversionISessionIT (pipe/it/dual/treemodel/manual): one device with
a series for every (source, target) pair of the ten data types (100 series), the sender's of
the source type and the receiver's of the target type; 100 rows written by each session write
call, sent as tablets (forced-log) or as TsFiles (history, file mode), read back on the
receiver converted as IoTDB's ValueConverter converts them.

The IT's oracle is ValueConverter itself; here it is pipecore's (`value_convert`, whose rules
tests/thrift/test_value_convert.py checks against a table of IoTDB's answers). As in the IT,
BOOLEAN cells are not compared (its validateResultSet has no BOOLEAN case).
"""

from __future__ import annotations

import datetime
import random
import string
import time

import numpy as np
import pytest
from iotdb.utils.IoTDBConstants import TSDataType as ClientType
from iotdb.utils.Tablet import Tablet
from iotdb_it import create_pipe

from pipecore.timeparse import format_datetime
from pipecore_storage.types import TSDataType as T
from pipecore_thrift_sink.value_convert import convert_values

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

SIZE = 100
TYPES = [
    T.STRING,
    T.TEXT,
    T.BLOB,
    T.TIMESTAMP,
    T.BOOLEAN,
    T.DATE,
    T.DOUBLE,
    T.FLOAT,
    T.INT32,
    T.INT64,
]
PAIRS = [(s, t) for s in TYPES for t in TYPES]
NAMES = [f"{s.name}2{t.name}" for s, t in PAIRS]
STRINGS = [
    "Hello",
    "Hello World!",
    "This is a test.",
    "IoTDB Hello World!!!!",
    "IoTDB is an excellent time series database!!!!!!!!!",
    "12345678910!!!!!!!!",
    "123456",
    "1234567.123213",
    "21232131.21",
    "enable =  true",
    "true",
    "false",
    "12345678910",
    "123231232132131233213123123123123123131312",
    "123231232132131233213123123123123123131312.212312321312312",
]


def _column(kind: T, rng: random.Random, now: int) -> np.ndarray:
    """createTestDataFor<Type> of the IT, in pipecore's numpy form."""
    if kind is T.BOOLEAN:
        return np.array([rng.random() < 0.5 for _ in range(SIZE)])
    if kind is T.INT32:
        return np.array([rng.randint(-(2**31), 2**31 - 1) for _ in range(SIZE)], np.int32)
    if kind is T.INT64:
        return np.array([rng.randint(-(2**63), 2**63 - 1) for _ in range(SIZE)], np.int64)
    if kind is T.FLOAT:
        return np.array([rng.random() for _ in range(SIZE)], np.float32)
    if kind is T.DOUBLE:
        return np.array([rng.random() for _ in range(SIZE)], np.float64)
    if kind is T.TIMESTAMP:
        return np.arange(now, now + SIZE, dtype=np.int64)
    if kind is T.DATE:
        days, (y, m, d) = [], (2023, 1, 1)
        for _ in range(SIZE):
            days.append(y * 10000 + m * 100 + d)
            d += 1
            if d > 28:
                d, m = 1, m + 1
                if m > 12:
                    m, y = 1, y + 1
        return np.array(days, np.int32)
    texts = [STRINGS[i % len(STRINGS)] for i in range(SIZE)]
    return np.array([t.encode() if kind is T.BLOB else t for t in texts], dtype=object)


def _client_value(kind: T, value):
    """A cell as the Python client takes it."""
    if kind is T.DATE:
        return datetime.date(int(value) // 10000, int(value) // 100 % 100, int(value) % 100)
    return value.item() if isinstance(value, np.generic) else value


def _java_string(kind: T, value) -> str:
    """generateTabletInsertStrRecordForTable: the text of a cell for insertStringRecords."""
    if kind is T.TIMESTAMP:
        return format_datetime(int(value), "UTC")
    if kind is T.DATE:
        return str(_client_value(kind, value))
    if kind is T.BLOB:
        return "X'" + value.hex() + "'"
    if kind is T.BOOLEAN:
        return "true" if value else "false"
    if kind in (T.FLOAT, T.DOUBLE):
        return convert_values(np.array([value]), kind, T.TEXT)[0]  # Java's String.valueOf
    return str(value)


def _expected_cell(target: T, value) -> str | None:
    """The receiver's cell as the IT compares it (None: BOOLEAN, not compared)."""
    if target is T.BOOLEAN:
        return None
    if target is T.DATE:
        return str(int(value))
    if target is T.BLOB:
        return bytes(value).hex()
    if target is T.FLOAT:
        return repr(float(np.float32(value)))
    if target is T.DOUBLE:
        return repr(float(value))
    return str(value.item() if isinstance(value, np.generic) else value)


def _actual_cell(target: T, field) -> str | None:
    if target is T.BOOLEAN:
        return None
    value = field.value
    if target is T.DATE:  # yyyymmdd (years beyond 9999 are valid dates, not Python dates)
        if isinstance(value, datetime.date):
            return str(value.year * 10000 + value.month * 100 + value.day)
        return str(int(value))
    if target is T.BLOB:
        return bytes(value).hex()
    if target is T.FLOAT:
        return repr(float(np.float32(value)))
    if target is T.DOUBLE:
        return repr(float(value))
    if isinstance(value, bytes):
        return value.decode()
    return str(value.item() if isinstance(value, np.generic) else value)


def _tablet(device: str, rng: random.Random) -> tuple[np.ndarray, list[np.ndarray]]:
    now = int(time.time() * 1000)
    columns = [_column(s, rng, now) for s, _ in PAIRS]
    return np.arange(now, now + SIZE, dtype=np.int64), columns


def _client_types() -> list:
    return [ClientType[s.name] for s, _ in PAIRS]


def _rows(columns: list[np.ndarray]) -> list[list]:
    return [
        [_client_value(s, c[i]) for (s, _), c in zip(PAIRS, columns, strict=True)]
        for i in range(SIZE)
    ]


def _insert_tablet(session, device, times, columns, aligned):
    tablet = Tablet(device, NAMES, _client_types(), _rows(columns), times.tolist())
    (session.insert_aligned_tablet if aligned else session.insert_tablet)(tablet)


def _insert_records(session, device, times, columns, aligned):
    insert = session.insert_aligned_records if aligned else session.insert_records
    insert(
        [device] * SIZE, times.tolist(), [NAMES] * SIZE, [_client_types()] * SIZE, _rows(columns)
    )


def _insert_record(session, device, times, columns, aligned):
    insert = session.insert_aligned_record if aligned else session.insert_record
    for t, row in zip(times.tolist(), _rows(columns), strict=True):
        insert(device, t, NAMES, _client_types(), row)


def _insert_string_records(session, device, times, columns, aligned):
    values = [
        [_java_string(s, c[i]) for (s, _), c in zip(PAIRS, columns, strict=True)]
        for i in range(SIZE)
    ]
    insert = (
        session.insert_aligned_string_records_of_one_device
        if aligned
        else session.insert_string_records_of_one_device
    )
    insert(device, times.tolist(), [NAMES] * SIZE, values)


WRITES = {
    "Tablet": _insert_tablet,
    "Record": _insert_record,
    "Records": _insert_records,
    "StringRecordsOfOneDevice": _insert_string_records,
}
# the IT's sixteen methods: (write, aligned, receiveByTsFile)
METHODS = [
    ("Tablet", False, False),
    ("Tablet", False, True),
    ("Tablet", True, False),
    ("Tablet", True, True),
    ("Records", False, True),
    ("Record", False, False),
    ("Record", False, True),
    ("Record", True, False),
    ("Record", True, True),
    ("Records", False, False),
    ("Records", True, False),
    ("Records", True, True),
    ("StringRecordsOfOneDevice", False, False),
    ("StringRecordsOfOneDevice", False, True),
    ("StringRecordsOfOneDevice", True, False),
    ("StringRecordsOfOneDevice", True, True),
]


def _method_id(write: str, aligned: bool, tsfile: bool) -> str:
    name = f"insert{'Aligned' if aligned else ''}{write}"
    return name + ("ReceiveByTsFile" if tsfile else "")


def _create_pipe(sender, receiver, diff: str, tsfile: bool) -> None:
    create_pipe(
        sender,
        f"test{diff}",
        source={
            "source": "iotdb-source",
            "source.path": "root.test.**",
            "realtime.mode": "file" if tsfile else "forced-log",
            "realtime.enable": str(not tsfile).lower(),
            "history.enable": str(tsfile).lower(),
        },
        processor={"processor": "do-nothing-processor"},
        sink={
            "node-urls": f"127.0.0.1:{receiver.port}",
            "batch.enable": "false",
            "sink.format": "tsfile" if tsfile else "tablet",
        },
    )


def _received(receiver, device: str) -> list[list[str | None]] | None:
    data = receiver.client().execute_query_statement(
        f"select {','.join(NAMES)} from {device} ORDER BY time ASC"
    )
    try:
        rows = []
        while data.has_next():
            record = data.next()
            fields = record.get_fields()
            if any(f is None or f.value is None for f in fields):
                return None
            rows.append(
                [record.get_timestamp()]
                + [_actual_cell(t, f) for (_, t), f in zip(PAIRS, fields, strict=True)]
            )
        return rows
    finally:
        data.close_operation_handle()


@pytest.mark.parametrize(
    ("write", "aligned", "tsfile"),
    [pytest.param(*m, id=_method_id(*m)) for m in METHODS],
)
def test_type_conversion(manual_env, write: str, aligned: bool, tsfile: bool) -> None:
    """insert{,Aligned}{Tablet,Record,Records,StringRecordsOfOneDevice}[ReceiveByTsFile]."""
    sender, receiver = manual_env
    rng = random.Random(f"{write}{aligned}{tsfile}")
    diff = "".join(rng.choice(string.ascii_letters) for _ in range(8))
    device = f"root.test.{diff}"
    for node, side in ((sender, 0), (receiver, 1)):
        node.execute(
            *(
                f"create timeseries {device}.{n} with datatype={p[side].name},encoding=PLAIN"
                for n, p in zip(NAMES, PAIRS, strict=True)
            )
        )
    times, columns = _tablet(device, rng)
    session = sender.client()
    if tsfile:
        WRITES[write](session, device, times, columns, aligned)
        _create_pipe(sender, receiver, diff, True)
        session.execute_non_query_statement("flush")
    else:
        _create_pipe(sender, receiver, diff, False)
        WRITES[write](session, device, times, columns, aligned)
        session.execute_non_query_statement("flush")

    expected = [
        [int(times[i])]
        + [
            _expected_cell(t, convert_values(c[i : i + 1], s, t)[0])
            for (s, t), c in zip(PAIRS, columns, strict=True)
        ]
        for i in range(SIZE)
    ]
    deadline = time.monotonic() + 30
    last = None
    while time.monotonic() < deadline:
        last = _received(receiver, device)
        if last is not None and len(last) == SIZE:
            break
        time.sleep(0.3)
    assert last is not None and len(last) == SIZE, (
        f"{len(last or [])} rows; log:\n{receiver.log()[-3000:]}"
    )
    for got, want in zip(last, expected, strict=True):
        for name, g, w in zip(["Time", *NAMES], got, want, strict=True):
            assert g == w, f"time {got[0]}, {name}: {g!r} != {w!r}"
