"""IoTDB's IoTDBPipeAutoDropIT (pipe/it/autocreate): a `mode=query` pipe sends its
snapshot and drops itself."""

from __future__ import annotations

import pytest
from iotdb_it import assert_data_eventually, create_pipe, thrift_sink

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

SHOW_PIPES = (
    "ID,CreationTime,State,PipeSource,PipeProcessor,PipeSink,ExceptionMessage,"
    "RemainingEventCount,EstimatedRemainingSeconds,"
)


def test_auto_drop_in_historical_transfer(auto_env) -> None:
    """testAutoDropInHistoricalTransfer."""
    sender, receiver = auto_env
    sender.try_execute("insert into root.db.d1(time, s1) values (1, 1)", "flush")
    create_pipe(
        sender,
        "p1",
        source={"extractor.mode": "query"},
        sink=thrift_sink(receiver, {"connector.batch.enable": "false"}),
    )
    assert_data_eventually(
        receiver, "select count(*) from root.**", "count(root.db.d1.s1),", ["1,"]
    )
    assert_data_eventually(sender, "show pipes", SHOW_PIPES, [])


def test_auto_drop_in_historical_transfer_with_time_range(auto_env) -> None:
    """testAutoDropInHistoricalTransferWithTimeRange: start-time/end-time bound the snapshot."""
    sender, receiver = auto_env
    sender.try_execute(
        "insert into root.db.d1(time, s1) values (1000, 1), (2000, 2), (3000, 3), (4000, 4), "
        "(5000, 5)",
        "flush",
    )
    create_pipe(
        sender,
        "p1",
        source={
            "extractor.mode": "query",
            "extractor.start-time": "1970-01-01T08:00:02+08:00",
            "extractor.end-time": "1970-01-01T08:00:04+08:00",
        },
        sink=thrift_sink(receiver, {"connector.batch.enable": "false"}),
    )
    assert_data_eventually(
        receiver, "select count(*) from root.**", "count(root.db.d1.s1),", ["3,"]
    )
    assert_data_eventually(sender, "show pipes", SHOW_PIPES, [])
