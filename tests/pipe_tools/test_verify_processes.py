"""VERIFY PIPE and RESYNC PIPE between real `pipecore serve` processes: a window deleted on the
receiver and a value changed there are found, and RESYNC resends exactly those two windows."""

from __future__ import annotations

import pytest
from thrift_processes import wait_for

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

HOUR = 3_600_000
WINDOWS = 6
PER_WINDOW = 60  # one point a minute


def insert_rows(node, device: str) -> None:
    rows = [f"({i * 60_000}, {i}, {i * 0.5})" for i in range(WINDOWS * PER_WINDOW)]
    for at in range(0, len(rows), 120):
        values = ", ".join(rows[at : at + 120])
        node.sql(f"INSERT INTO {device}(timestamp, s1, s2) VALUES {values}")


def synced(sender, receiver, pattern: str) -> bool:
    return receiver.count(pattern) == sender.count(pattern) > 0


def test_verify_finds_a_deleted_window_and_a_changed_value_and_resync_repairs_them(two_nodes):
    a, b = two_nodes
    insert_rows(a, "root.vt.d1")
    a.sql("FLUSH")
    insert_rows(a, "root.vt.d2")  # d2 stays in the memtable
    a.sql(
        "CREATE PIPE vt WITH SOURCE ('source.path'='root.vt.**') "
        f"WITH SINK ('sink'='iotdb-thrift-sink', 'sink.node-urls'='{b.url}')"
    )
    wait_for(lambda: synced(a, b, "root.vt.**"), 60, "the pipe's data", [a, b])
    assert a.rows("VERIFY PIPE vt GRANULARITY 1h") == []

    b.sql(f"DELETE FROM root.vt.d1.s1 WHERE time >= {2 * HOUR} AND time < {3 * HOUR}")
    b.sql(f"INSERT INTO root.vt.d2(timestamp, s2) VALUES ({4 * HOUR + 60_000}, -1.0)")
    rows = a.rows("VERIFY PIPE vt GRANULARITY 1h")
    assert rows == [
        ("root.vt.d1.s1", str(2 * HOUR), str(3 * HOUR), "60", "0", "missing"),
        ("root.vt.d2.s2", str(4 * HOUR), str(5 * HOUR), "60", "60", "differs"),
    ]
    # a time range narrows it; a finer granularity finds the changed minute alone
    assert [r[0] for r in a.rows(f"VERIFY PIPE vt WHERE time >= {3 * HOUR}")] == ["root.vt.d2.s2"]
    [fine] = a.rows(f"VERIFY PIPE vt WHERE time >= {4 * HOUR} GRANULARITY 1m")
    assert fine[1:] == (str(4 * HOUR + 60_000), str(4 * HOUR + 120_000), "1", "1", "differs")

    [report] = a.rows("RESYNC PIPE vt GRANULARITY 1h")
    assert report == ("2", str(2 * PER_WINDOW), "2", "0")  # exactly those two windows
    assert a.rows("VERIFY PIPE vt GRANULARITY 1h") == []
    [(_, repaired)] = b.rows(f"select s2 from root.vt.d2 where time = {4 * HOUR + 60_000}")
    assert repaired == "120.5"  # the sender's value again
    # the pipe itself kept running
    [pipe] = [r for r in a.rows("SHOW PIPES") if r[0] == "vt"]
    assert pipe[2] == "RUNNING"


def test_extra_points_on_the_receiver_are_reported_not_resent(two_nodes):
    a, b = two_nodes
    a.sql("INSERT INTO root.vx.d1(timestamp, s1) VALUES (1, 1), (2, 2)")
    a.sql(
        "CREATE PIPE vx WITH SOURCE ('source.path'='root.vx.**') "
        f"WITH SINK ('sink'='iotdb-thrift-sink', 'sink.node-urls'='{b.url}')"
    )
    wait_for(lambda: synced(a, b, "root.vx.**"), 60, "the pipe's data", [a, b])
    b.sql(f"INSERT INTO root.vx.d1(timestamp, s1) VALUES ({5 * HOUR}, 5)")
    b.sql(f"INSERT INTO root.vx.d9(timestamp, s1) VALUES ({5 * HOUR}, 5)")
    rows = a.rows("VERIFY PIPE vx")
    assert [(r[0], r[5]) for r in rows] == [("root.vx.d1.s1", "extra"), ("root.vx.d9.s1", "extra")]
    [report] = a.rows("RESYNC PIPE vx")
    assert report == ("0", "0", "0", "2")


def test_verify_of_an_unknown_pipe_is_a_clear_error(two_nodes):
    a, _ = two_nodes
    from pipecore.cli.remote import ServerError

    with pytest.raises(ServerError, match="nope"):
        a.sql("VERIFY PIPE nope")
