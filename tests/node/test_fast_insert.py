"""The columnar fast path of a numeric multi-row INSERT (pipecore/sql/fast_insert.py) does
exactly what the grammar path does: the same series types, the same stored values, the same
error for the same bad statement, one write per statement.

The law is checked with hypothesis: a random numeric INSERT (integer, decimal and exponent
literals, signs, integers beyond 2**53 and int64, mixed columns, repeated and unsorted times)
into series that are new or already INT32/INT64/FLOAT/DOUBLE/TEXT/BOOLEAN runs on one node
as text (the fast path) and on a twin node as the grammar's statement; both stores must then
answer the same.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipecore import Node
from pipecore.sql.fast_insert import MIN_FAST_LENGTH, ColumnarInsert, parse_fast_insert
from pipecore.sql.parser import parse_script, parse_statement

TYPES = ("INT32", "INT64", "FLOAT", "DOUBLE", "TEXT", "BOOLEAN")


def _padded(sql_rows: list[str], head: str) -> str:
    rows = list(sql_rows)
    while len(head) + sum(len(r) + 2 for r in rows) < MIN_FAST_LENGTH:
        rows.append(rows[-1])  # a repeated row: the same time again (the last one wins)
    return head + ", ".join(rows)


def test_a_numeric_multi_row_insert_is_parsed_columnar() -> None:
    rows = [f"({t}, {t * 0.5}, {-t}, {t}e2)" for t in range(100)]
    s = parse_statement(_padded(rows, "INSERT INTO root.sg.d1(time, a, b, c) ALIGNED VALUES "))
    assert isinstance(s, ColumnarInsert)
    assert str(s.device) == "root.sg.d1" and s.measurements == ("a", "b", "c") and s.aligned
    assert s.times.tolist() == list(range(100))
    assert [c.dtype.name for c in s.columns] == ["float64", "int64", "float64"]
    assert s.columns[0][3] == 1.5 and s.columns[1][3] == -3 and s.columns[2][3] == 300.0
    assert s.first_integral == (False, True, False)


@pytest.mark.parametrize(
    "row",
    [
        "(1, 'text')",  # a string
        "(1, null)",
        "(1, NaN)",
        "(1, true)",
        "(now(), 1)",  # time not an integer literal
        "(2021-01-01T00:00:00, 1)",
        "(1.5, 1)",
        "(1, - 1)",  # a sign apart from its digits
        "(1, 1) -- a comment",
        "(99999999999999999999, 1)",  # a time beyond int64
    ],
)
def test_anything_else_takes_the_grammar(row: str) -> None:
    sql = _padded(["(5, 1)"] * 40 + [row], "insert into root.sg.d(time, s) values ")
    assert parse_fast_insert(sql) is None


def test_one_long_row_takes_the_grammar() -> None:
    # a first row of MIN_FAST_LENGTH characters or more once sent the parser round in circles
    names = [f"s{i}" for i in range(MIN_FAST_LENGTH // 4)]
    row = f"(1, {', '.join('1' for _ in names)})"
    one = f"insert into root.sg.d(time, {', '.join(names)}) values {row}"
    assert not isinstance(parse_statement(one), ColumnarInsert)
    two = parse_statement(f"{one}, {row.replace('(1,', '(2,')}")
    assert isinstance(two, ColumnarInsert) and two.times.tolist() == [1, 2]


def test_heads_the_fast_path_leaves_to_the_grammar() -> None:
    body = ", ".join(f"({t}, {t})" for t in range(100))
    assert parse_fast_insert(f"insert into root.sg.`d.x`(time, s) values {body}") is None
    assert parse_fast_insert(f"insert into root.sg.d(s, s2) values {body}") is None  # no time
    assert parse_fast_insert("insert into root.sg.d(time, s) values (1, 2)") is None  # short


@pytest.fixture(scope="module")
def twins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Node, Node]]:
    base: Path = tmp_path_factory.mktemp("fast-insert")
    with Node.open(base / "fast") as fast, Node.open(base / "grammar") as grammar:
        yield fast, grammar


_devices = itertools.count()

_int_lit = st.integers(-(2**70), 2**70).map(str)
_small_int_lit = st.integers(-1000, 1000).map(lambda i: f"+{i}" if i > 0 and i % 3 == 0 else str(i))
_float_lit = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64).map(repr),
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda f: f"{f:.3e}"),
    st.integers(0, 999).map(lambda i: f".{i}"),
    st.integers(0, 999).map(lambda i: f"{i}."),
    st.floats(1e30, 1e40).map(lambda f: f"{f:e}"),  # beyond FLOAT's range, within DOUBLE's
)
_literal = st.one_of(_small_int_lit, _int_lit, _float_lit)


@st.composite
def inserts(draw: st.DrawFn) -> tuple[str, dict[str, str]]:
    width = draw(st.integers(1, 3))
    names = [f"s{i}" for i in range(width)]
    existing = {n: t for n in names if (t := draw(st.one_of(st.none(), st.sampled_from(TYPES))))}
    column_kinds = [draw(st.sampled_from(["int", "small", "float", "mixed"])) for _ in names]
    kinds = {"int": _int_lit, "small": _small_int_lit, "float": _float_lit, "mixed": _literal}
    n_rows = draw(st.integers(1, 40))
    times = draw(st.lists(st.integers(-5, 60), min_size=n_rows, max_size=n_rows))
    rows = ["(" + ", ".join([str(t), *(draw(kinds[k]) for k in column_kinds)]) + ")" for t in times]
    aligned = draw(st.booleans())
    device = f"root.fi.d{next(_devices)}"
    head = f"insert into {device}(time, {', '.join(names)}){' aligned' if aligned else ''} values "
    return _padded(rows, head), existing


def _run(node: Node, sql: str, *, grammar: bool) -> str:
    try:
        if grammar:
            (statement,) = parse_script(sql)
            assert not isinstance(statement, ColumnarInsert)
            node.run(statement)
        else:
            node.run(sql)
    except Exception as exc:  # the error a client would see: its kind and message
        return f"{type(exc).__name__}: {exc}"
    return "ok"


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=inserts())
def test_the_fast_path_does_what_the_grammar_does(
    twins: tuple[Node, Node], case: tuple[str, dict[str, str]]
) -> None:
    sql, existing = case
    fast, grammar = twins
    device = sql.split()[2].split("(")[0]
    for node in twins:
        for name, dt in existing.items():
            node.execute(f"create timeseries {device}.{name} with datatype={dt}")
    before = fast.store.last_seq
    outcome = _run(fast, sql, grammar=False)
    assert outcome == _run(grammar, sql, grammar=True)
    if outcome == "ok":
        assert fast.store.last_seq == before + 1  # one write (one pipe event) per statement
    for query in (f"show timeseries {device}.**", f"select ** from {device}"):
        assert list(fast.execute(query).rows) == list(grammar.execute(query).rows), query
