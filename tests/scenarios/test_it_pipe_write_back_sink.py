"""IoTDB's IoTDBPipeWriteBackSinkIT (pipe/it/dual/treemodel/manual): `write-back-sink` with
`sink.database` writes what a tree-model pipe captures under root.source into root.target of
the same node; schema auto-creation off."""

from __future__ import annotations

import pytest
from iotdb_it import assert_data_eventually, create_pipe

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]


def test_write_back_sink_with_target_database_for_tree_model(manual_env) -> None:
    """testWriteBackSinkWithTargetDatabaseForTreeModel."""
    sender, _ = manual_env
    sender.execute(
        "create database root.source",
        "create timeseries root.source.d1.s1 with datatype=INT32,encoding=PLAIN",
        "create database root.target",
        "create timeseries root.target.d1.s1 with datatype=INT32,encoding=PLAIN",
    )
    create_pipe(
        sender,
        "testPipe",
        source={
            "source.inclusion": "data.insert",
            "source.forwarding-pipe-requests": "false",
            "source.path": "root.source.**",
            "user": "root",
        },
        sink={"sink": "write-back-sink", "sink.database": "target", "user": "root"},
    )
    sender.execute(
        "insert into root.source.d1(time, s1) values (1, 1)",
        "insert into root.source.d1(time, s1) values (2, 2)",
        "flush",
    )
    assert_data_eventually(
        sender, "select * from root.target.**", "Time,root.target.d1.s1,", ["1,1,", "2,2,"]
    )
