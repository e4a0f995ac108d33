"""TTL in SQL (pipecore/ttl.py, pipecore/sql/ttl_sql.py) and ALTER SCHEMA TEMPLATE ... ADD,
on a real node: IoTDB 1.3.3 / 2.0's headers and answers, expired data hidden from every kind
of query (memtables and sealed files), the table kept across a restart."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pipecore import Node
from pipecore.sql.errors import SqlError
from pipecore.testing import inprocess
from pipecore.testing import plugins as testing_plugins

HOUR = 3_600_000
FAST = {"pipe_auto_restart_enabled": False}


def _open(path: Path) -> Node:
    return Node.open(path, FAST, plugins=[testing_plugins, inprocess])


def _code(node: Node, sql: str) -> int:
    with pytest.raises(SqlError) as info:
        node.execute(sql)
    return int(info.value.status_code)


def _old_and_new(node: Node, device: str) -> tuple[int, int]:
    now = int(time.time() * 1000)
    old, new = now - 2 * HOUR, now - 60_000
    node.execute(f"insert into {device}(time, s) values ({old}, 1), ({new}, 2)")
    return old, new


def test_ttl_headers_and_patterns(node: Node) -> None:
    node.execute("create database root.db")
    node.execute("create database root.ln")
    shown = node.execute("show all ttl")
    assert shown.columns == ("Device", "TTL(ms)") and shown.rows == (("root.**", "INF"),)
    node.execute("set ttl to root.db 3600000")  # a database: root.db and root.db.** (IoTDB 2.0)
    node.execute("set ttl to root.ln.d1 7200000")  # a device: as it is
    node.execute("set ttl to root.ln.** 100")  # `** 100`: the number is not a node slice
    node.execute("set ttl to root.ln.d2 INF")
    assert node.execute("show all ttl").rows == (
        ("root.**", "INF"),
        ("root.db", "3600000"),
        ("root.db.**", "3600000"),
        ("root.ln.**", "100"),
        ("root.ln.d1", "7200000"),
        ("root.ln.d2", "INF"),
    )
    assert node.execute("show ttl on root.db").rows == (
        ("root.db", "3600000"),
        ("root.db.**", "3600000"),
    )
    node.execute("unset ttl to root.ln.d1")
    node.execute("unset ttl to root.ln.d1")  # nothing there: still fine, as in IoTDB
    assert ("root.ln.d1", "7200000") not in node.execute("show all ttl").rows
    node.execute("insert into root.db.d1(time, s) values (now(), 1)")
    devices = node.execute("show devices root.db.**")
    assert devices.columns[-1] == "TTL(ms)" and devices.rows[0][-1] == "3600000"


def test_bad_ttl_statements_get_iotdb_codes(node: Node) -> None:
    node.execute("create database root.db")
    assert _code(node, "set ttl to root.db 0") == 701
    assert _code(node, "set ttl to root.db abc") == 701
    assert _code(node, "set ttl to root.nowhere 1000") == 903
    assert _code(node, "set ttl to root.db -5") == 700  # a syntax error, as in IoTDB
    assert _code(node, "set ttl root.db 5") == 700
    assert node.execute("show all ttl").rows == (("root.**", "INF"),)  # nothing was set


@pytest.mark.parametrize("flush", [False, True], ids=["memtable", "sealed"])
def test_expired_data_is_hidden_from_queries(node: Node, flush: bool) -> None:
    node.execute("create database root.db")
    old, new = _old_and_new(node, "root.db.d1")
    _old_and_new(node, "root.db.d2")
    if flush:
        node.execute("flush")
    assert len(node.execute("select s from root.db.d1").rows) == 2
    node.execute("set ttl to root.db 3600000")
    node.execute("set ttl to root.db.d2 10800000")  # the more specific TTL wins for d2
    raw = node.execute("select s from root.db.d1")
    assert [float(r[1]) for r in raw.rows] == [2.0]
    assert node.execute("select count(s) from root.db.d1").rows == (("1",),)
    assert node.execute("select count(s) from root.db.d2").rows == (("2",),)
    assert node.execute(f"select s from root.db.d1 where time <= {old}").rows == ()
    assert float(node.execute("select last s from root.db.d1").rows[0][2]) == 2.0
    node.execute("unset ttl to root.db")
    assert node.execute("select count(s) from root.db.d1").rows == (("2",),)
    assert new > old


def test_ttl_survives_a_restart_and_goes_with_its_database(tmp_path: Path) -> None:
    with _open(tmp_path / "n") as node:
        node.execute("create database root.db")
        node.execute("create database root.keep")
        _old_and_new(node, "root.db.d1")
        node.execute("set ttl to root.db 3600000")
        node.execute("set ttl to root.keep 5000")
    with _open(tmp_path / "n") as node:
        assert ("root.db.**", "3600000") in node.execute("show all ttl").rows
        assert node.execute("select count(s) from root.db.d1").rows == (("1",),)
        node.execute("delete database root.db")
        assert node.execute("show all ttl").rows == (
            ("root.**", "INF"),
            ("root.keep", "5000"),
            ("root.keep.**", "5000"),
        )


def test_alter_schema_template_add(node: Node) -> None:
    node.execute("create database root.sg")
    assert _code(node, "alter schema template t1 add (s9 INT32)") == 512
    node.execute("create schema template t1 (s1 INT32 encoding=RLE)")
    node.execute("set schema template t1 to root.sg.d")
    node.execute("create timeseries using schema template on root.sg.d.x")
    node.execute(
        "alter schema template t1 add (s2 FLOAT encoding=GORILLA, s3 TEXT encoding=PLAIN "
        "compression=SNAPPY)"
    )
    nodes = node.execute("show nodes in schema template t1").rows
    assert sorted(nodes) == [
        ("s1", "INT32", "RLE", "LZ4"),
        ("s2", "FLOAT", "GORILLA", "LZ4"),
        ("s3", "TEXT", "PLAIN", "SNAPPY"),
    ]
    series = {r[0] for r in node.execute("show timeseries root.sg.**").rows}
    assert series == {"root.sg.d.x.s1", "root.sg.d.x.s2", "root.sg.d.x.s3"}  # made at once
    assert _code(node, "alter schema template t1 add (s1 INT32)") == 527
    assert _code(node, "alter schema template t1 add (s4 INT32, s4 FLOAT)") == 527
    assert len(node.execute("show nodes in schema template t1").rows) == 3  # nothing added


def test_a_ttl_on_a_quoted_node_keeps_queries_working(node: Node) -> None:
    """A TTL's path is kept in canonical text: a back-quoted node with dots, quotes or a
    newline (found by the node fuzz test, whose next query failed to split the stored text)
    is still one node afterwards, and every query goes on."""
    device = "root.q.`a.b'\n c`"
    node.execute("create database root.q")
    node.execute(f"set ttl to {device} 3600000")
    rows = [tuple(map(str, r)) for r in node.execute("show all ttl").rows]
    assert (device, "3600000") in rows
    _old_and_new(node, device)
    assert [float(r[1]) for r in node.execute(f"select s from {device}").rows] == [2.0]
    node.execute("insert into root.q.d(time, s) values (1, 1)")
    assert len(node.execute("select s from root.q.d").rows) == 1  # no TTL there
