"""Poison events between real processes: an event the receiver keeps refusing (a type it
cannot convert) goes to the sender's quarantine after ``sink.quarantine.max-tries``; the pipe
goes on; after the cause is fixed, REPLAY QUARANTINE delivers it. Also: a pipe created stopped
(``'start'='false'``), and ALTER PIPE … RESET PROGRESS / SET PROGRESS TO."""

from __future__ import annotations

import pytest
from thrift_processes import wait_for

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]


def user_pipes(node) -> dict[str, tuple]:
    """The node's pipes by name: SHOW PIPES lists no pipeTransfer senders, as in IoTDB."""
    return {r[0]: r for r in node.rows("SHOW PIPES")}


@pytest.mark.parametrize("sink", ["iotdb-thrift-sink", "iotdb-thrift-sync-sink"])
def test_a_refused_event_is_quarantined_and_replayed_after_the_fix(two_nodes, sink):
    a, b = two_nodes
    db = f"root.q{sink.count('sync')}"
    b.sql(f"CREATE TIMESERIES {db}.d1.s1 WITH DATATYPE=BOOLEAN")
    a.sql(f"INSERT INTO {db}.d1(timestamp, s1) VALUES (1, 'not a boolean')")
    name = f"quar{sink.count('sync')}"
    a.sql(
        f"CREATE PIPE {name} WITH SOURCE ('source.path'='{db}.**') WITH SINK ('sink'='{sink}', "
        f"'sink.node-urls'='{b.url}', 'sink.exception.conflict.retry-max-time-seconds'='0', "
        "'sink.quarantine.max-tries'='2', 'sink.exception.data.convert-on-type-mismatch'='false')"
    )
    entries = wait_for(lambda: a.rows(f"SHOW QUARANTINE {name}"), 60, "a quarantined event", [a])
    [(pipe, _entry, kind, points, size, tries, _time, reason)] = entries
    # a history file (sealed when the pipe started) or a tablet, by how the sink sends it
    assert (pipe, kind in ("tsfile", "tablet"), points, tries) == (name, True, "1", "2")
    assert int(size) > 0 and "1810" in reason
    # the pipe did not stop: later data still flows
    a.sql(f"INSERT INTO {db}.d2(timestamp, s1) VALUES (2, 2)")
    wait_for(lambda: b.count(f"{db}.d2") == 1, 60, "data after the poison event", [a, b])
    assert user_pipes(a)[name][2] == "RUNNING"
    # the cause fixed, the entry goes through
    b.sql(f"DELETE TIMESERIES {db}.d1.s1")
    [(replayed, points, failed, _)] = a.rows(f"REPLAY QUARANTINE {name}")
    assert (replayed, points, failed) == ("1", "1", "0")
    assert b.rows(f"select s1 from {db}.d1")[0][1] == "not a boolean"
    assert a.rows(f"SHOW QUARANTINE {name}") == []
    a.sql(f"DROP PIPE {name}")


def test_created_stopped_then_reset_and_set_progress(two_nodes):
    a, b = two_nodes
    a.sql("INSERT INTO root.pr.d1(timestamp, s1) VALUES (1000, 1), (2000, 2), (3000, 3)")
    a.sql("FLUSH")
    a.sql(
        "CREATE PIPE pr WITH SOURCE ('source.path'='root.pr.**', 'start'='false') "
        f"WITH SINK ('sink'='iotdb-thrift-sink', 'sink.node-urls'='{b.url}')"
    )
    pipe = user_pipes(a)["pr"]
    assert pipe[2] == "STOPPED" and "'start'" not in pipe[3] and "start=" not in pipe[3]
    assert b.count("root.pr.**") == 0
    a.sql("START PIPE pr")
    wait_for(lambda: b.count("root.pr.**") == 3, 60, "the first send", [a, b])
    # the receiver loses everything; RESET PROGRESS sends it all again
    b.sql("DELETE FROM root.pr.d1.s1 WHERE time >= 0")
    assert b.count("root.pr.**") == 0
    a.sql("ALTER PIPE pr RESET PROGRESS")
    wait_for(lambda: b.count("root.pr.**") == 3, 60, "the send after RESET PROGRESS", [a, b])
    # SET PROGRESS TO 2000: data from that time on is sent again, older data is not
    b.sql("DELETE FROM root.pr.d1.s1 WHERE time >= 0")
    a.sql("ALTER PIPE pr SET PROGRESS TO 2000")
    wait_for(lambda: b.count("root.pr.**") == 2, 60, "the send after SET PROGRESS", [a, b])
    assert [r[0] for r in b.rows("select s1 from root.pr.d1")] == [
        "1970-01-01T00:00:02.000Z",
        "1970-01-01T00:00:03.000Z",
    ]
    a.sql("DROP PIPE pr")
