"""Syntax and semantic errors: position, offending token, what was expected, the message."""

from __future__ import annotations

import pytest

from pipecore import PipecoreError
from pipecore.sql import (
    SqlError,
    SqlSemanticError,
    SqlSyntaxError,
    is_complete,
    parse_script,
    parse_statement,
)


def syntax(sql: str) -> SqlSyntaxError:
    with pytest.raises(SqlSyntaxError) as info:
        parse_script(sql)
    return info.value


def semantic(sql: str) -> SqlSemanticError:
    with pytest.raises(SqlSemanticError) as info:
        parse_script(sql)
    return info.value


def test_errors_are_pipecore_and_value_errors() -> None:
    err = syntax("create pipee p")
    assert isinstance(err, PipecoreError) and isinstance(err, ValueError)
    assert isinstance(err, SqlError) and err.status_code == 700
    sem = semantic("select s1 from root.sg limit 0")
    assert isinstance(sem, PipecoreError) and isinstance(sem, ValueError)
    assert sem.status_code == 701


def test_misspelt_keyword_names_token_position_and_keywords_expected() -> None:
    err = syntax("CREATE PIPEE p WITH SINK ()")
    assert (err.line, err.column, err.token) == (1, 8, "PIPEE")
    assert {"PIPE", "PIPEPLUGIN", "PIPESINK", "DATABASE", "TIMESERIES"} <= set(err.expected)
    assert str(err).startswith("line 1:8 mismatched input 'PIPEE' expecting {")
    assert "PIPEPLUGIN" in str(err) and "__" not in str(err)
    assert err.sql == "CREATE PIPEE p WITH SINK ()"
    assert err.iotdb_message().startswith(
        "700: Error occurred while parsing SQL to physical plan: line 1:8 "
    )


def test_end_of_input_is_eof_at_the_end() -> None:
    err = syntax("create pipe p with sink ('a'='b'")
    assert err.token == "<EOF>" and (err.line, err.column) == (1, 33)
    # WITH is possible too: an unclosed list may be closed by a following WITH clause
    assert set(err.expected) == {"')'", "','", "string literal", "WITH"}
    multi = syntax("show\npipes where")
    assert (multi.line, multi.column) == (2, 12)
    assert "expecting" in str(multi) and "SINK" in multi.expected


def test_human_names_for_terminals() -> None:
    err = syntax("create pipe p with sink ('a'=b)")
    assert err.token == "b" and err.expected == ("string literal",)
    assert str(err) == "line 1:30 mismatched input 'b' expecting string literal"
    err2 = syntax("insert into root.sg.d(time s1) values (1, 2)")
    assert "')'" in err2.expected and "','" in err2.expected


def test_lexical_errors() -> None:
    err = syntax("show pipes ^")
    assert (err.line, err.column, err.token) == (1, 12, "^")
    assert str(err) == "line 1:12 token recognition error at: '^'"
    unterminated = syntax("create pipe p with sink ('a'='b)")
    assert unterminated.reason.startswith("unterminated string literal 'b)")
    assert (unterminated.line, unterminated.column) == (1, 30)
    assert syntax("select `abc from root").reason.startswith("unterminated quoted identifier")


def test_statement_boundaries() -> None:
    err = syntax("show pipes show pipes")
    assert (err.line, err.column) == (1, 12)
    with pytest.raises(SqlSyntaxError, match="no statement to execute"):
        parse_statement("  -- only a comment")
    with pytest.raises(SqlSyntaxError, match="one statement at a time") as info:
        parse_statement("show pipes; show pipeplugins")
    assert (info.value.line, info.value.column) == (1, 13)


def test_clause_order_and_sink_presence() -> None:
    err = semantic("CREATE PIPE p WITH SINK ('sink'='x') WITH SOURCE ('a'='b')")
    assert (err.line, err.column) == (1, 38)
    assert "SOURCE must come before SINK" in str(err)
    proc = semantic("create pipe p with processor ('a'='b') with extractor ('c'='d') with sink ()")
    assert "EXTRACTOR must come before PROCESSOR" in str(proc)
    twice = semantic("create pipe p with sink () with connector ()")
    assert "SINK clause is given twice" in str(twice)
    no_sink = semantic("create pipe p with source ('a'='b')")
    assert "needs a WITH SINK" in str(no_sink) and no_sink.subject == "p"
    alter = semantic("alter pipe p modify sink ('a'='b') replace source ('c'='d')")
    assert "SOURCE must come before SINK" in str(alter)


def test_duplicate_parameter_key() -> None:
    err = semantic("create pipe p with sink ('sink.ip'='a',\n  'SINK.IP'='b')")
    assert (err.line, err.column) == (2, 3)
    assert err.subject == "SINK.IP" and "given twice" in str(err)


def test_an_unclosed_sink_list_is_not_forgiven() -> None:
    err = syntax("create pipe p with source ('a'='b', with sink ('c'='d'")
    assert err.token == "<EOF>"
    with pytest.raises(SqlSyntaxError):
        parse_script("alter pipe p modify source ('a'='b' modify sink ('c'='d')")


