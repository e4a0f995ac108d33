"""Paths that need back-quotes (issue 15 #5), between real `pipecore serve` processes: a
legacy ``pattern`` with back-quoted nodes takes what the same ``path`` takes, and SHOW
TIMESERIES / SHOW DEVICES / SELECT show such paths back-quoted, as IoTDB does."""

from __future__ import annotations

import pytest
from thrift_processes import Serve, start_all, wait_for

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]


def test_back_quoted_pattern_and_display(tmp_path) -> None:
    a, b = start_all(Serve(tmp_path, "A"), Serve(tmp_path, "B"))
    try:
        a.sql("insert into root.sg.`1(TS)`(time, s) values (1, 1)")
        a.sql("insert into root.sg.d(time, `1x`, `s(1)`) values (1, 1, 2)")
        assert [r[0] for r in a.rows("show timeseries root.sg.**")] == [
            "root.sg.`1(TS)`.s",
            "root.sg.d.1x",
            "root.sg.d.`s(1)`",
        ]
        assert [r[0] for r in a.rows("show devices root.sg.**")] == [
            "root.sg.`1(TS)`",
            "root.sg.d",
        ]
        header = list(a.sql("select * from root.sg.**").table().columns)
        assert header[1:] == ["root.sg.`1(TS)`.s", "root.sg.d.1x", "root.sg.d.`s(1)`"]
        # the legacy prefix pattern, written with IoTDB's back-quotes
        a.sql(
            "CREATE PIPE q WITH SOURCE ('source.pattern'='root.sg.`1(TS)`', "
            "'source.realtime.mode'='stream') "
            f"WITH SINK ('sink'='iotdb-thrift-sink', 'sink.node-urls'='{b.url}')"
        )
        a.sql("insert into root.sg.`1(TS)`(time, s) values (2, 2)")
        wait_for(lambda: b.count("root.sg.**") == 2, 30, "both points at B", (a, b))
        # it took root.sg.`1(TS)` (history and realtime) as 'path' would, not root.sg.d
        assert [r[0] for r in b.rows("show timeseries root.sg.**")] == ["root.sg.`1(TS)`.s"]
    finally:
        a.stop()
        b.stop()
