"""IoTDB's IoTDBPipeTwoStageAggregateIT (pipe/it/dual/treemodel/auto/basic; autocreate in the
2.0 line): ``count-point-processor`` under a source user that may read only the counted
series; the running count reaches the receiver's pre-made output series (schema
auto-creation off there, so the series must be the one the processor writes)."""

from __future__ import annotations

import pytest
from iotdb_it import assert_data_eventually, create_pipe

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]


def test_count_point_processor_uses_source_credentials(manual_env) -> None:
    """testCountPointProcessorUsesSourceCredentials."""
    sender, receiver = manual_env
    user, password = "countPointUser", "StrngPsWd@623454"
    device = "root.twostage_source.d1"
    output = "root.twostage_source.result.point_count"
    # the processor writes its output series as the device and its last node as the measurement
    output_series = f"{output}.point_count"
    sender.execute(
        "CREATE DATABASE root.twostage_source",
        f"CREATE TIMESERIES {device}.s1 WITH DATATYPE=INT32,ENCODING=RLE",
        f"CREATE USER {user} '{password}'",
        f"GRANT READ_DATA ON {device}.s1 TO USER {user}",
    )
    receiver.execute(
        "CREATE DATABASE root.twostage_source",
        f"CREATE TIMESERIES {output_series} WITH DATATYPE=INT64,ENCODING=RLE",
        f"INSERT INTO {output}(time,point_count) VALUES (0,0)",
    )
    create_pipe(
        sender,
        "countPointPipe",
        source={
            "source.path": f"{device}.s1",
            "source.watermark.interval-ms": "500",
            "user": user,
            "password": password,
        },
        processor={"processor": "count-point-processor", "processor.output.series": output},
        sink={
            "sink": "iotdb-thrift-sink",
            "sink.batch.enable": "false",
            "sink.ip": "127.0.0.1",
            "sink.port": str(receiver.port),
            "sink.user": "root",
            "sink.password": "root",
        },
    )
    sender.execute(f"INSERT INTO {device}(time,s1) VALUES (1,1),(2,2),(3,3)")
    assert_data_eventually(
        receiver,
        f"SELECT MAX_VALUE(point_count) FROM {output}",
        f"MAX_VALUE({output_series}),",
        ["3,"],
    )
