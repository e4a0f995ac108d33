"""IoTDB's IoTDBPipeIdempotentIT (pipe/it/autocreate): a schema statement already applied on
the receiver arrives again from the sender; the receiver takes it as done and applies what
follows it (`afterSql`)."""

from __future__ import annotations

import pytest
from iotdb_it import assert_data_eventually, create_pipe, thrift_sink

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

T1 = (
    "create schema template t1 (s1 INT64 encoding=RLE, s2 INT64 encoding=RLE, "
    "s3 INT64 encoding=RLE compression=SNAPPY)"
)
STATUS1 = "create timeSeries root.ln.wf01.wt01.status1 with datatype=BOOLEAN,encoding=PLAIN"
STATUS0 = "create timeSeries root.ln.wf01.wt01.status0 with datatype=BOOLEAN,encoding=PLAIN"
COUNT_TS = ("count timeSeries", "count(timeseries),")
COUNT_DB = ("count databases", "count,")

# (IT method, beforeSqlList, testSql, afterSql, query, header, rows)
CASES = [
    ("testCreateTimeSeriesIdempotent", [], STATUS0, STATUS1, *COUNT_TS, "2,"),
    (
        "testCreateAlignedTimeSeriesIdempotent",
        [],
        "CREATE ALIGNED TIMESERIES root.ln.wf01.GPS(latitude FLOAT encoding=PLAIN "
        "compressor=SNAPPY, longitude FLOAT encoding=PLAIN compressor=SNAPPY)",
        "create timeSeries root.ln.wf01.wt01.status1(status) with datatype=BOOLEAN,encoding=PLAIN",
        *COUNT_TS,
        "3,",
    ),
    (
        "testCreateTimeSeriesWithAliasIdempotent",
        [],
        "create timeSeries root.ln.wf01.wt01.status0(status0) with datatype=BOOLEAN,encoding=PLAIN",
        "create timeSeries root.ln.wf01.wt01.status1(status1) with datatype=BOOLEAN,encoding=PLAIN",
        *COUNT_TS,
        "2,",
    ),
    (
        "testInternalCreateTimeseriesIdempotent",
        [],
        "insert into root.ln.wf01.wt01(time, status0) values(now(), false);",
        STATUS1,
        *COUNT_TS,
        "2,",
    ),
    (
        "testAlterTimeseriesAddTagIdempotent",
        [STATUS0],
        "ALTER timeSeries root.ln.wf01.wt01.status0 ADD TAGS tag3=v3;",
        STATUS1,
        *COUNT_TS,
        "2,",
    ),
    (
        "testAlterTimeseriesAddAttrIdempotent",
        [STATUS0],
        "ALTER timeSeries root.ln.wf01.wt01.status0 ADD ATTRIBUTES attr1=newV1;",
        STATUS1,
        *COUNT_TS,
        "2,",
    ),
    (
        "testAlterTimeSeriesRenameIdempotent",
        [STATUS0, "ALTER timeSeries root.ln.wf01.wt01.status0 ADD ATTRIBUTES attr1=newV1;"],
        "ALTER timeSeries root.ln.wf01.wt01.status0 RENAME attr1 TO newAttr1;",
        STATUS1,
        *COUNT_TS,
        "2,",
    ),
    (
        "testDeleteTimeSeriesIdempotent",
        [
            "create timeSeries root.ln.wf01.wt01.status0(status0) with datatype=BOOLEAN,"
            "encoding=PLAIN"
        ],
        "delete timeSeries root.ln.wf01.wt01.status0",
        "create timeSeries root.ln.wf01.wt01.status2(status2) with datatype=BOOLEAN,encoding=PLAIN",
        *COUNT_TS,
        "1,",
    ),
    ("testCreateTemplateIdempotent", [], T1, "create database root.sg1", *COUNT_DB, "1,"),
    (
        "testExtendTemplateIdempotent",
        [T1],
        "alter schema template t1 add (rest FLOAT encoding=RLE, FLOAT2 TEXT encoding=PLAIN "
        "compression=SNAPPY)",
        "create database root.sg1",
        *COUNT_DB,
        "1,",
    ),
    (
        "testDropTemplateIdempotent",
        [T1],
        "drop schema template t1",
        "create database root.sg1",
        *COUNT_DB,
        "1,",
    ),
    (
        "testSetTemplateIdempotent",
        [T1, "create database root.sg1"],
        "set schema template t1 to root.sg1",
        "create database root.sg2",
        *COUNT_DB,
        "2,",
    ),
    (
        "testUnsetTemplateIdempotent",
        [T1, "create database root.sg1", "set schema template t1 to root.sg1"],
        "unset schema template t1 from root.sg1",
        "create database root.sg2",
        *COUNT_DB,
        "2,",
    ),
    (
        "testActivateTemplateIdempotent",
        [T1, "create database root.sg1", "set schema template t1 to root.sg1"],
        "create timeSeries using device template on root.sg1.d1",
        "create timeSeries using device template on root.sg1.d2",
        *COUNT_TS,
        "6,",
    ),
    (
        "testDeactivateTemplateIdempotent",
        [
            T1,
            "create database root.sg1",
            "set schema template t1 to root.sg1",
            "create timeSeries using device template on root.sg1.d1",
            "create timeSeries using device template on root.sg1.d2",
        ],
        "delete timeSeries of schema template t1 from root.sg1.*",
        "create timeSeries using device template on root.sg1.d3",
        *COUNT_TS,
        "3,",
    ),
    (
        "testCreateDatabaseIdempotent",
        [],
        "create database root.sg1",
        "create database root.sg2",
        *COUNT_DB,
        "2,",
    ),
    (
        "testDropDatabaseIdempotent",
        ["create database root.sg1"],
        "drop database root.sg1",
        "create database root.sg2",
        *COUNT_DB,
        "1,",
    ),
    (
        "testCreateUserIdempotent",
        [],
        "create user `ln_write_user` 'write_pwd'",
        "create database root.sg1",
        *COUNT_DB,
        "1,",
    ),
    (
        "testCreateRoleIdempotent",
        [],
        "create role `test`",
        "create database root.sg1",
        *COUNT_DB,
        "1,",
    ),
    (
        "testGrantRoleToUserIdempotent",
        ["create user `ln_write_user` 'write_pwd'", "create role `test`"],
        "grant role test to ln_write_user",
        "create database root.sg1",
        *COUNT_DB,
        "1,",
    ),
    (
        "testRevokeUserIdempotent",
        [
            "create user `ln_write_user` 'write_pwd'",
            "GRANT READ_DATA, WRITE_DATA ON root.t1.** TO USER ln_write_user;",
        ],
        "REVOKE READ_DATA, WRITE_DATA ON root.t1.** FROM USER ln_write_user;",
        "create database root.sg1",
        *COUNT_DB,
        "1,",
    ),
    (
        "testRevokeRoleIdempotent",
        ["create role `test`", "GRANT READ ON root.** TO ROLE test;"],
        "REVOKE READ ON root.** FROM ROLE test;",
        "create database root.sg1",
        *COUNT_DB,
        "1,",
    ),
    (
        "testDropUserIdempotent",
        ["create user `ln_write_user` 'write_pwd'"],
        "drop user `ln_write_user`",
        "create database root.sg1",
        *COUNT_DB,
        "1,",
    ),
    (
        "testDropRoleIdempotent",
        ["create role `test`"],
        "drop role test",
        "create database root.sg1",
        *COUNT_DB,
        "1,",
    ),
]


_MARKS: dict = {}


@pytest.mark.parametrize(
    ("before", "test_sql", "after_sql", "sql", "header", "row"),
    [pytest.param(*case[1:], id=case[0], marks=_MARKS.get(case[0], ())) for case in CASES],
)
def test_idempotent(request, auto_env, before, test_sql, after_sql, sql, header, row) -> None:
    """IoTDBPipeIdempotentIT.testIdempotent with each IT method's statements."""
    sender, receiver = auto_env
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
                "connector.batch.enable": "false",
                "connector.exception.conflict.resolve-strategy": "retry",
                "connector.exception.conflict.retry-max-time-seconds": "-1",
            },
        ),
    )
    sender.try_execute(*before)
    # an expected failure fails sooner (the suite's time budget); a pass takes well under 1 s
    wait = 2.0 if request.node.get_closest_marker("xfail") else 6.0
    receiver.try_execute(test_sql, timeout=wait)
    sender.try_execute(test_sql, after_sql)
    assert_data_eventually(receiver, sql, header, [row])
