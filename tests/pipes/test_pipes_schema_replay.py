"""Schema changes made while a pipe is stopped reach the receiver when it starts again, with
history off (IoTDB's pipes read the schema region's listening queue from their committed
index): the store's schema history replays them from the pipe's progress, also after the
sender was killed (-9) between the changes and START PIPE. Real `pipecore serve`
processes."""

from __future__ import annotations

import pytest
from thrift_processes import Serve, start_all, wait_for

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]


def _databases(node: Serve) -> set[str]:
    return {r[0] for r in node.rows("show databases")}


def _series(node: Serve) -> set[str]:
    return {r[0] for r in node.rows("show timeseries root.**")}


def test_schema_changed_while_stopped_goes_at_start_after_a_kill(tmp_path) -> None:
    a, b = start_all(Serve(tmp_path, "A"), Serve(tmp_path, "B"))
    try:
        a.sql("insert into root.db.d1(time, s1) values (1, 1)")
        a.sql("flush")
        a.sql(
            "create pipe p1 with source ('source.inclusion'='all', "
            "'source.history.enable'='false') "
            f"with sink ('sink'='iotdb-thrift-sink', 'sink.node-urls'='{b.url}')"
        )
        a.sql("create database root.ln")
        a.sql("create timeseries root.db.d1.s2 with datatype=BOOLEAN,encoding=PLAIN")
        a.sql("insert into root.db.d1(time, s1) values (2, 2)")
        wait_for(lambda: b.count("root.db.**") == 1, 30, "the realtime row at B", logs=(a, b))
        wait_for(lambda: "root.ln" in _databases(b), 30, "root.ln at B", logs=(a, b))
        assert _series(b) == {"root.db.d1.s1", "root.db.d1.s2"}
        a.sql("stop pipe p1")
        a.sql("create database root.ln0")
        a.sql("create timeseries root.db.d1.s3 with datatype=BOOLEAN,encoding=PLAIN")
        a.sql("create aligned timeseries root.ln0.d(a INT32, b FLOAT)")
        a.sql("delete timeseries root.db.d1.s2")
        a.sql("insert into root.db.d1(time, s1) values (3, 3)")
        a.kill()  # SIGKILL between the changes and START PIPE
        a.start()
        assert "root.ln0" not in _databases(b)  # the pipe is still stopped
        a.sql("start pipe p1")
        want = {"root.db.d1.s1", "root.db.d1.s3", "root.ln0.d.a", "root.ln0.d.b"}
        wait_for(lambda: _series(b) == want, 30, "the schema made while stopped", logs=(a, b))
        assert _databases(b) == {"root.db", "root.ln", "root.ln0"}
        wait_for(lambda: b.count("root.db.**") == 2, 30, "the row made while stopped")
        assert b.rows("show devices root.ln0.**")[0][1] == "true"  # aligned, as made
    finally:
        a.stop()
        b.stop()
