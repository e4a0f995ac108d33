"""IoTDB's IoTDBPipeMetaHistoricalIT (pipe/it/manual): the schema made before the pipe
starts (its historical snapshot) reaches the receiver; schema auto-creation off."""

from __future__ import annotations

import pytest
from iotdb_it import assert_data_eventually, create_pipe, thrift_sink

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

SHOW_TIMESERIES = (
    "Timeseries,Alias,Database,DataType,Encoding,Compression,Tags,Attributes,Deadband,"
    "DeadbandParameters,ViewType,"
)
SINK = {
    "connector.exception.conflict.resolve-strategy": "retry",
    "connector.exception.conflict.retry-max-time-seconds": "-1",
}


def test_time_series_inclusion(manual_env) -> None:
    """testTimeSeriesInclusion: tags and attributes in IoTDB's order, back-quoted nodes."""
    sender, receiver = manual_env
    sender.execute(
        "create database root.sg",
        "create timeseries root.sg.a.b int32",
        "create aligned timeseries root.sg.`apache|timecho-tag-attr`.d1(s1 INT32 "
        "tags(tag1=v1,tag2=v2) attributes(attr1=v1,attr2=v2),s2 DOUBLE tags(tag3=v3,tag4=v4) "
        "attributes(attr3=v3,attr4=v4))",
    )
    create_pipe(
        sender,
        "testPipe",
        source={"extractor.inclusion": "schema"},
        sink=thrift_sink(receiver, SINK),
    )
    assert_data_eventually(
        receiver,
        "show timeseries",
        SHOW_TIMESERIES,
        [
            "root.sg.a.b,null,root.sg,INT32,TS_2DIFF,LZ4,null,null,null,null,BASE,",
            "root.sg.`apache|timecho-tag-attr`.d1.s1,null,root.sg,INT32,TS_2DIFF,LZ4,"
            '{"tag1":"v1","tag2":"v2"},{"attr2":"v2","attr1":"v1"},null,null,BASE,',
            "root.sg.`apache|timecho-tag-attr`.d1.s2,null,root.sg,DOUBLE,GORILLA,LZ4,"
            '{"tag4":"v4","tag3":"v3"},{"attr4":"v4","attr3":"v3"},null,null,BASE,',
        ],
    )


def test_template_inclusion(manual_env) -> None:
    """testTemplateInclusion: `data, schema` minus ordinary series under root.ln.**: the
    databases, the template and its activations travel, the ordinary series does not.

    IoTDB's receiver there runs with replication factors 3/2 (`root.ln,3,2,...`); a pipecore
    node keeps one replica, so its SHOW DATABASES says 1,1."""
    sender, receiver = manual_env
    sender.execute(
        "create database root.ln",
        "create database root.db",
        "set ttl to root.ln 3600000",
        "create user `thulab` 'passwd'",
        "create role `admin`",
        "grant role `admin` to `thulab`",
        "grant read on root.** to role `admin`",
        "create schema template t1 (temperature FLOAT encoding=RLE,status BOOLEAN "
        "encoding=PLAIN compression=SNAPPY)",
        "set schema template t1 to root.ln.wf01",
        "set schema template t1 to root.db.wf01",
        "create timeseries using schema template on root.ln.wf01.wt01",
        "create timeseries using schema template on root.db.wf01.wt01",
        "create timeseries root.ln.wf02.wt01.status with datatype=BOOLEAN,encoding=PLAIN",
        "insert into root.ln.wf01.wt01(time,temperature,status) values (1800000000000,23,true)",
    )
    create_pipe(
        sender,
        "testPipe",
        source={
            "extractor.inclusion": "data, schema",
            "extractor.inclusion.exclusion": "schema.timeseries.ordinary",
            "extractor.path": "root.ln.**",
        },
        sink=thrift_sink(receiver, SINK),
    )
    assert_data_eventually(
        receiver,
        "show databases",
        "Database,SchemaReplicationFactor,DataReplicationFactor,TimePartitionOrigin,"
        "TimePartitionInterval,",
        ["root.ln,1,1,0,604800000,"],
    )
    assert_data_eventually(
        receiver,
        "select * from root.**",
        "Time,root.ln.wf01.wt01.temperature,root.ln.wf01.wt01.status,",
        ["1800000000000,23.0,true,"],
    )
    sender.execute("create timeseries using schema template on root.ln.wf01.wt02")
    assert_data_eventually(receiver, "count timeseries", "count(timeseries),", ["4,"])


def test_auth_inclusion(manual_env) -> None:
    """testAuthInclusion (its user/role part)."""
    sender, receiver = manual_env
    sender.execute(
        "create database root.ln",
        "create user `thulab` 'passwd'",
        "create role `admin`",
        "grant role `admin` to `thulab`",
        "grant read on root.** to role `admin`",
        "grant manage_database,manage_user,manage_role,use_trigger,use_udf,use_cq,use_pipe on "
        "root.** to role `admin`;",
    )
    create_pipe(
        sender, "testPipe", source={"extractor.inclusion": "auth"}, sink=thrift_sink(receiver, SINK)
    )
    assert_data_eventually(receiver, "list user of role `admin`", "User,", ["thulab,"])
    assert_data_eventually(
        receiver,
        "list privileges of role `admin`",
        "Role,Path,Privileges,GrantOption,",
        [f"admin,root.**,{p},false," for p in (
            "MANAGE_USER", "MANAGE_ROLE", "USE_TRIGGER", "USE_UDF", "USE_CQ", "USE_PIPE",
            "MANAGE_DATABASE", "READ_DATA", "READ_SCHEMA")],
    )  # fmt: skip


def test_grant_read_is_read_data_and_read_schema(manual_env) -> None:
    """testAuthInclusion's grants, on the sender itself: IoTDB 1.3's READ is READ_DATA and
    READ_SCHEMA (LIST PRIVILEGES shows both)."""
    sender, _ = manual_env
    sender.execute(
        "create role `admin`",
        "grant read on root.** to role `admin`",
        "grant manage_database,manage_user,manage_role,use_trigger,use_udf,use_cq,use_pipe on "
        "root.** to role `admin`;",
    )
    assert_data_eventually(
        sender,
        "list privileges of role `admin`",
        "Role,Path,Privileges,GrantOption,",
        [f"admin,root.**,{p},false," for p in (
            "MANAGE_USER", "MANAGE_ROLE", "USE_TRIGGER", "USE_UDF", "USE_CQ", "USE_PIPE",
            "MANAGE_DATABASE", "READ_DATA", "READ_SCHEMA")],
    )  # fmt: skip
