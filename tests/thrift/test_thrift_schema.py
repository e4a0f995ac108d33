"""Schema travels with the data (issue 16) between real `pipecore serve` processes:
``source.inclusion`` = all / schema / data, history (the schema when the pipe starts) and
realtime (each change as it happens), over the async and the sync thrift sink."""

from __future__ import annotations

import time

import pytest
from thrift_processes import Serve, start_all, wait_for

from pipecore.cli.remote import ServerError

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

SINKS = ["iotdb-thrift-sink", "iotdb-thrift-sync-sink"]


@pytest.fixture(scope="module")
def ab(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("schema")
    made = start_all(Serve(tmp, "A"), Serve(tmp, "B"))
    yield made
    for node in made:
        node.stop()


@pytest.fixture
def nodes(ab):
    yield ab
    for node in ab:
        for row in node.rows("SHOW PIPES"):  # this node's own pipes only, as in IoTDB
            node.sql(f"DROP PIPE {row[0]}")


def name(prefix: str, sink: str) -> str:
    """The test's databases are ``<name>.db``, ``<name>.db_empty`` …"""
    return f"root.{prefix}_{sink.removeprefix('iotdb-thrift-').replace('-', '_')}"


def pipe(node: Serve, to: Serve, sink: str, inclusion: str, pattern: str) -> None:
    node.sql(
        f"CREATE PIPE p WITH SOURCE ('source.inclusion'='{inclusion}', "
        f"'source.path'='{pattern}.**')"
        f" WITH SINK ('sink'='{sink}', 'sink.node-urls'='{to.url}')"
    )
    [row] = [r for r in node.rows("SHOW PIPES") if r[0] == "p"]
    assert row[2] == "RUNNING", row


def databases(node: Serve, base: str) -> list[str]:
    table = node.sql(f"SHOW DATABASES {base}.**").table()
    column = list(table.columns).index("Database")
    return sorted(str(row[column]) for row in table.rows)


def schema_of(node: Serve, base: str) -> dict[str, list]:
    """What must be equal on both ends: databases, series (every SHOW TIMESERIES column),
    devices (aligned), COUNT TIMESERIES."""
    return {
        "databases": databases(node, base),
        "series": sorted(node.rows(f"SHOW TIMESERIES {base}.**")),
        "devices": sorted(node.rows(f"SHOW DEVICES {base}.**")),
        "count": node.rows(f"COUNT TIMESERIES {base}.**"),
    }


def same_schema(a: Serve, b: Serve, base: str, what: str) -> dict[str, list]:
    return wait_for(
        lambda: (s := schema_of(a, base)) == schema_of(b, base) and s, 30, what, logs=(a, b)
    )


def make_schema(node: Serve, db: str) -> None:
    node.sql(f"CREATE DATABASE {db}")
    node.sql(f"CREATE DATABASE {db}_empty")
    node.sql(
        f"CREATE TIMESERIES {db}.d1.s1(temperature) WITH DATATYPE=FLOAT, ENCODING=GORILLA, "
        "COMPRESSOR=ZSTD TAGS(unit=c, place=hall) ATTRIBUTES(owner=x)"
    )
    node.sql(f"CREATE TIMESERIES {db}.d1.s2 WITH DATATYPE=TEXT, ENCODING=DICTIONARY")
    node.sql(f"CREATE ALIGNED TIMESERIES {db}.d2(a INT64 encoding=TS_2DIFF, b BOOLEAN)")
    node.sql(f"INSERT INTO {db}.d1(time, s1) VALUES (1, 1.5), (2, 2.5)")


@pytest.mark.parametrize("sink", SINKS)
def test_inclusion_all_history_and_realtime(nodes, sink):
    a, b = nodes
    base = name("sch", sink)
    db = f"{base}.db"
    make_schema(a, db)
    pipe(a, b, sink, "all", base)
    schema = same_schema(a, b, base, "the schema snapshot on B")
    assert schema["databases"] == [db, f"{db}_empty"]
    assert len(schema["series"]) == 4 and schema["count"] == [("4",)]
    [s1] = [r for r in schema["series"] if r[0] == f"{db}.d1.s1"]
    assert s1[1:8] == ("temperature", db, "FLOAT", "GORILLA", "ZSTD",
                       '{"unit":"c","place":"hall"}', '{"owner":"x"}')  # fmt: skip
    assert {r[0]: r[1] for r in schema["devices"]} == {f"{db}.d1": "false", f"{db}.d2": "true"}
    wait_for(lambda: b.count(f"{db}.**") == 2, 30, "the data too")
    # realtime: each change as it happens, in order with the data
    a.sql(f"CREATE TIMESERIES {db}.d3.s1 WITH DATATYPE=DOUBLE, ENCODING=RLE, COMPRESSOR=LZ4")
    a.sql(f"ALTER TIMESERIES {db}.d1.s2 ADD TAGS color=red")
    a.sql(f"CREATE ALIGNED TIMESERIES {db}.d2(c FLOAT)")
    a.sql(f"DELETE TIMESERIES {db}.d1.s1")
    a.sql(f"CREATE DATABASE {db}_late")
    schema = same_schema(a, b, base, "the realtime changes on B")
    assert f"{db}.d3.s1" in [r[0] for r in schema["series"]]
    assert f"{db}.d1.s1" not in [r[0] for r in schema["series"]]
    assert schema["count"] == [("5",)]
    a.sql(f"DELETE DATABASE {db}_empty")
    wait_for(lambda: f"{db}_empty" not in schema_of(b, base)["databases"], 30, "database gone")


@pytest.mark.parametrize("sink", SINKS)
def test_inclusion_schema_sends_no_data(nodes, sink):
    a, b = nodes
    base = name("only", sink)
    db = f"{base}.db"
    make_schema(a, db)
    pipe(a, b, sink, "schema", base)
    same_schema(a, b, base, "the schema on B")
    a.sql(f"INSERT INTO {db}.d1(time, s2) VALUES (5, 'x')")
    a.sql(f"CREATE TIMESERIES {db}.d9.s WITH DATATYPE=INT32")  # after the insert: a barrier
    wait_for(lambda: b.rows(f"COUNT TIMESERIES {db}.d9.**") == [("1",)], 30, "the barrier")
    assert b.count(f"{db}.**") == 0
    assert a.count(f"{db}.**") == 3


@pytest.mark.parametrize("sink", SINKS)
def test_inclusion_data_sends_no_empty_series(nodes, sink):
    a, b = nodes
    base = name("data", sink)
    db = f"{base}.db"
    make_schema(a, db)
    pipe(a, b, sink, "data", base)
    wait_for(lambda: b.count(f"{db}.**") == 2, 30, "the data on B")
    time.sleep(0.5)
    assert [r[0] for r in b.rows(f"SHOW TIMESERIES {base}.**")] == [f"{db}.d1.s1"]
    # the receiver auto-creates a database for the data (default_storage_group_level 1)
    assert f"{db}_empty" not in databases(b, "root")
    assert base in databases(b, "root")


def test_conflicting_type_is_reported(nodes):
    """A series of another type on the receiver: the pipe reports IoTDB's user conflict
    (1810) naming the series, and B keeps its own."""
    a, b = nodes
    base = "root.clash"
    db = f"{base}.db"
    b.sql(f"CREATE TIMESERIES {db}.d.s WITH DATATYPE=INT32")
    a.sql(f"CREATE TIMESERIES {db}.d.s WITH DATATYPE=TEXT")
    pipe(a, b, "iotdb-thrift-sink", "schema", base)

    def reported() -> str:
        [row] = [r for r in a.rows("SHOW PIPES") if r[0] == "p"]
        return str(row[6]) if "1810" in str(row[6]) or "conflict" in str(row[6]) else ""

    message = wait_for(reported, 30, "the conflict in SHOW PIPES", logs=(a, b))
    assert f"{db}.d.s" in message
    assert b.rows(f"SHOW TIMESERIES {db}.**")[0][3] == "INT32"


@pytest.mark.parametrize("inclusion", ["auth.user.grant.table", "schema.timeseries.view"])
def test_unsupported_inclusion_refused_by_name(nodes, inclusion):
    a, b = nodes
    with pytest.raises(ServerError) as info:
        pipe(a, b, "iotdb-thrift-sink", inclusion, "root")
    assert "1107" in str(info.value) or getattr(info.value, "code", None) == 1107
    assert "source.inclusion" in str(info.value) and inclusion in str(info.value)


def test_ttl_travels(nodes):
    """schema.ttl: a TTL set before the pipe (its history) and those set and unset while it
    runs (realtime) reach the receiver, as IoTDB's SetTTL config plans."""
    a, b = nodes
    db = "root.ttl_pipe"
    a.sql(f"CREATE DATABASE {db}")
    a.sql(f"SET TTL TO {db} 3600000")
    pipe(a, b, "iotdb-thrift-sink", "schema", db)

    def ttls() -> list:
        return sorted(tuple(map(str, r)) for r in b.rows(f"SHOW TTL ON {db}"))

    history = [(db, "3600000"), (f"{db}.**", "3600000")]  # a database's: on it and on .**
    wait_for(lambda: ttls() == history, 30, "the TTL's history", logs=(a, b))
    a.sql(f"SET TTL TO {db}.d1 7200000")
    want = [*history, (f"{db}.d1", "7200000")]
    wait_for(lambda: ttls() == want, 30, "a TTL set in realtime", logs=(a, b))
    a.sql(f"UNSET TTL TO {db}")
    wait_for(lambda: ttls() == [(f"{db}.d1", "7200000")], 30, "UNSET TTL", logs=(a, b))
