"""IoTDB's IoTDBPipeMultiSchemaRegionIT (pipe/it/dual/treemodel/manual): series of two
databases (two schema regions in IoTDB), made before and after the pipe starts, all arrive;
schema auto-creation off."""

from __future__ import annotations

import pytest
from iotdb_it import assert_data_eventually, create_pipe, thrift_sink

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]


def test_multi_schema_region(manual_env) -> None:
    """testMultiSchemaRegion."""
    sender, receiver = manual_env
    sender.try_execute(
        "create timeseries root.ln.wf01.GPS.status0 with datatype=BOOLEAN,encoding=PLAIN",
        "create timeseries root.sg.wf01.GPS.status0 with datatype=BOOLEAN,encoding=PLAIN",
    )
    create_pipe(
        sender,
        "testPipe",
        source={
            "extractor.inclusion": "all",
            "extractor.inclusion.exclusion": "",
            "extractor.forwarding-pipe-requests": "false",
        },
        sink=thrift_sink(
            receiver,
            {
                "connector.exception.conflict.resolve-strategy": "retry",
                "connector.exception.conflict.retry-max-time-seconds": "-1",
            },
        ),
    )
    sender.try_execute(
        "create timeseries root.ln.wf01.GPS.status1 with datatype=BOOLEAN,encoding=PLAIN",
        "create timeseries root.sg.wf01.GPS.status1 with datatype=BOOLEAN,encoding=PLAIN",
    )
    for database in ("ln", "sg"):
        assert_data_eventually(
            receiver, f"count timeseries root.{database}.**", "count(timeseries),", ["2,"]
        )
