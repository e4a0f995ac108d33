"""IoTDB's IoTDBPipeAlterIT (pipe/it/autocreate): ALTER PIPE MODIFY / REPLACE of each stage,
read back through SHOW PIPES, and what an altered pipe sends."""

from __future__ import annotations

import pytest
from iotdb_it import assert_data_always, assert_data_eventually
from it_pipe_admin import failure, show_pipes

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]


def _one(sender) -> dict[str, str]:
    (row,) = show_pipes(sender)
    return row


def test_basic_alter_pipe(auto_env) -> None:
    """testBasicAlterPipe: each ALTER keeps the state, changes what it names, renews the
    creation time and leaves no exception message."""
    sender, receiver = auto_env
    node_urls = f"127.0.0.1:{receiver.port}"
    urls = f"node-urls={node_urls}"
    sender.execute(
        "create pipe a2b with source ('source'='iotdb-source', 'source.pattern'='root.test1', "
        "'source.realtime.mode'='stream') with processor ('processor'='do-nothing-processor') "
        f"with sink ('node-urls'='{node_urls}')"
    )
    row = _one(sender)
    assert row["State"] == "RUNNING"
    for part in ("source=iotdb-source", "source.pattern=root.test1", "source.realtime.mode=stream"):
        assert part in row["PipeSource"], row
    assert "processor=do-nothing-processor" in row["PipeProcessor"]
    assert urls in row["PipeSink"]
    created = row["CreationTime"]
    sender.execute("stop pipe a2b")
    assert _one(sender)["State"] == "STOPPED"

    def altered(sql: str, state: str) -> dict[str, str]:
        nonlocal created
        sender.execute(sql)
        row = _one(sender)
        assert row["State"] == state
        assert row["CreationTime"] >= created, (row["CreationTime"], created)
        created = row["CreationTime"]
        assert row["ExceptionMessage"] in ("", "null"), row
        assert urls in row["PipeSink"]
        return row

    first = created
    row = altered("alter pipe a2b modify source ('source.pattern'='root.test2')", "STOPPED")
    for part in ("source=iotdb-source", "source.pattern=root.test2", "source.realtime.mode=stream"):
        assert part in row["PipeSource"], row
    assert "processor=do-nothing-processor" in row["PipeProcessor"]
    row = altered(
        "alter pipe a2b replace source ('source'='iotdb-source', 'source.path'='root.test1.**')",
        "STOPPED",
    )
    assert "source=iotdb-source" in row["PipeSource"]
    assert "source.path=root.test1.**" in row["PipeSource"]
    assert "source.pattern=root.test2" not in row["PipeSource"]
    assert "source.realtime.mode=stream" not in row["PipeSource"]
    assert "processor=do-nothing-processor" in row["PipeProcessor"]
    row = altered("alter pipe a2b modify sink ('sink.batch.enable'='false')", "STOPPED")
    assert "batch.enable=false" in row["PipeSink"]
    assert "source.path=root.test1.**" in row["PipeSource"]
    sender.execute("start pipe a2b")
    row = altered(
        "alter pipe a2b replace processor ('processor'='tumbling-time-sampling-processor')",
        "RUNNING",
    )
    assert "processor=tumbling-time-sampling-processor" in row["PipeProcessor"]
    assert "batch.enable=false" in row["PipeSink"]
    row = altered("alter pipe a2b modify sink ('connector.batch.enable'='true')", "RUNNING")
    assert "batch.enable=true" in row["PipeSink"]
    assert "processor=tumbling-time-sampling-processor" in row["PipeProcessor"]
    row = altered("alter pipe a2b modify source ()", "RUNNING")
    assert "source.path=root.test1.**" in row["PipeSource"]
    assert "batch.enable=true" in row["PipeSink"]
    row = altered("alter pipe a2b replace source ()", "RUNNING")
    assert "source=iotdb-source" not in row["PipeSource"]
    assert "source.path=root.test1.**" not in row["PipeSource"]
    assert "processor=tumbling-time-sampling-processor" in row["PipeProcessor"]
    row = altered("alter pipe a2b replace processor ()", "RUNNING")
    assert "processor=tumbling-time-sampling-processor" not in row["PipeProcessor"]
    assert "batch.enable=true" in row["PipeSink"]
    row = altered("alter pipe a2b modify sink ()", "RUNNING")
    assert "batch.enable=true" in row["PipeSink"]
    assert created > first  # the IT: strictly later after every ALTER


