"""A snapshot pipe (``source.mode=query`` / ``snapshot``) sends the history and then drops
itself, as IoTDB's does (issue 15 #5) — between real `pipecore serve` processes."""

from __future__ import annotations

import pytest
from thrift_processes import Serve, start_all, wait_for

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]


@pytest.mark.parametrize("mode", ["query", "snapshot"])
def test_snapshot_pipe_drops_itself_when_done(tmp_path, mode) -> None:
    a, b = start_all(Serve(tmp_path, "A"), Serve(tmp_path, "B"))
    try:
        values = ", ".join(f"({t}, {t})" for t in range(1, 501))
        a.sql(f"insert into root.snap.d(time, s) values {values}")
        a.sql(
            f"CREATE PIPE snap WITH SOURCE ('source.mode'='{mode}') WITH SINK "
            f"('sink'='iotdb-thrift-sink', 'sink.node-urls'='{b.url}')"
        )
        wait_for(lambda: b.count("root.snap.**") == 500, 30, "the snapshot at B", (a, b))
        wait_for(
            lambda: all(r[0] != "snap" for r in a.rows("SHOW PIPES")), 30, "the pipe dropped", (a,)
        )
        a.sql("insert into root.snap.d(time, s) values (1000, 1)")  # no pipe sends this
        assert b.count("root.snap.**") == 500
        # an empty snapshot is done at once
        a.sql(
            f"CREATE PIPE empty WITH SOURCE ('source.mode'='{mode}', 'source.path'='root.none.**') "
            f"WITH SINK ('sink'='iotdb-thrift-sink', 'sink.node-urls'='{b.url}')"
        )
        wait_for(lambda: all(r[0] != "empty" for r in a.rows("SHOW PIPES")), 30, "dropped", (a,))
    finally:
        a.stop()
        b.stop()
