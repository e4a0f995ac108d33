"""EXPLAIN PIPE and EXPLAIN CREATE PIPE on an embedded node: a dry run that moves nothing."""

from __future__ import annotations

import pytest

import pipecore


@pytest.fixture
def node(tmp_path):
    with pipecore.Node.open(tmp_path / "n") as n:
        yield n


def rows_by_kind(table) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {}
    for row in table.rows:
        out.setdefault(row[0], []).append(row)
    return out


def test_explain_create_pipe_counts_sealed_and_memtable_points(node):
    node.execute("INSERT INTO root.ex.d1(timestamp, s1, s2) VALUES (1, 1, 1.0), (2, 2, 2.0)")
    node.execute("INSERT INTO root.other.d1(timestamp, s1) VALUES (1, 1)")
    node.execute("FLUSH")
    node.execute("INSERT INTO root.ex.d1(timestamp, s1) VALUES (3, 3)")
    table = node.execute(
        "EXPLAIN CREATE PIPE ex WITH SOURCE ('path'='root.ex.**') "
        "WITH SINK ('sink'='do-nothing-sink')"
    )
    kinds = rows_by_kind(table)
    assert [(r[1], r[4]) for r in kinds["series"]] == [
        ("root.ex.d1.s1", "3"),
        ("root.ex.d1.s2", "2"),
    ]
    assert kinds["series"][0][2:4] == ("1", "3")
    [tsfile] = kinds["tsfile"]
    assert int(tsfile[5]) > 0
    assert kinds["memtable"][0][4] == "1"
    assert kinds["total"][0][4] == "5"
    assert node.list_pipes() == []  # nothing was created


def test_explain_pipe_honours_the_time_range(node):
    node.execute("INSERT INTO root.ex.d1(timestamp, s1) VALUES (1, 1), (2000, 2), (3000, 3)")
    node.execute(
        "CREATE PIPE ex WITH SOURCE ('path'='root.ex.**', 'start-time'='1500', 'start'='false') "
        "WITH SINK ('sink'='do-nothing-sink')"
    )
    kinds = rows_by_kind(node.execute("EXPLAIN PIPE ex"))
    assert kinds["total"][0][4] == "2"
    assert node.get_pipe("ex").state == "STOPPED"


def test_explain_of_a_missing_pipe_is_an_error(node):
    with pytest.raises(pipecore.PipecoreError, match="nope"):
        node.execute("EXPLAIN PIPE nope")
