"""IoTDB's IoTDBPipeSinkParallelIT (pipe/it/dual/treemodel/auto/basic; 1.3's
IoTDBPipeConnectorParallelIT spells the option ``connector.parallel.tasks``): a sink with three
parallel tasks delivers every point."""

from __future__ import annotations

import pytest
from iotdb_it import assert_data_eventually, create_pipe

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]


def test_iot_connector_parallel(auto_env) -> None:
    """testIoTConnectorParallel (SinkParallelIT: sink.* keys, source user root)."""
    sender, receiver = auto_env
    create_pipe(
        sender,
        "testPipe",
        source={"user": "root"},
        sink={
            "sink": "iotdb-thrift-sink",
            "sink.batch.enable": "false",
            "sink.ip": "127.0.0.1",
            "sink.port": str(receiver.port),
            "sink.parallel.tasks": "3",
        },
    )
    sender.execute(
        "insert into root.db1.d1(time, s1) values (0, 1)",
        "insert into root.db1.d1(time, s1) values (1, 2)",
        "insert into root.db1.d1(time, s1) values (2, 3)",
        "insert into root.db1.d1(time, s1) values (3, 4)",
        "flush",
    )
    assert_data_eventually(
        receiver,
        "select * from root.db1.**",
        "Time,root.db1.d1.s1,",
        ["0,1.0,", "1,2.0,", "2,3.0,", "3,4.0,"],
    )


def test_iot_connector_parallel_connector_keys(auto_env) -> None:
    """testIoTConnectorParallel of ConnectorParallelIT (connector.* keys)."""
    sender, receiver = auto_env
    create_pipe(
        sender,
        "testPipe",
        sink={
            "connector": "iotdb-thrift-connector",
            "connector.batch.enable": "false",
            "connector.ip": "127.0.0.1",
            "connector.port": str(receiver.port),
            "connector.parallel.tasks": "3",
        },
    )
    sender.try_execute(
        "insert into root.sg1.d1(time, s1) values (0, 1)",
        "insert into root.sg1.d1(time, s1) values (1, 2)",
        "insert into root.sg1.d1(time, s1) values (2, 3)",
        "insert into root.sg1.d1(time, s1) values (3, 4)",
        "flush",
    )
    assert_data_eventually(
        receiver,
        "select * from root.**",
        "Time,root.sg1.d1.s1,",
        ["0,1.0,", "1,2.0,", "2,3.0,", "3,4.0,"],
    )
