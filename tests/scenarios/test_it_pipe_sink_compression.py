"""IoTDB's IoTDBPipeSinkCompressionIT (pipe/it/dual/treemodel/auto/enhanced; the 2.0 line's
autocreate IoTDBPipeConnectorCompressionIT has the same methods) and 1.3's
IoTDBPipeConnectorCompressionIT (four hybrid/log cases, one realtime point): the sink's
``compressor`` chains over the thrift (async and sync) and air-gap sinks, and the zstd level
bounds."""

from __future__ import annotations

import pytest
from iotdb_it import assert_data_eventually, query

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]


def _create(sender, name: str, source: dict, processor: dict, sink: dict) -> None:
    def body(attributes: dict[str, str]) -> str:
        return ", ".join(f"'{k}'='{v}'" for k, v in attributes.items())

    sender.execute(
        f"create pipe {name} with extractor ({body(source)}) with processor ({body(processor)})"
        f" with connector ({body(sink)})"
    )


@pytest.mark.parametrize(
    ("connector", "realtime_mode", "batch", "compressors"),
    [
        pytest.param("iotdb-thrift-connector", "stream", True, "snappy", id="testCompression1"),
        pytest.param(
            "iotdb-thrift-connector", "batch", True, "snappy, lzma2", id="testCompression2"
        ),
        pytest.param(
            "iotdb-thrift-sync-connector", "stream", False, "snappy, snappy", id="testCompression3"
        ),
        pytest.param(
            "iotdb-thrift-sync-connector", "batch", True, "gzip, zstd", id="testCompression4"
        ),
        pytest.param(
            "iotdb-air-gap-connector", "stream", False, "lzma2, lz4", id="testCompression5"
        ),
        pytest.param("iotdb-air-gap-connector", "batch", True, "lzma2", id="testCompression6"),
    ],
)
def test_compression(
    auto_env, connector: str, realtime_mode: str, batch: bool, compressors: str
) -> None:
    """testCompression1..6 (doTest): history then realtime through the compressor chain."""
    sender, receiver = auto_env
    port = receiver.air_gap_port if "air-gap" in connector else receiver.port
    sender.try_execute(
        "insert into root.db.d1(time, s1) values (2010-01-01T10:00:00+08:00, 1)",
        "insert into root.db.d1(time, s1) values (2010-01-02T10:00:00+08:00, 2)",
        "flush",
    )
    _create(
        sender,
        "p1",
        {"extractor": "iotdb-extractor", "extractor.realtime.mode": realtime_mode},
        {"processor": "do-nothing-processor"},
        {
            "connector": connector,
            "connector.batch.enable": "true" if batch else "false",
            "connector.ip": "127.0.0.1",
            "connector.port": str(port),
            "connector.user": "root",
            "connector.password": "root",
            "connector.compressor": compressors,
        },
    )
    sender.execute("start pipe p1")
    count = "select count(*) from root.db.**"
    assert_data_eventually(receiver, count, "count(root.db.d1.s1),", ["2,"])
    sender.try_execute(
        *(f"insert into root.db.d1(time, s1) values (now(), {v})" for v in range(3, 9)),
        "flush",
    )
    assert_data_eventually(receiver, count, "count(root.db.d1.s1),", ["8,"])


@pytest.mark.parametrize(
    ("connector", "realtime_mode", "batch", "compressors"),
    [
        pytest.param("iotdb-thrift-connector", "hybrid", True, "snappy", id="testCompression1"),
        pytest.param(
            "iotdb-thrift-connector", "hybrid", True, "snappy, lzma2", id="testCompression2"
        ),
        pytest.param(
            "iotdb-thrift-sync-connector", "hybrid", True, "snappy", id="testCompression3"
        ),
        pytest.param("iotdb-thrift-sync-connector", "log", False, "lzma2", id="testCompression4"),
    ],
)
def test_connector_compression_1_3(
    auto_env, connector: str, realtime_mode: str, batch: bool, compressors: str
) -> None:
    """1.3's ConnectorCompressionIT testCompression1..4 (doTest)."""
    sender, receiver = auto_env
    sender.try_execute(
        "insert into root.db.d1(time, s1) values (2010-01-01T10:00:00+08:00, 1)",
        "insert into root.db.d1(time, s1) values (2010-01-02T10:00:00+08:00, 2)",
        "flush",
    )
    _create(
        sender,
        "p1",
        {"extractor": "iotdb-extractor", "extractor.realtime.mode": realtime_mode},
        {"processor": "do-nothing-processor"},
        {
            "connector": connector,
            "connector.batch.enable": "true" if batch else "false",
            "connector.ip": "127.0.0.1",
            "connector.port": str(receiver.port),
            "connector.user": "root",
            "connector.password": "root",
            "connector.compressor": compressors,
        },
    )
    sender.execute("start pipe p1")
    count = "select count(*) from root.**"
    assert_data_eventually(receiver, count, "count(root.db.d1.s1),", ["2,"])
    sender.try_execute("insert into root.db.d1(time, s1) values (now(), 3)", "flush")
    assert_data_eventually(receiver, count, "count(root.db.d1.s1),", ["3,"])


def test_zstd_compressor_level(auto_env) -> None:
    """testZstdCompressorLevel: levels -131072..22 are taken, -131073 and 23 refused with
    IoTDBConnector's message; the three pipes (started by CREATE) carry their series."""
    sender, receiver = auto_env
    sender.try_execute(
        *(f"insert into root.db.d1(time, s{i}) values (1, 1)" for i in range(1, 6)), "flush"
    )

    def create(i: int, level: str) -> None:
        sender.execute(
            f"create pipe p{i} with extractor ('extractor.pattern'='root.db.d1.s{i}')"
            f" with connector ('connector.ip'='127.0.0.1','connector.port'='{receiver.port}',"
            f"'connector.compressor'='zstd, zstd','connector.compressor.zstd.level'='{level}')"
        )

    for i, level in ((1, "3"), (2, "22"), (3, "-131072")):
        create(i, level)
    for i, level in ((4, "-131073"), (5, "23")):
        with pytest.raises(Exception, match="Zstd compression level should be in the range"):
            create(i, level)
    names = {row.split(",")[0] for row in query(sender, "show pipes")[1]}
    assert names == {"p1", "p2", "p3"}
    assert_data_eventually(receiver, "count timeseries root.db.**", "count(timeseries),", ["3,"])
