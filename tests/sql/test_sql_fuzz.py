"""Nothing crashes or hangs the parser: every input parses or is refused with a position.

Two laws, over more than 10,000 generated inputs in all:

* a sentence derived from the grammar is never a *syntax* error (a semantic error is fine:
  the generator does not know data type names), except where the grammar's two known
  shift/reduce resolutions apply (see `_ambiguous`);
* any text at all — grammar sentences cut, spliced, or sprinkled with noise — gives
  statements or an `SqlError` whose line and column lie inside the text, quickly.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time

import pytest
from hypothesis import HealthCheck, given, settings
from lark import Lark, logger
from strategies import sql_garbage, sql_token_lists

from pipecore.sql import SqlError, SqlSyntaxError, Statement, grammar_text, parse_script

# CI runs 10,500 cases; SQL_FUZZ_GRAMMAR / SQL_FUZZ_GARBAGE ask for more (70,000 passed once)
GRAMMAR_EXAMPLES = int(os.environ.get("SQL_FUZZ_GRAMMAR", 5_000))
GARBAGE_EXAMPLES = int(os.environ.get("SQL_FUZZ_GARBAGE", 5_500))
SLOW = 2.0  # seconds (typical: well under 1 ms); longer is a hang in the making
_WILDCARDS = {"STAR", "DSTAR"}
_NAME_STARTS = {"ID", "QUOTED_ID", "INT", "DURATION"}
_DATETIME_ENDS = {"DATETIME", "RPAR", "DURATION"}  # ends of now(), a datetime, `+ 1d`


@pytest.fixture(autouse=True, scope="module")
def _built_parser() -> None:
    parse_script("")  # build the parser once, outside the timed parses


def _ambiguous(tokens: list[tuple[str, str]]) -> bool:
    """True where LALR(1) cannot follow the grammar: a path ending in a wildcard right
    before a name (it reads as a partial wildcard like ``*abc``), or a datetime followed by
    a sign that does not start a duration (it reads as ``now() - 1d``)."""
    names = [name for name, _ in tokens]
    for i in range(len(names) - 1):
        if names[i] in _WILDCARDS and names[i + 1] in _NAME_STARTS:
            return True
        if (
            names[i] in _DATETIME_ENDS
            and names[i + 1] in ("PLUS", "MINUS")
            and (i + 2 >= len(names) or names[i + 2] != "DURATION")
        ):
            return True
    return False


def _check_outcome(text: str) -> list[Statement] | SqlError:
    started = time.process_time()
    try:
        outcome: list[Statement] | SqlError = parse_script(text)
    except SqlError as exc:
        outcome = exc
    assert time.process_time() - started < SLOW, f"parsing took too long: {text!r}"
    if isinstance(outcome, SqlError):
        lines = text.split("\n")
        assert 1 <= outcome.line <= len(lines), (text, str(outcome))
        assert 1 <= outcome.column <= len(lines[outcome.line - 1]) + 1, (text, str(outcome))
        assert str(outcome).startswith(f"line {outcome.line}:{outcome.column} ")
        assert outcome.sql == text
    else:
        for statement in outcome:
            span = statement.span
            assert span.text and text[span.start : span.end] == span.text
            assert text.count("\n", 0, span.start) + 1 == span.line
    return outcome


@settings(
    max_examples=GRAMMAR_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(sql_token_lists())
def test_grammar_sentences_are_never_syntax_errors(tokens: list[tuple[str, str]]) -> None:
    text = " ".join(t for _, t in tokens)
    outcome = _check_outcome(text)
    if isinstance(outcome, SqlSyntaxError):
        assert _ambiguous(tokens), f"{text!r}: {outcome}"


@settings(
    max_examples=GARBAGE_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(sql_garbage())
def test_garbage_is_refused_with_a_position(text: str) -> None:
    _check_outcome(text)


def _cpu_seconds(text: str) -> float:
    """The best of three CPU times, to keep a busy machine's noise out."""
    times = []
    for _ in range(3):
        started = time.process_time()
        with contextlib.suppress(SqlError):
            parse_script(text)
        times.append(time.process_time() - started)
    return min(times)


@pytest.mark.parametrize(
    "make",
    [
        lambda n: "select " + "s1, " * n + "s1 from root.sg",
        lambda n: "1" * (20 * n),
        lambda n: "'" + "''" * (20 * n),
        lambda n: "create pipe p with sink (" + "'k'='v' " * n + ")",
        lambda n: "select s from root.sg where " + "(" * (n // 4) + "s > 1" + ")" * (n // 4),
        lambda n: "`" * (10 * n + 1),
        lambda n: "2022-03-30" + " " * (10 * n) + "x",
        lambda n: "select s from root.sg where s > 1" + " and s > 1" * n,
    ],
)
def test_long_inputs_take_linear_time(make) -> None:
    small, large = _cpu_seconds(make(500)), _cpu_seconds(make(2000))
    # four times the input may cost at most ~4x (plus slack for a busy machine; quadratic
    # would be 16x); sizes large enough that the floor is not the verdict
    assert large < max(0.1, 12 * small), (small, large)


def test_the_grammar_has_only_the_known_conflicts(caplog) -> None:
    """lark resolves LALR shift/reduce conflicts by shifting and only logs them; the
    grammar has exactly the two families `_ambiguous` describes, nothing else."""
    logger.setLevel(logging.DEBUG)
    try:
        with caplog.at_level(logging.DEBUG, logger="lark"):
            Lark(grammar_text(), parser="lalr", debug=True)
    finally:
        logger.setLevel(logging.WARNING)
    conflicts = {
        r.getMessage().split("terminal ")[1].split(":")[0]
        for r in caplog.records
        if "conflict" in r.getMessage().lower()
    }
    assert conflicts == {"ID", "INT", "QUOTED_ID", "DURATION", "PLUS", "MINUS"}
    assert not [r for r in caplog.records if "Reduce/Reduce" in r.getMessage()]
