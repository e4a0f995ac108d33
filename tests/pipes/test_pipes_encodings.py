"""A series keeps its declared encoding on the receiver after a TsFile transfer (issue 15
#5), even where pipecore's files must show another one (BOOLEAN RLE is written PLAIN for the
official readers) — between real `pipecore serve` processes."""

from __future__ import annotations

import pytest
from thrift_processes import Serve, start_all, wait_for

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

DECLARED = [("BOOLEAN", "RLE"), ("BOOLEAN", "PLAIN"), ("INT32", "RLE"), ("DOUBLE", "RLE")]


@pytest.mark.parametrize("sink", ["iotdb-thrift-sink", "iotdb-thrift-sync-sink"])
def test_declared_encodings_survive_a_tsfile_transfer(tmp_path, sink) -> None:
    a, b = start_all(Serve(tmp_path, "A"), Serve(tmp_path, "B"))
    try:
        for i, (dt, enc) in enumerate(DECLARED):
            a.sql(f"CREATE TIMESERIES root.enc.d.s{i} WITH DATATYPE={dt}, ENCODING={enc}")
        a.sql("insert into root.enc.d(time, s0, s1, s2, s3) values (1, true, false, 1, 1.5)")
        a.sql("insert into root.enc.d(time, s0, s1, s2, s3) values (2, false, true, 2, 2.5)")
        a.sql("flush")  # history: sent as a sealed TsFile
        a.sql(f"CREATE PIPE enc WITH SINK ('sink'='{sink}', 'sink.node-urls'='{b.url}')")
        wait_for(lambda: b.count("root.enc.**") == 8, 30, "the file at B", (a, b))
        sent = {r[0]: (r[3], r[4]) for r in a.rows("show timeseries root.enc.**")}
        got = {r[0]: (r[3], r[4]) for r in b.rows("show timeseries root.enc.**")}
        assert got == sent
        assert got["root.enc.d.s0"] == ("BOOLEAN", "RLE")
    finally:
        a.stop()
        b.stop()
