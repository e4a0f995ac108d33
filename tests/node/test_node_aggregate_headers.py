"""Aggregate result headers as IoTDB 2.0.1 answers them (each case asked of a real IoTDB
2.0.1-beta with the same data): the function keeps its spelling, GROUP BY LEVEL keeps a named
measurement, and an aggregate over no series is a ``Time`` column without rows."""

from __future__ import annotations

import pytest

from pipecore import Node

CASES = [
    ("SELECT MAX_VALUE(s1) FROM root.x.d", ("MAX_VALUE(root.x.d.s1)",), [("2.0",)]),
    ("select Count(s1), AVG(s1) from root.x.d", ("Count(root.x.d.s1)", "AVG(root.x.d.s1)"), None),
    ("select COUNT(s1) from root.x.* group by level=1", ("COUNT(root.x.*.s1)",), [("2",)]),
    ("select count(*) from root.x.* group by level=1", ("count(root.x.*.*)",), [("3",)]),
    (
        "select count(s1) from root.x.** group by level=1",
        ("count(root.x.*.*.s1)", "count(root.x.*.s1)"),
        [("1", "2")],
    ),
    ("select count(s1) from root.x.d group by level=2", ("count(root.*.d.s1)",), [("1",)]),
    ("select count(s1) from root.x.d group by level=3", ("count(root.*.*.s1)",), [("1",)]),
    (
        "select count(s1), sum(s2) from root.x.* group by level=0",
        ("count(root.*.*.s1)", "sum(root.*.*.s2)"),
        [("2", "3.0")],
    ),
    ("select MAX_VALUE(s1) from root.x.d align by device", ("Device", "MAX_VALUE(s1)"), None),
    ("select count(s9) from root.x.d", ("Time",), []),
    ("select count(s9) from root.x.d align by device", ("Time",), []),
    ("select count(*) from root.nothing.**", ("Time",), []),
]


@pytest.fixture
def data(node: Node) -> Node:
    node.execute("create database root.x")
    node.execute("insert into root.x.d(time, s1, s2) values (1, 2, 3)")
    node.execute("insert into root.x.e(time, s1) values (1, 2)")
    node.execute("insert into root.x.a.b(time, s1) values (1, 2)")
    return node


@pytest.mark.parametrize(("sql", "columns", "rows"), CASES, ids=[c[0] for c in CASES])
def test_header_as_iotdb(data: Node, sql: str, columns: tuple, rows: list | None) -> None:
    result = data.execute(sql)
    assert result.columns == columns
    if rows is not None:
        assert [tuple(r) for r in result.rows] == rows
