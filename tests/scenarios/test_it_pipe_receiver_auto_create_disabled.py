"""IoTDB's IoTDBPipeReceiverAutoCreateDisabledIT (pipe/it/dual/treemodel/auto/basic): a
sender with schema auto-creation on, a receiver with it off; series whose back-quoted nodes
hold every special character arrive as the sender answers them. The auto pair's sender sends
to the manual pair's receiver (both emptied)."""

from __future__ import annotations

import pytest
from iotdb_it import assert_data_eventually, query

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

FIRST_NODE = "`1~!@#$%^&*()_+=:'\"/|[]{}`"
FIRST_MEASUREMENT = "`~!@#$%^&*()_+=:'\"/|[]{}`"
SECOND_DB = "root.test.ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz1"
SECOND = "`~!@#$%^&*().,<>?_-+=:'\"/|[]{}`"


@pytest.mark.xfail(
    strict=True,
    reason="pipecore refuses a back-quoted node holding '*' (701 'wildcards cannot be quoted'): "
    "its paths keep nodes unquoted, so a literal '*' would read as a wildcard; IoTDB keeps "
    "the quotes and takes it. Not fixed yet",
)
def test_receiver_auto_create_schema_disabled_with_special_time_series(
    auto_env, manual_env
) -> None:
    """testReceiverAutoCreateSchemaDisabledWithSpecialTimeSeries."""
    sender, receiver = auto_env[0], manual_env[1]
    first_select = f"select {FIRST_MEASUREMENT} from root.test.sg.{FIRST_NODE};"
    second_select = f"select * from {SECOND_DB}.{SECOND};"
    sender.execute(
        "create pipe test with source ('inclusion'='all') "
        f"with sink ('sink'='iotdb-thrift-sink', 'sink.node-urls'='{receiver.url}');",
        "create database root.test.sg;",
        f"create timeseries root.test.sg.{FIRST_NODE}.{FIRST_MEASUREMENT} float;",
        f"insert into root.test.sg.{FIRST_NODE}(time, {FIRST_MEASUREMENT}) "
        "values (1706659200,3.5),(1706660000, 15.5);",
    )
    first = query(sender, first_select)
    sender.execute(
        f"create database {SECOND_DB};",
        f"create timeseries {SECOND_DB}.{SECOND}.{SECOND} int32;",
        f"insert into {SECOND_DB}.{SECOND}(time, {SECOND}) "
        "values (1706666400,23456),(1706667400,23456),(1706686400,23456);",
    )
    second = query(sender, second_select)
    assert len(first[1]) == 2 and len(second[1]) == 3, (first, second)
    sender.execute("flush")
    assert_data_eventually(receiver, first_select, *first)
    assert_data_eventually(receiver, second_select, *second)
