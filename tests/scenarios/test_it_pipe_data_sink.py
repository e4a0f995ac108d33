"""IoTDB's IoTDBPipeDataSinkIT (pipe/it/autocreate): the thrift sink's formats and modes,
the legacy sink, and what the receiver auto-creates."""

from __future__ import annotations

import pytest
from iotdb_it import assert_data_eventually, create_pipe, thrift_sink

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

SHOW_TIMESERIES = (
    "Timeseries,Alias,Database,DataType,Encoding,Compression,Tags,Attributes,Deadband,"
    "DeadbandParameters,ViewType,"
)


def test_thrift_connector_with_realtime_first_disabled(auto_env) -> None:
    """testThriftConnectorWithRealtimeFirstDisabled."""
    sender, receiver = auto_env
    sender.try_execute("insert into root.vehicle.d0(time, s1) values (0, 1)", "flush")
    create_pipe(
        sender,
        "testPipe",
        source={"extractor.realtime.mode": "log"},
        sink=thrift_sink(
            receiver, {"connector.batch.enable": "false", "connector.realtime-first": "false"}
        ),
    )
    sender.try_execute("insert into root.vehicle.d0(time, s1) values (1, 1)", "flush")
    assert_data_eventually(
        receiver, "select * from root.**", "Time,root.vehicle.d0.s1,", ["0,1.0,", "1,1.0,"]
    )


@pytest.mark.parametrize("fmt", ["tablet", "tsfile"])
def test_sink_format(auto_env, fmt: str) -> None:
    """testSinkTabletFormat / testSinkTsFileFormat: the pipe dropped and made again."""
    sender, receiver = auto_env
    sender.try_execute("insert into root.vehicle.d0(time, s1) values (1, 1)", "flush")
    source = {"extractor.realtime.mode": "forced-log"}
    sink = thrift_sink(
        receiver,
        {
            "connector.batch.enable": "false",
            "connector.format": fmt,
            "connector.realtime-first": "false",
        },
    )
    create_pipe(sender, "testPipe", source=source, sink=sink)
    sender.try_execute("insert into root.vehicle.d0(time, s1) values (2, 1)", "flush")
    assert_data_eventually(
        receiver, "select * from root.**", "Time,root.vehicle.d0.s1,", ["1,1.0,", "2,1.0,"]
    )
    sender.execute("drop pipe testPipe")
    create_pipe(sender, "testPipe", source=source, sink=sink, start=False)
    sender.try_execute(
        "insert into root.vehicle.d0(time, s1) values (4, 1)",
        "insert into root.vehicle.d0(time, s1) values (3, 1), (0, 1)",
        "flush",
    )
    assert_data_eventually(
        receiver,
        "select * from root.**",
        "Time,root.vehicle.d0.s1,",
        [f"{t},1.0," for t in range(5)],
    )


def test_legacy_connector(auto_env) -> None:
    """testLegacyConnector: iotdb-legacy-pipe-sink into a receiver of today."""
    sender, receiver = auto_env
    create_pipe(
        sender,
        "testPipe",
        source={"source.realtime.mode": "log"},
        sink={
            "sink": "iotdb-legacy-pipe-sink",
            "sink.batch.enable": "false",
            "sink.ip": "127.0.0.1",
            "sink.port": str(receiver.port),
            "sink.version": "1.3",
        },
    )
    sender.try_execute("insert into root.vehicle.d0(time, s1) values (0, 1)", "flush")
    assert_data_eventually(
        receiver, "select * from root.**", "Time,root.vehicle.d0.s1,", ["0,1.0,"]
    )


