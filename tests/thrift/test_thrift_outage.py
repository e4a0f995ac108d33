"""SHOW PIPES tells the truth about outages, between real `pipecore serve` processes: a
receiver that is down or refusing shows in ExceptionMessage within seconds (since when, the
retry count, the last error), RemainingEventCount keeps counting a backlog larger than the
source's subscription can queue, and both clear once the receiver takes the data."""

from __future__ import annotations

import time

import pytest
from thrift_processes import Serve, wait_for

ROWS = 10


def _row(node: Serve, pipe: str = "p") -> tuple:
    [row] = [r for r in node.rows("SHOW PIPES") if r[0] == pipe]
    return row


def _insert(node: Serve, batches: int, first: int) -> None:
    for b in range(first, first + batches):
        rows = ", ".join(f"({b * ROWS + i + 1}, {i})" for i in range(ROWS))
        node.sql(f"INSERT INTO root.sg.d(time, s) VALUES {rows}")


@pytest.mark.subprocess
@pytest.mark.slow
@pytest.mark.parametrize("sink", ["iotdb-thrift-sink", "iotdb-thrift-sync-sink"])
def test_a_receiver_that_is_down_shows_and_the_backlog_is_counted(tmp_path, sink):
    recv = Serve(tmp_path, "recv").start()
    send = Serve(tmp_path, "send").start()
    try:
        send.sql("CREATE DATABASE root.sg")
        send.sql(f"CREATE PIPE p WITH SINK ('sink'='{sink}', 'sink.node-urls'='{recv.url}')")
        _insert(send, 1, 0)
        wait_for(lambda: recv.count() == ROWS, 30, "the first batch arrives")
        assert _row(send)[6] == ""
        recv.kill()
        _insert(send, 1, 1)
        start = time.monotonic()
        wait_for(lambda: "retrying" in _row(send)[6], 10, "the outage shows in SHOW PIPES")
        assert time.monotonic() - start < 10
        row = _row(send)
        assert row[2] == "RUNNING"
        assert "(retry " in row[6] and f"receiver {recv.url}" in row[6]  # count, error
        # 2,500 INSERTs of 10 rows: one event each (a multi-row INSERT is one tablet), and
        # 25,000 rows, more than the source's subscription queues hold (≈12 k)
        batches = 2500
        _insert(send, batches, 2)
        remaining = int(_row(send)[7])
        assert remaining >= batches, remaining
        recv.start()
        total = (batches + 2) * ROWS
        # behind, the hybrid source sends what it could not queue as sealed TsFiles: the
        # backlog keeps being counted until then, and a FLUSH seals them now
        wait_for(lambda: _row(send)[6] == "", 30, "the outage clears")
        # nothing is forgotten: what remains (events of ROWS rows) covers what has not arrived
        wait_for(
            lambda: int(_row(send)[7]) * ROWS + recv.count() >= total, 30, "remaining + received"
        )
        send.sql("FLUSH")
        wait_for(lambda: recv.count() == total, 120, "the backlog arrives")
        wait_for(lambda: _row(send)[7] == "0", 30, "nothing remains")
    finally:
        send.stop()
        recv.stop()


@pytest.mark.subprocess
@pytest.mark.slow
def test_a_refusing_receiver_shows_its_status(tmp_path):
    recv = Serve(tmp_path, "recv").start()
    send = Serve(tmp_path, "send").start()
    try:
        recv.sql("CREATE USER edge 'edge1'")  # may log in, may not write
        send.sql("CREATE DATABASE root.sg")
        send.sql(
            "CREATE PIPE p WITH SINK ('sink'='iotdb-thrift-sink', "
            f"'sink.node-urls'='{recv.url}', 'sink.username'='edge', 'sink.password'='edge1')"
        )
        _insert(send, 1, 0)
        wait_for(lambda: "803" in _row(send)[6], 10, "the refusal shows in SHOW PIPES")
        assert "No permissions for this operation" in _row(send)[6]
        assert recv.count() == 0
        recv.sql("GRANT WRITE_DATA, WRITE_SCHEMA ON root.sg.** TO USER edge")
        wait_for(lambda: recv.count() == ROWS, 60, "the data arrives after the GRANT")
        wait_for(lambda: _row(send)[6] == "", 30, "the outage clears")
    finally:
        send.stop()
        recv.stop()


def test_a_full_receiver_is_reported_while_retried_and_cleared_after():
    from pipecore import PipeParameters
    from pipecore.outage import OutageReport
    from pipecore.rpc import PipeTransferResponse, Status
    from pipecore_thrift_sink.options import SinkOptions
    from pipecore_thrift_sink.status import StatusPolicy

    outage = OutageReport()
    policy = StatusPolicy(
        SinkOptions.parse(PipeParameters({"sink.node-urls": "127.0.0.1:6667"})), 0.001, outage
    )
    answers = [Status(1808, "No space left on device"), Status(1808, "still full"), Status.ok()]
    seen = []

    def send():
        snapshot = outage.snapshot()
        seen.append(None if snapshot is None else (snapshot.retries, snapshot.last_error))
        return PipeTransferResponse(answers.pop(0))

    assert policy.deliver(send, lambda: "a tablet", "127.0.0.1:6667").status.is_success
    assert seen[0] is None
    assert seen[1][0] == 1 and "1808" in seen[1][1] and "No space left" in seen[1][1]
    assert seen[2][0] == 2 and "still full" in seen[2][1]
    assert outage.snapshot() is None  # cleared by the success
