"""IoTDB's IoTDBPipeAutoConflictIT (pipe/it/autocreate): two nodes each with a pipe to the
other ("double living"), schema auto-creation on."""

from __future__ import annotations

import pytest
from iotdb_it import assert_data_eventually, create_pipe, thrift_sink

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

SHOW_TIMESERIES = (
    "Timeseries,Alias,Database,DataType,Encoding,Compression,Tags,Attributes,Deadband,"
    "DeadbandParameters,ViewType,"
)
DOUBLE_LIVING_SOURCE = {
    "source.inclusion": "all",
    "source.inclusion.exclusion": "",
    "source.forwarding-pipe-requests": "false",
}


def _inserts(node, first: int, last: int) -> None:
    for i in range(first, last):
        node.execute(f"insert into root.db.d1(time,s1) values ({i},1)")
    node.execute("flush")


def test_double_living_auto_conflict(auto_env) -> None:
    """testDoubleLivingAutoConflict: each side's points reach the other, before and after
    both restart, and never loop."""
    sender, receiver = auto_env
    _inserts(sender, 0, 100)
    create_pipe(
        sender,
        "p1",
        source=DOUBLE_LIVING_SOURCE,
        sink={
            "sink": "iotdb-thrift-sink",
            "sink.batch.enable": "false",
            "sink.ip": "127.0.0.1",
            "sink.port": str(receiver.port),
        },
    )
    _inserts(sender, 100, 200)
    _inserts(receiver, 200, 300)
    create_pipe(
        receiver,
        "p1",
        source=DOUBLE_LIVING_SOURCE,
        sink=thrift_sink(sender, {"connector.batch.enable": "false"}),
    )
    _inserts(receiver, 300, 400)
    expected = {f"{i},1.0," for i in range(400)}
    for node in (sender, receiver):
        assert_data_eventually(node, "select * from root.**", "Time,root.db.d1.s1,", expected)

    for node in (sender, receiver):  # TestUtils.restartCluster
        node.stop()
    for node in (sender, receiver):
        node.start()
    _inserts(sender, 400, 500)
    _inserts(receiver, 500, 600)
    expected |= {f"{i},1.0," for i in range(400, 600)}
    for node in (sender, receiver):
        assert_data_eventually(node, "select * from root.**", "Time,root.db.d1.s1,", expected)


def test_double_living_auto_conflict_template(auto_env) -> None:
    """testDoubleLivingAutoConflictTemplate: a write outside the template set on root.db
    extends it on each side."""
    sender, receiver = auto_env
    sink = {"connector.batch.enable": "false"}
    create_pipe(sender, "p1", source=DOUBLE_LIVING_SOURCE, sink=thrift_sink(receiver, sink))
    create_pipe(receiver, "p1", source=DOUBLE_LIVING_SOURCE, sink=thrift_sink(sender, sink))
    sender.execute(
        "create schema template t1 (s2 INT64 encoding=RLE,s3 INT64 encoding=RLE "
        "compression=SNAPPY)",
        "create database root.db",
        "set device template t1 to root.db",
    )
    for i in range(200):
        sender.execute(f"insert into root.db.d1(time,s1) values ({i},1)")
    for i in range(200, 400):
        receiver.try_execute(f"insert into root.db.d1(time,s1) values ({i},1)")
    sender.execute("flush")
    receiver.execute("flush")
    expected = {f"{i},1.0," for i in range(400)}
    for node in (sender, receiver):
        assert_data_eventually(node, "select s1 from root.db.d1", "Time,root.db.d1.s1,", expected)


def test_auto_manual_create_race(auto_env) -> None:
    """testAutoManualCreateRace: the receiver made the series first; the sender's tags and
    attributes still reach it, its own encoding stays."""
    sender, receiver = auto_env
    create_pipe(
        sender, "testPipe", source={"extractor.inclusion": "all"}, sink=thrift_sink(receiver)
    )
    receiver.execute("create timeSeries root.ln.wf01.wt01.status with datatype=BOOLEAN")
    sender.execute(
        "create timeSeries root.ln.wf01.wt01.status with datatype=BOOLEAN tags (tag3=v3) "
        "attributes (attr4=v4)"
    )
    assert_data_eventually(
        receiver,
        "show timeSeries",
        SHOW_TIMESERIES,
        ['root.ln.wf01.wt01.status,null,root.ln,BOOLEAN,RLE,LZ4,{"tag3":"v3"},{"attr4":"v4"},'
         "null,null,BASE,"],
    )  # fmt: skip


def test_historical_activation_race(auto_env) -> None:
    """testHistoricalActivationRace: a historical snapshot of template activations, one by a
    write and one by an extending write, arrives as 3 devices."""
    sender, receiver = auto_env
    sender.execute(
        "create database root.sg_aligned",
        "create device template aligned_template aligned (s0 int32, s1 int64, s2 float, "
        "s3 double, s4 boolean, s5 text)",
        "set device template aligned_template to root.sg_aligned.device_aligned",
        "create timeseries using device template on root.sg_aligned.device_aligned.d10",
        "create timeseries using device template on root.sg_aligned.device_aligned.d12",
        "insert into root.sg_aligned.device_aligned.d10(time, s0, s1, s2,s3,s4,s5) values "
        "(1706659200,1706659200,10,20.245,25.24555,true,''),"
        "(1706662800,null,1706662800,20.241,25.24111,false,'2'),"
        "(1706666400,3,null,20.242,25.24222,true,'3'),"
        "(1706670000,4,40,null,35.5474,true,'4'),"
        "(1706670600,5,1706670600000,20.246,null,false,'5'),"
        "(1706671200,6,60,20.248,25.24888,null,'6'),"
        "(1706671800,7,1706671800,20.249,25.24999,false,null)",
        "insert into root.sg_aligned.device_aligned.d10(time, s0, s1, s2,s3,s4,s5) values "
        "(-1,1,10,5.39,5.51234,false,'negative')",
        "insert into root.sg_aligned.device_aligned.d11(time, s0, s1, s2,s3,s4,s5) values "
        "(-1,-11,-110,-5.39,-5.51234,false,'activate:1')",
        "insert into root.sg_aligned.device_aligned.d10(time, s0, s1, s2,s3,s4,s5,s6) "
        "values(1706678800,1,1706678800,5.39,5.51234,false,'add:s6',32);",
    )
    create_pipe(
        sender, "testPipe", source={"extractor.inclusion": "all"}, sink=thrift_sink(receiver)
    )
    assert_data_eventually(receiver, "count devices", "count(devices),", ["3,"])
