"""IoTDB's IoTDBPipeReqAutoSliceIT (pipe/it/dual/treemodel/manual): with
`pipe_connector_request_slice_threshold_bytes` = 4 on both nodes every request goes as
slices (type 400), and 10 rows of random INT32 still arrive whole. Its own pair of nodes
(the setting is per node); schema auto-creation off. Only `insertTablet` runs in IoTDB; the
other methods are @Ignore there and skipped here with that reason."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from iotdb.utils.IoTDBConstants import TSDataType
from iotdb.utils.Tablet import Tablet
from iotdb_it import ItNode, wait_for_columns

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

ROWS = 10
MEASUREMENTS = ["temperature", "status"]
TYPES = [TSDataType.INT32, TSDataType.INT32]
DEVICE = "root.test.db"


@pytest.fixture(scope="module")
def slice_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ItNode, ItNode]]:
    tmp = tmp_path_factory.mktemp("it-slice")
    config = {"enable_auto_create_schema": False, "pipe_connector_request_slice_threshold_bytes": 4}
    nodes = (ItNode(tmp, "sender", config), ItNode(tmp, "receiver", config))
    for node in nodes:
        node.launch()
    try:
        for node in nodes:
            node.ready()
        yield nodes
    finally:
        for node in nodes:
            node.stop()


@pytest.fixture
def env(slice_env: tuple[ItNode, ItNode]) -> tuple[ItNode, ItNode]:
    for node in slice_env:
        node.drop_pipes()
    for node in slice_env:
        node.reset()
    return slice_env


def _rows() -> tuple[list[int], list[list[Any]]]:
    start = int(time.time() * 1000)
    times = [start + i for i in range(ROWS)]
    values = [[random.randint(-(2**31), 2**31 - 1) for _ in MEASUREMENTS] for _ in range(ROWS)]
    return times, values


def _tablet(s: Any, t: list[int], v: list[list[Any]]) -> None:
    s.insert_tablet(Tablet(DEVICE, MEASUREMENTS, TYPES, v, t))


def _aligned_tablet(s: Any, t: list[int], v: list[list[Any]]) -> None:
    s.insert_aligned_tablet(Tablet(DEVICE, MEASUREMENTS, TYPES, v, t))


def _records(s: Any, t: list[int], v: list[list[Any]]) -> None:
    s.insert_records([DEVICE] * ROWS, t, [MEASUREMENTS] * ROWS, [TYPES] * ROWS, v)


def _aligned_records(s: Any, t: list[int], v: list[list[Any]]) -> None:
    s.insert_aligned_records([DEVICE] * ROWS, t, [MEASUREMENTS] * ROWS, [TYPES] * ROWS, v)


def _record(s: Any, t: list[int], v: list[list[Any]]) -> None:
    for ts, row in zip(t, v, strict=True):
        s.insert_record(DEVICE, ts, MEASUREMENTS, TYPES, row)


def _aligned_record(s: Any, t: list[int], v: list[list[Any]]) -> None:
    for ts, row in zip(t, v, strict=True):
        s.insert_aligned_record(DEVICE, ts, MEASUREMENTS, TYPES, row)


def _strings(s: Any, t: list[int], v: list[list[Any]]) -> None:
    texts = [[str(x) for x in row] for row in v]
    s.insert_string_records_of_one_device(DEVICE, t, [MEASUREMENTS] * ROWS, texts)


def _aligned_strings(s: Any, t: list[int], v: list[list[Any]]) -> None:
    texts = [[str(x) for x in row] for row in v]
    s.insert_aligned_string_records_of_one_device(DEVICE, t, [MEASUREMENTS] * ROWS, texts)


Write = Callable[[Any, list[int], list[list[Any]]], None]
IGNORED = pytest.mark.skip(reason="@Ignore in IoTDB's IoTDBPipeReqAutoSliceIT")
CASES = [
    pytest.param(_tablet, False, id="insertTablet"),
    pytest.param(_tablet, True, id="insertTabletReceiveByTsFile", marks=IGNORED),
    pytest.param(_aligned_tablet, False, id="insertAlignedTablet", marks=IGNORED),
    pytest.param(_aligned_tablet, True, id="insertAlignedTabletReceiveByTsFile", marks=IGNORED),
    pytest.param(_records, True, id="insertRecordsReceiveByTsFile", marks=IGNORED),
    pytest.param(_record, False, id="insertRecord", marks=IGNORED),
    pytest.param(_record, True, id="insertRecordReceiveByTsFile", marks=IGNORED),
    pytest.param(_aligned_record, False, id="insertAlignedRecord", marks=IGNORED),
    pytest.param(_aligned_record, True, id="insertAlignedRecordReceiveByTsFile", marks=IGNORED),
    pytest.param(_records, False, id="insertRecords", marks=IGNORED),
    pytest.param(_aligned_records, False, id="insertAlignedRecords", marks=IGNORED),
    pytest.param(_aligned_records, True, id="insertAlignedRecordsReceiveByTsFile", marks=IGNORED),
    pytest.param(_strings, False, id="insertStringRecordsOfOneDevice", marks=IGNORED),
    pytest.param(_strings, True, id="insertStringRecordsOfOneDeviceReceiveByTsFile", marks=IGNORED),
    pytest.param(
        _aligned_strings, False, id="insertAlignedStringRecordsOfOneDevice", marks=IGNORED
    ),
    pytest.param(
        _aligned_strings,
        True,
        id="insertAlignedStringRecordsOfOneDeviceReceiveByTsFile",
        marks=IGNORED,
    ),
]


@pytest.mark.parametrize(("write", "by_tsfile"), CASES)
def test_req_auto_slice(env, write: Write, by_tsfile: bool) -> None:
    """prepareReqAutoSliceTest: the rows written (before the pipe, then flushed, when
    received as a TsFile; after it otherwise) arrive whole."""
    sender, receiver = env
    series = [
        "create timeseries root.test.db.status with datatype=INT32,encoding=PLAIN",
        "create timeseries root.test.db.temperature with datatype=INT32,encoding=PLAIN",
    ]
    sender.try_execute(*series)
    receiver.try_execute(*series)
    times, values = _rows()
    pipe = (
        "create pipe test with source ('source'='iotdb-source','source.path'='root.test.**') "
        "with sink ('sink'='iotdb-thrift-sync-sink',"
        f"'node-urls'='127.0.0.1:{receiver.port}','batch.enable'='false',"
        f"'sink.format'='{'tsfile' if by_tsfile else 'tablet'}')"
    )
    if by_tsfile:
        write(sender.client(), times, values)
        sender.execute("flush", pipe)
    else:
        sender.execute(pipe)
        write(sender.client(), times, values)
        sender.execute("flush")
    wait_for_columns(
        receiver,
        "select * from root.test.** ORDER BY time ASC",
        "Time,root.test.db.temperature,root.test.db.status,",
        {f"{t},{v[0]},{v[1]}," for t, v in zip(times, values, strict=True)},
        20,
    )
