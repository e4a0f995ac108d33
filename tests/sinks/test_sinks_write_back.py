"""``write-back-sink``: with ``aggregate-processor`` it down-samples one database into another
on the same node, and what it writes is marked as written by a pipe."""

from __future__ import annotations

from pipecore import Node
from pipecore.testing import wait_until


def _value(node: Node, sql: str) -> list[tuple]:
    return [tuple(r) for r in node.execute(sql, zone="UTC").rows]


def test_aggregate_into_another_database(node: Node) -> None:
    node.execute(
        "CREATE PIPE downsample "
        "WITH SOURCE ('source'='iotdb-source', 'source.path'='root.raw.**') "
        "WITH PROCESSOR ('processor'='aggregate-processor', 'processor.operators'='avg,max', "
        "'processor.sliding.seconds'='10', 'processor.output.database'='root.stats') "
        "WITH SINK ('sink'='write-back-sink')"
    )
    values = ", ".join(f"({t * 1000}, {t})" for t in range(0, 25))
    node.execute(f"insert into root.raw.d1(time, s1) values {values}")
    wait_until(lambda: len(_value(node, "select avg, max from root.stats.d1.s1")) == 2, 20)
    rows = _value(node, "select avg, max from root.stats.d1.s1")
    assert [(r[0], float(r[1]), float(r[2])) for r in rows] == [
        ("1970-01-01T00:00:00.000Z", 4.5, 9.0),
        ("1970-01-01T00:00:10.000Z", 14.5, 19.0),
    ]
    assert node.get_pipe("downsample").state == "RUNNING"


def test_written_back_data_is_marked_as_from_a_pipe(node: Node) -> None:
    """The store records the written-back rows as written by a pipe of this cluster (what a
    source with forwarding-pipe-requests=false skips), the raw rows as a client's."""
    subscription = node.store.subscribe("probe")
    node.execute(
        "CREATE PIPE copy WITH SOURCE ('source'='iotdb-source', 'source.path'='root.a.**') "
        "WITH PROCESSOR ('processor'='aggregate-processor', 'processor.operators'='max', "
        "'processor.sliding.seconds'='1', 'processor.output.database'='root.b') "
        "WITH SINK ('sink'='write-back-sink')"
    )
    node.execute("insert into root.a.d(time, s) values (0, 1), (1000, 2), (2000, 3)")
    wait_until(lambda: len(_value(node, "select max from root.b.d.s")) == 2, 20)
    origins: dict[str, object] = {}
    while (event := subscription.get(timeout=0.1)) is not None:
        tablet = getattr(event, "tablet", None)
        if tablet is not None:
            origins[tablet.device] = event.origin
    assert not origins["root.a.d"].generated_by_pipe
    assert origins["root.b.d.s"].generated_by_pipe
    assert origins["root.b.d.s"].cluster_id == node.cluster_id


def test_sink_database_writes_under_another_database(node: Node) -> None:
    """``sink.database``: each row goes under that database instead of its own (its device's
    database prefix is swapped); a ``root.``-prefixed name is taken too."""
    node.execute("create database root.source")
    node.execute(
        "CREATE PIPE wb WITH SOURCE ('source.path'='root.source.**') "
        "WITH SINK ('sink'='write-back-sink', 'sink.database'='root.target')"
    )
    node.execute("insert into root.source.d1(time, s1) values (1, 1)")
    node.execute("insert into root.source.x.d2(time, s1) values (2, 2)")
    wait_until(lambda: len(_value(node, "select s1 from root.target.**")) == 2, 20)
    names = {r[0] for r in node.execute("show timeseries root.target.**").rows}
    assert names == {"root.target.d1.s1", "root.target.x.d2.s1"}