@pytest.mark.parametrize(
    "source",
    [
        pytest.param({"source.realtime.mode": "forced-log"}, id="testReceiverAutoCreateByLog"),
        pytest.param({"source.realtime.mode": "batch"}, id="testReceiverAutoCreateByFile"),
        pytest.param(
            {"source.realtime.mode": "batch", "source.path": "root.ln.wf01.wt0*.*"},
            id="testReceiverAutoCreateWithPattern",
        ),
    ],
)
def test_receiver_auto_create(auto_env, source: dict[str, str]) -> None:
    """testReceiverAutoCreate: every data type; the receiver's own default encodings."""
    sender, receiver = auto_env
    create_pipe(
        sender,
        "testPipe",
        source=source,
        sink={
            "sink": "iotdb-thrift-sink",
            "sink.batch.enable": "false",
            "sink.ip": "127.0.0.1",
            "sink.port": str(receiver.port),
        },
        start=False,
    )
    sender.try_execute(
        "create timeSeries root.ln.wf01.wt01.boolean boolean",
        "create timeSeries root.ln.wf01.wt01.int32 int32",
        "create timeSeries root.ln.wf01.wt01.int64 int64",
        "create timeSeries root.ln.wf01.wt01.float float",
        "create timeSeries root.ln.wf01.wt01.double double",
        "create timeSeries root.ln.wf01.wt01.time_stamp timestamp",
        "create timeSeries root.ln.wf01.wt01.date date",
        "create timeSeries root.ln.wf01.wt01.text text",
        "create timeSeries root.ln.wf01.wt01.string string",
        "create timeSeries root.ln.wf01.wt01.blob blob",
        "create aligned timeSeries root.ln.wf01.wt02(int32 int32, boolean boolean)",
        "insert into root.ln.wf01.wt01(time, boolean, int32, int64, float, double, time_stamp, "
        "date, text, string, blob) values (20000, false, 123, 321, 13.3, 14.4, now(), "
        "'2000-12-13', 'abc', 'def', X'f103')",
        "insert into root.ln.wf01.wt02(time, int32, boolean) values (20000, 123, false)",
        "insert into root.ln.wf01.wt11(time, redundant_data) values (20000, -1)",
        "flush",
    )
    rows = [
        ("boolean", "BOOLEAN", "RLE"),
        ("int32", "INT32", "TS_2DIFF"),
        ("int64", "INT64", "TS_2DIFF"),
        ("float", "FLOAT", "GORILLA"),
        ("double", "DOUBLE", "GORILLA"),
        ("time_stamp", "TIMESTAMP", "TS_2DIFF"),
        ("date", "DATE", "TS_2DIFF"),
        ("text", "TEXT", "PLAIN"),
        ("string", "STRING", "PLAIN"),
        ("blob", "BLOB", "PLAIN"),
    ]
    assert_data_eventually(
        receiver,
        "show timeSeries root.ln.wf01.wt01.*",
        SHOW_TIMESERIES,
        [
            f"root.ln.wf01.wt01.{n},null,root.ln,{t},{e},LZ4,null,null,null,null,BASE,"
            for n, t, e in rows
        ],
    )
    assert_data_eventually(
        receiver,
        "show devices root.ln.wf01.wt02",
        "Device,IsAligned,Template,TTL(ms),",
        ["root.ln.wf01.wt02,true,null,INF,"],
    )


@pytest.mark.parametrize("strategy", ["sync", "async"])
def test_receiver_load_tsfile(auto_env, strategy: str) -> None:
    """testSyncLoadTsFile / testAsyncLoadTsFile: sink.load-tsfile-strategy."""
    sender, receiver = auto_env
    sender.try_execute("insert into root.vehicle.d0(time, s1) values (1, 1)", "flush")
    create_pipe(
        sender,
        "testPipe",
        source={"extractor.realtime.mode": "forced-log"},
        sink={
            "sink": "iotdb-thrift-sink",
            "sink.batch.enable": "false",
            "sink.ip": "127.0.0.1",
            "sink.port": str(receiver.port),
            "sink.load-tsfile-strategy": strategy,
        },
    )
    sender.try_execute("insert into root.vehicle.d0(time, s1) values (2, 1)", "flush")
    assert_data_eventually(
        receiver, "select * from root.**", "Time,root.vehicle.d0.s1,", ["1,1.0,", "2,1.0,"]
    )