@pytest.mark.parametrize(
    ("sql", "message", "column"),
    [
        ("select s1 from root.sg limit -1", "LIMIT <N>: N should be greater than 0.", 30),
        ("select s1 from root.sg limit 0", "LIMIT <N>: N should be greater than 0.", 30),
        ("select s1 from root.sg offset -2", "OFFSET <OFFSETValue>: OFFSETValue should >= 0.", 31),
        ("select s1 from root.sg slimit 0", "SLIMIT <SN>: SN should be greater than 0.", 31),
        ("select s1 from root.sg limit 1 limit 2", "LIMIT is given twice", 24),
        ("select s1 from root.sg limit 99999999999999999999", "Out of range.", 30),
        ("select foo(s1) from root.sg", "unknown aggregate function 'foo'", 8),
        ("select count(s1, s2) from root.sg", "COUNT takes exactly one series", 8),
        ("select last count(s1) from root.sg", "SELECT LAST takes series", 1),
        ("create timeseries root.sg.d.s with datatype=INT33", "unknown data type 'INT33'", 45),
        ("create timeseries root.sg.d.s with encoding=RLE", "expecting DATATYPE", 36),
        ("create timeseries root.sg.d.s int32 encoding=RLEE", "unknown encoding 'RLEE'", 46),
        ("create timeseries root.sg.d.s int32 compressor=ZIP", "unknown compressor 'ZIP'", 48),
        ("create timeseries root.sg.d.s int32 encoding=RLE encoding=PLAIN", "given twice", 50),
        ("create timeseries root.sg.*.s int32", "must not contain wildcards", 19),
        ("create timeseries root.s int32", "needs a database and a measurement", 19),
        ("create database root", "must be below root", 17),
        ("create database root.sg with foo=1", "unknown database attribute 'foo'", 30),
        ("create aligned timeseries root.sg.d(s int32, s float)", "s is given twice", 46),
        ("insert into root.sg.d(s1, time) values (1, 2)", "must come first", 27),
        ("insert into root.sg.d(time, s1) values (1, 2), (3)", "the row has 1 value but 2", 48),
        ("insert into root.sg.d(time, s1, s1) values (1, 2, 3)", "s1 is given twice", 33),
        ("insert into root.sg.*(time, s1) values (1, 2)", "must not contain wildcards", 13),
        ("insert into root.sg.d(time, s1) values (1.5, 2)", "time can only be compared", 41),
        ("insert into root.sg.d(time, s1) values ('yesterday', 2)", "is not a datetime", 41),
        ("insert into root.sg.d(time, s1) values (2022-13-01, 2)", "not a valid datetime", 41),
        ("insert into root.sg.d(time, s1) values (1, X'abc')", "even number of hex digits", 44),
        ("select s1 from root.sg where time > true", "time can only be compared", 37),
        ("select s1 from root.sg where 1 = 2", "must compare time or a series", 30),
        ("delete from root.sg.d where s1 > 3", "only time conditions", 23),
        ("delete from root.sg.d where time > 1 or time < 0", "only time conditions", 23),
        ("create pipesink s as kafka", "PIPESINK type kafka is not supported", 22),
        ("create pipesink s as iotdb (host='x')", "unknown PIPESINK attribute 'host'", 29),
        ("create pipesink s as iotdb (ip='x', IP='y')", "attribute 'IP' is given twice", 37),
        ("create pipe p to s from (select s1 from root)", "supports only", 20),
        ("create pipe p to s from (select ** from root where time < 5)", "not an end", 20),
        ("create pipe p to s with foo=bar", "takes SyncDelOp", 25),
        ("create pipeplugin x as 'nomodule' using uri 'u'", "must be written 'module:Class'", 24),
        ("load '/x' foo=1", "unknown LOAD option 'foo'", 11),
        ("load '/x' verify=maybe", "must be true or false", 18),
        ("load ''", "needs a file", 6),
        ("show timeseries root.** slimit 1", "SLIMIT is not allowed here", 25),
        ("select s1 from root.sg.`a*b`", "wildcards cannot be quoted", 24),
    ],
)
def test_semantic_errors(sql: str, message: str, column: int) -> None:
    err = semantic(sql)
    assert message in str(err)
    assert (err.line, err.column) == (1, column), str(err)
    assert str(err).startswith(f"line 1:{column} ")


def test_is_complete_for_a_repl() -> None:
    assert not is_complete("create pipe p with sink (")
    assert not is_complete("select * from root.sg where s = 'abc")
    assert not is_complete("show")
    assert is_complete("show pipes")
    assert is_complete("show pipes;")
    assert is_complete("show pipez")  # a definite error: run it to show the error
    assert is_complete("select s1 from root.sg limit 0")


def test_errors_pickle_with_their_attributes() -> None:
    import pickle

    for sql in ("create pipee p", "select s1 from root.sg limit 0"):
        with pytest.raises(SqlError) as info:
            parse_script(sql)
        copy = pickle.loads(pickle.dumps(info.value))
        assert type(copy) is type(info.value) and str(copy) == str(info.value)
        assert (copy.line, copy.column, copy.sql) == (info.value.line, info.value.column, sql)
