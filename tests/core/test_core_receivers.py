"""The node's registry of connected senders (what SHOW PIPES lists with role receiver)."""

from __future__ import annotations

import threading

from pipecore.server.receivers import ReceiverRegistry


def test_connections_are_listed_until_closed_with_what_they_touched() -> None:
    reg = ReceiverRegistry()
    a = reg.open("thrift", "127.0.0.1:50001", "cluster-a")
    b = reg.open("air-gap", "127.0.0.1:50002")
    reg.update(a, databases={"root.vehicle"}, points=6)
    reg.update(a, databases={"root.ln"}, files=1, error="1804: seal failed")
    listed = reg.list()
    assert [(c.id, c.transport, c.remote) for c in listed] == [
        (a.id, "thrift", "127.0.0.1:50001"),
        (b.id, "air-gap", "127.0.0.1:50002"),
    ]
    first = listed[0]
    assert first.databases == {"root.vehicle", "root.ln"}
    assert (first.points, first.files, first.last_error) == (6, 1, "1804: seal failed")
    first.databases.add("root.other")  # a snapshot: changing it changes nothing
    assert reg.list()[0].databases == {"root.vehicle", "root.ln"}
    reg.close(a)
    assert [c.id for c in reg.list()] == [b.id]


def test_concurrent_updates_are_counted_exactly() -> None:
    reg = ReceiverRegistry()
    conn = reg.open("thrift", "127.0.0.1:1")

    def work() -> None:
        for _ in range(1000):
            reg.update(conn, points=1)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert reg.list()[0].points == 4000
