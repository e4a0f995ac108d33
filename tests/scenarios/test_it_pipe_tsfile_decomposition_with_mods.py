"""IoTDB's IoTDBPipeTsFileDecompositionWithModsIT (pipe/it/dual/treemodel/manual): a flushed
TsFile with deletions after it (its mods), sent as tablets with `mods.enable`: the deleted
points stay deleted on the receiver; schema auto-creation off."""

from __future__ import annotations

import pytest
from iotdb_it import assert_data_eventually, wait_for_columns

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

SCHEMA = (
    "CREATE DATABASE root.sg1",
    "CREATE ALIGNED TIMESERIES root.sg1.d1(s1 FLOAT, s2 FLOAT, s3 FLOAT)",
    "CREATE TIMESERIES root.sg1.d2.s1 WITH DATATYPE=FLOAT",
    "CREATE TIMESERIES root.sg1.d2.s2 WITH DATATYPE=FLOAT",
    "CREATE ALIGNED TIMESERIES root.sg1.d3(s1 FLOAT, s2 FLOAT, s3 FLOAT)",
)


def test_tsfile_decomposition_with_mods(manual_env) -> None:
    """testTsFileDecompositionWithMods."""
    sender, receiver = manual_env
    sender.try_execute(*SCHEMA)
    receiver.try_execute(*SCHEMA)
    sender.try_execute(
        "INSERT INTO root.sg1.d1(time, s1, s2, s3) ALIGNED VALUES (1, 1.0, 2.0, 3.0), "
        "(2, 1.1, 2.1, 3.1), (3, 1.2, 2.2, 3.2), (4, 1.3, 2.3, 3.3), (5, 1.4, 2.4, 3.4)",
        "INSERT INTO root.sg1.d2(time, s1, s2) VALUES (1, 10.0, 20.0), (2, 10.1, 20.1), "
        "(3, 10.2, 20.2), (4, 10.3, 20.3), (5, 10.4, 20.4)",
        "INSERT INTO root.sg1.d3(time, s1, s2, s3) ALIGNED VALUES (1, 100.0, 200.0, 300.0), "
        "(2, 100.1, 200.1, 300.1), (3, 100.2, 200.2, 300.2)",
        "FLUSH",
        "DELETE FROM root.sg1.d1.s1 WHERE time >= 2 AND time <= 4",
        "DELETE FROM root.sg1.d2.*",
        "DELETE FROM root.sg1.d3.*",
        "FLUSH",
        "CREATE PIPE test_pipe WITH SOURCE ('mods.enable'='true') WITH CONNECTOR("
        f"'ip'='127.0.0.1', 'port'='{receiver.port}', 'username'='root', 'format'='tablet')",
    )
    wait_for_columns(
        receiver,
        "SELECT * FROM root.sg1.d1 ORDER BY time",
        "Time,root.sg1.d1.s3,root.sg1.d1.s1,root.sg1.d1.s2,",
        [
            "1,3.0,1.0,2.0,",
            "2,3.1,null,2.1,",
            "3,3.2,null,2.2,",
            "4,3.3,null,2.3,",
            "5,3.4,1.4,2.4,",
        ],
    )
    wait_for_columns(
        receiver,
        "SELECT * FROM root.sg1.d2 ORDER BY time",
        "Time,root.sg1.d2.s1,root.sg1.d2.s2,",
        [],
    )
    wait_for_columns(
        receiver,
        "SELECT * FROM root.sg1.d3 ORDER BY time",
        "Time,root.sg1.d3.s3,root.sg1.d3.s1,root.sg1.d3.s2,",
        [],
    )
    assert_data_eventually(
        receiver,
        "SELECT s1 FROM root.sg1.d1 WHERE time >= 2 AND time <= 4",
        "Time,root.sg1.d1.s1,",
        [],
    )