def test_alter_pipe_failure(auto_env) -> None:
    """testAlterPipeFailure: ALTER of no pipe is refused; then the CREATE works."""
    sender, receiver = auto_env
    node_urls = f"127.0.0.1:{receiver.port}"
    failure(
        sender, f"alter pipe a2b modify sink ('node-urls'='{node_urls}', 'batch.enable'='true')"
    )
    sender.execute(f"create pipe a2b with sink ('node-urls'='{node_urls}', 'batch.enable'='false')")
    assert _one(sender)["ID"] == "a2b"


def test_alter_pipe_source_and_processor(auto_env) -> None:
    """testAlterPipeSourceAndProcessor: the tumbling sampler's interval and the source's path
    changed together; a schema change then travels (inclusion all)."""
    sender, receiver = auto_env
    sender.execute(
        "create pipe a2b with source ('source' = 'iotdb-source','source.path' = 'root.db.d1.**')"
        " with processor ('processor'='tumbling-time-sampling-processor', "
        "'processor.tumbling-time.interval-seconds'='1', 'processor.down-sampling.split-file'="
        f"'true') with sink ('node-urls'='127.0.0.1:{receiver.port}', 'batch.enable'='false')"
    )
    sender.execute(
        "insert into root.db.d1 (time,at1) values (1000,1),(1500,2),(2000,3),(2500,4),(3000,5)",
        "flush",
    )
    assert_data_eventually(
        receiver,
        "select * from root.db.**",
        "Time,root.db.d1.at1,",
        ["1000,1.0,", "2000,3.0,", "3000,5.0,"],
    )
    sender.execute(
        "alter pipe a2b modify source('source' = 'iotdb-source','source.path'='root.db.d2.**', "
        "'source.inclusion'='all') modify processor ('processor.tumbling-time.interval-seconds'"
        "='2')"
    )
    rows = "(11000,1),(11500,2),(12000,3),(12500,4),(13000,5)"
    sender.execute(
        f"insert into root.db.d2 (time,at1) values {rows}",
        "flush",
        f"insert into root.db.d1 (time,at1) values {rows}",
        "flush",
    )
    assert_data_eventually(
        receiver,
        "select * from root.db.** where time > 10000",
        "Time,root.db.d1.at1,root.db.d2.at1,",
        ["11000,null,1.0,", "13000,null,5.0,"],
    )
    sender.execute("create timeSeries root.db.d2.at2 int32")
    assert_data_eventually(receiver, "count timeSeries", "count(timeseries),", ["3,"])


def test_alter_pipe_realtime(auto_env) -> None:
    """testAlterPipeRealtime: turning history on by ALTER sends what was written before."""
    sender, receiver = auto_env
    sender.execute(
        "insert into root.db.d1 (time, at1) values (1000, 1), (1500, 2), (2000, 3), (2500, 4), "
        "(3000, 5)",
        "flush",
    )
    sender.execute(
        "create pipe a2b with source ('history.enable'='false') with sink "
        f"('node-urls'='127.0.0.1:{receiver.port}')"
    )
    assert_data_always(
        receiver, "count timeSeries root.db.**", "count(timeseries),", ["0,"], seconds=1.0
    )
    sender.execute("alter pipe a2b modify source ('history.enable'='true')")
    assert_data_eventually(receiver, "count timeSeries root.db.**", "count(timeseries),", ["1,"])


def test_alter_pipe_does_not_resend_committed_data(auto_env) -> None:
    """testAlterPipeDoesNotResendCommittedData: a sink-only ALTER keeps the source's progress."""
    sender, receiver = auto_env
    sender.execute("insert into root.db.d1(time, s1) values (1, 1), (2, 2)", "flush")
    sender.execute(
        "create pipe a2b with source ('source.realtime.mode'='stream') with sink "
        f"('node-urls'='127.0.0.1:{receiver.port}', 'sink.batch.enable'='false')"
    )
    header = "Time,root.db.d1.s1,"
    assert_data_eventually(receiver, "select * from root.db.d1", header, ["1,1.0,", "2,2.0,"])
    receiver.execute("delete from root.db.d1.s1 where time >= 1 and time <= 2")
    assert_data_eventually(receiver, "select * from root.db.d1", header, [])
    sender.execute("alter pipe a2b modify sink ('sink.batch.enable'='true')")
    assert_data_always(receiver, "select * from root.db.d1", header, [], seconds=1.0)
    sender.execute("insert into root.db.d1(time, s1) values (3, 3)", "flush")
    assert_data_eventually(receiver, "select * from root.db.d1", header, ["3,3.0,"])
    assert_data_always(receiver, "select * from root.db.d1", header, ["3,3.0,"], seconds=1.0)
