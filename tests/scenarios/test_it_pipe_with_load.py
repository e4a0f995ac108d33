"""IoTDB's IoTDBPipeWithLoadIT, tree model (pipe/it/dual/treemodel/auto/enhanced): a history
file whose mods delete some series completely is sent with ``source.mods.enable``; the
receiver does not create the series the mods emptied."""

from __future__ import annotations

import pytest
from iotdb_it import assert_data_eventually, create_pipe

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]


def test_receiver_not_load_deleted_timeseries(auto_env) -> None:
    """testReceiverNotLoadDeletedTimeseries: 6 series; d1.s3 and d4.s1 deleted by mods."""
    sender, receiver = auto_env
    sender.try_execute(
        "insert into root.db.d1 (time, s1, s2, s3) values (1, 1, 1, 1), (3, 3, 3, 3)",
        "insert into root.db.d2 (time, s1) values (1, 1), (3, 3)",
        "insert into root.db.d3 (time, s1) values (1, 1), (3, 3)",
        "insert into root.db.d4 (time, s1) values (1, 1), (3, 3)",
        "flush",
    )
    # (the IT sleeps 5 s here for a region leader change of a cluster; one node has none)
    sender.try_execute(
        "delete from root.db.d1.s2 where time <= 2",
        "delete from root.db.d1.s3 where time >= 1 and time <= 3",
        "delete from root.db.d3.** where time <= 2",
        "delete from root.db.d4.** where time >= 1 and time <= 3",
        "flush",
    )
    create_pipe(
        sender,
        "p1",
        source={"source.mods.enable": "true"},
        sink={
            "connector.batch.enable": "false",
            "connector.ip": "127.0.0.1",
            "connector.port": str(receiver.port),
        },
    )
    assert_data_eventually(receiver, "count timeseries root.db.**", "count(timeseries),", ["4,"])
