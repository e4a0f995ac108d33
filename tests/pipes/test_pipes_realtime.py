"""Realtime data between real `pipecore serve` processes: a hybrid pipe never waits for an
unrelated flush, SHOW PIPES counts what waits, and a multi-row INSERT is one event."""

from __future__ import annotations

import time

import pytest
from thrift_processes import Serve, start_all, wait_for

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

#: a small queue between processor and sink, so that a stopped receiver makes the source lag
LAGGY = {"pipe_sink_pending_queue_max_events": 4}


def _remaining(node: Serve, pipe: str) -> int:
    [row] = [r for r in node.rows("SHOW PIPES") if r[0] == pipe]
    return int(row[7])


def test_hybrid_pipe_that_fell_back_to_files_delivers_without_a_flush(tmp_path) -> None:
    """The receiver is down: the hybrid source falls back to sealed files; the rows wait in a
    memtable (SHOW PIPES counts them). The receiver comes back: every row arrives within a
    few seconds, with no FLUSH and the store's own flush interval (10 minutes) far away."""
    a, b = start_all(Serve(tmp_path, "A", LAGGY), Serve(tmp_path, "B"))
    try:
        a.sql(f"CREATE PIPE lag WITH SINK ('sink'='iotdb-thrift-sink', 'sink.node-urls'='{b.url}')")
        b.stop()
        rows = 120
        for i in range(rows):
            a.sql(f"INSERT INTO root.lag.d(time, s) VALUES ({i + 1}, {i})")
        # what waits is counted: nothing reached B, so every row is still remaining
        wait_for(lambda: _remaining(a, "lag") >= 8, 10, "SHOW PIPES to count the waiting rows")
        time.sleep(1.5)  # long enough for the source to have fallen back to files
        assert _remaining(a, "lag") >= rows // 2  # the rows in a memtable count
        b.start()
        started = time.monotonic()
        wait_for(lambda: b.count("root.lag.**") == rows, 30, "every row at B", logs=(a, b))
        assert time.monotonic() - started < 30
        wait_for(lambda: _remaining(a, "lag") == 0, 10, "nothing remaining")
    finally:
        a.stop()
        b.stop()
