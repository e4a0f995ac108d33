"""IoTDB's IoTDBPipeManualConflictIT (pipe/it/manual): double-living pipes with schema
(`data, schema`), schema auto-creation off."""

from __future__ import annotations

import pytest
from iotdb_it import assert_data_eventually, create_pipe, thrift_sink

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

SHOW_TIMESERIES = (
    "Timeseries,Alias,Database,DataType,Encoding,Compression,Tags,Attributes,Deadband,"
    "DeadbandParameters,ViewType,"
)
SOURCE = {"extractor.inclusion": "data, schema", "extractor.forwarding-pipe-requests": "false"}
SINK = {
    "connector.exception.conflict.resolve-strategy": "retry",
    "connector.exception.conflict.retry-max-time-seconds": "-1",
    "connector.batch.enable": "false",
}


def _double_living(sender, receiver) -> None:
    create_pipe(sender, "testPipe", source=SOURCE, sink=thrift_sink(receiver, SINK))
    create_pipe(receiver, "testPipe", source=SOURCE, sink=thrift_sink(sender, SINK))


def test_double_living_timeseries(manual_env) -> None:
    """testDoubleLivingTimeseries."""
    sender, receiver = manual_env
    _double_living(sender, receiver)
    sender.execute(
        "create timeseries root.ln.wf01.wt01.status0 with datatype=BOOLEAN,encoding=PLAIN",
        "insert into root.ln.wf01.wt01(time, status0) values(now(), false);",
        "flush",
    )
    receiver.try_execute(
        "create timeseries root.ln.wf01.wt01.status1 with datatype=BOOLEAN,encoding=PLAIN",
        "insert into root.ln.wf01.wt01(time, status1) values(now(), true);",
        "flush",
    )
    for node in (sender, receiver):
        assert_data_eventually(
            node,
            "show timeseries",
            SHOW_TIMESERIES,
            [
                "root.ln.wf01.wt01.status0,null,root.ln,BOOLEAN,PLAIN,LZ4,null,null,null,null,BASE,",
                "root.ln.wf01.wt01.status1,null,root.ln,BOOLEAN,PLAIN,LZ4,null,null,null,null,BASE,",
            ],
        )
        assert_data_eventually(
            node, "select count(*) from root.** group by level=1", "count(root.ln.*.*.*),", ["2,"]
        )


def test_double_living_template(manual_env) -> None:
    """testDoubleLivingTemplate: a template made on one side is used on the other."""
    sender, receiver = manual_env
    _double_living(sender, receiver)
    sender.execute(
        "create device template t1 (s1 INT64 encoding=RLE, s2 INT64 encoding=RLE, "
        "s3 INT64 encoding=RLE compression=SNAPPY)",
        "create database root.sg1",
        "set device template t1 to root.sg1",
        "create timeseries using device template on root.sg1.d1",
        "insert into root.sg1.d1(time, s1, s2, s3) values(0, 1, 2, 3);",
        "flush",
    )
    receiver.try_execute(
        "create timeseries using device template on root.sg1.d2",
        "insert into root.sg1.d2(time, s1, s2, s3) values(0, 1, 2, 3);",
        "flush",
    )
    for node in (sender, receiver):
        assert_data_eventually(node, "count timeseries", "count(timeseries),", ["6,"])
        assert_data_eventually(
            node, "select count(*) from root.** group by level=1", "count(root.sg1.*.*),", ["6,"]
        )
