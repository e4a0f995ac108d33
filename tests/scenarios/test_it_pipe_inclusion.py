"""IoTDB's IoTDBPipeInclusionIT (pipe/it/manual): what each `inclusion` sends, schema
auto-creation off on both sides."""

from __future__ import annotations

import pytest
from iotdb_it import assert_data_always, assert_data_eventually, create_pipe, thrift_sink

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

SHOW_TIMESERIES = (
    "Timeseries,Alias,Database,DataType,Encoding,Compression,Tags,Attributes,Deadband,"
    "DeadbandParameters,ViewType,"
)


def test_pure_schema_inclusion(manual_env) -> None:
    """testPureSchemaInclusion (up to its STORAGE_PROPERTIES step, see the next test)."""
    sender, receiver = manual_env
    create_pipe(
        sender, "testPipe", source={"extractor.inclusion": "schema"}, sink=thrift_sink(receiver)
    )
    sender.try_execute(
        "create timeSeries root.ln.wf01.wt01.status with datatype=BOOLEAN,encoding=PLAIN",
        "ALTER timeSeries root.ln.wf01.wt01.status ADD TAGS tag3=v3",
        "ALTER timeSeries root.ln.wf01.wt01.status ADD ATTRIBUTES attr4=v4",
    )
    assert_data_eventually(
        receiver,
        "show timeseries",
        SHOW_TIMESERIES,
        ['root.ln.wf01.wt01.status,null,root.ln,BOOLEAN,PLAIN,LZ4,{"tag3":"v3"},{"attr4":"v4"},'
         "null,null,BASE,"],
    )  # fmt: skip
    sender.try_execute("insert into root.ln.wf01.wt01(time, status) values(now(), false)", "flush")
    # IoTDB's IT expects the header "Time," here through assertDataAlwaysOnEnv, whose
    # Awaitility chain (failFast without until) never evaluates; a series with no points is
    # still a column of SELECT *, so the header names it and no row arrives.
    assert_data_always(receiver, "select * from root.**", "Time,root.ln.wf01.wt01.status,", [])


@pytest.mark.xfail(
    reason="ALTER TIMESERIES ... SET STORAGE_PROPERTIES (IoTDB master, after 2.0) is not in "
    "pipecore's SQL: a parse error (700); changing a series' compressor needs a schema record "
    "and a plan the sink does not have",
    strict=True,
)
def test_pure_schema_inclusion_alter_storage_properties(manual_env) -> None:
    """testPureSchemaInclusion's second step: ALTER ... SET STORAGE_PROPERTIES travels."""
    sender, receiver = manual_env
    create_pipe(
        sender, "testPipe", source={"extractor.inclusion": "schema"}, sink=thrift_sink(receiver)
    )
    sender.try_execute(
        "create timeSeries root.ln.wf01.wt01.status with datatype=BOOLEAN,encoding=PLAIN",
        "ALTER timeSeries root.ln.wf01.wt01.status ADD TAGS tag3=v3",
        "ALTER timeSeries root.ln.wf01.wt01.status ADD ATTRIBUTES attr4=v4",
        "ALTER timeSeries root.** set STORAGE_PROPERTIES compressor=ZSTD",
        "insert into root.ln.wf01.wt01(time, status) values(now(), false)",
        "flush",
    )
    assert_data_eventually(
        receiver,
        "show timeseries",
        SHOW_TIMESERIES,
        ['root.ln.wf01.wt01.status,null,root.ln,BOOLEAN,PLAIN,ZSTD,{"tag3":"v3"},{"attr4":"v4"},'
         "null,null,BASE,"],
    )  # fmt: skip


def test_pure_schema_inclusion_with_multiple_pattern(manual_env) -> None:
    """testPureSchemaInclusionWithMultiplePattern: `path` lists two patterns."""
    sender, receiver = manual_env
    create_pipe(
        sender,
        "testPipe",
        source={
            "extractor.inclusion": "schema",
            "path": "root.ln.wf01.wt01.status,root.ln.wf02.**",
        },
        sink=thrift_sink(receiver),
    )
    for wf in ("wf01", "wf02", "wf03"):
        sender.try_execute(
            f"create timeseries root.ln.{wf}.wt01.status with datatype=BOOLEAN,encoding=PLAIN",
            f"ALTER timeseries root.ln.{wf}.wt01.status ADD TAGS tag3=v3",
            f"ALTER timeseries root.ln.{wf}.wt01.status ADD ATTRIBUTES attr4=v4",
        )
    assert_data_eventually(
        receiver,
        "show timeseries root.ln.**",
        SHOW_TIMESERIES,
        [f'root.ln.{wf}.wt01.status,null,root.ln,BOOLEAN,PLAIN,LZ4,{{"tag3":"v3"}},'
         '{"attr4":"v4"},null,null,BASE,' for wf in ("wf01", "wf02")],
    )  # fmt: skip
    sender.try_execute("insert into root.ln.wf01.wt01(time, status) values(now(), false)", "flush")
    assert_data_always(
        receiver,
        "select * from root.ln.**",
        # IoTDB 2.0.1's order (docs/sql-reference.md "Column order of a wildcard"): wf02 first
        "Time,root.ln.wf02.wt01.status,root.ln.wf01.wt01.status,",
        [],
    )


def test_auth_exclusion(manual_env) -> None:
    """testAuthExclusion: inclusion all minus auth sends no user."""
    sender, receiver = manual_env
    create_pipe(
        sender,
        "testPipe",
        source={"extractor.inclusion": "all", "extractor.inclusion.exclusion": "auth"},
        sink=thrift_sink(receiver),
    )
    sender.try_execute("create user `ln_write_user` 'write_pwd'")
    assert_data_always(receiver, "list user", "User,", ["root,"])


def test_auth_inclusion_with_pattern(manual_env) -> None:
    """testAuthInclusionWithPattern."""
    sender, receiver = manual_env
    create_pipe(
        sender,
        "testPipe",
        source={"extractor.inclusion": "auth", "path": "root.ln.**"},
        sink=thrift_sink(receiver),
    )
    sender.try_execute("create user `ln_write_user` 'write_pwd'")
    assert_data_eventually(receiver, "list user", "User,", ["root,", "ln_write_user,"])


def test_pure_delete_inclusion(manual_env) -> None:
    """testPureDeleteInclusion: only deletions travel; DELETE FROM root.** empties the
    receiver's own series too."""
    sender, receiver = manual_env
    create_pipe(
        sender,
        "testPipe",
        source={"extractor.inclusion": "data.delete"},
        sink=thrift_sink(receiver),
    )
    sender.try_execute(
        "create timeseries root.ln.wf01.wt01.status with datatype=BOOLEAN,encoding=PLAIN",
        "insert into root.ln.wf01.wt01(time, status) values(0, true)",
        "flush",
    )
    receiver.try_execute(
        "create timeseries root.ln.wf01.wt01.status1 with datatype=BOOLEAN,encoding=PLAIN",
        "insert into root.ln.wf01.wt01(time, status1) values(0, true)",
        "flush",
    )
    sender.try_execute("delete from root.**")
    assert_data_eventually(receiver, "select * from root.**", "Time,root.ln.wf01.wt01.status1,", [])
