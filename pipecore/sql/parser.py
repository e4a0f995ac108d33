"""Parsing: SQL text to statement objects, with IoTDB-style syntax errors.

One lark LALR(1) parser (contextual lexer) is built on first use and shared; parsing is
thread-safe. `parse_statement` takes exactly one statement (a trailing ``;`` is fine),
`parse_script` any number separated by ``;``. A script with a syntax error anywhere is
refused as a whole, so nothing of it runs.
"""

from __future__ import annotations

import functools
import threading
from importlib import resources
from typing import Any

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken, VisitError

from ..timeparse import ZoneLike, resolve_zone
from .errors import SqlError, SqlSyntaxError
from .expressions import Path
from .statements import Statement
from .transform import StatementBuilder

__all__ = [
    "grammar_text",
    "is_complete",
    "parse",
    "parse_path",
    "parse_script",
    "parse_statement",
]

_PUNCTUATION = {
    "LPAR": "'('",
    "RPAR": "')'",
    "COMMA": "','",
    "DOT": "'.'",
    "EQ": "'='",
    "EQEQ": "'=='",
    "NE": "'!='",
    "GT": "'>'",
    "GE": "'>='",
    "LT": "'<'",
    "LE": "'<='",
    "STAR": "'*'",
    "DSTAR": "'**'",
    "PLUS": "'+'",
    "MINUS": "'-'",
    "ANDAND": "'&&'",
    "OROR": "'||'",
    "BANG": "'!'",
    "SEMICOLON": "';'",
    "$END": "<EOF>",
    "STRING": "string literal",
    "ID": "identifier",
    "QUOTED_ID": "identifier",
    "DURATION": "duration",
    "INT": "integer",
    "REAL": "number",
    "DATETIME": "datetime",
    "BINARY": "binary literal",
}
_MAX_SHOWN = 40


def grammar_text() -> str:
    """The lark grammar (``pipecore/sql/grammar.lark``)."""
    return resources.files("pipecore.sql").joinpath("grammar.lark").read_text("utf-8")


@functools.lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(
        grammar_text(),
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=False,
        start=["start", "path_start"],
    )


_local = threading.local()


def _builder(text: str, zone: Any) -> StatementBuilder:
    """This thread's statement builder, set up for `text` (building one binds ~100
    callbacks, so each thread keeps its own)."""
    builder: StatementBuilder | None = getattr(_local, "builder", None)
    if builder is None:
        builder = _local.builder = StatementBuilder(text, zone)
    builder.text, builder.zone = text, zone
    return builder


def _human(terminals: Any) -> list[str]:
    names = set(terminals)
    if "ID" in names:
        names -= {"QUOTED_ID", "DURATION"}
    return sorted({_PUNCTUATION.get(n, n) for n in names if not n.startswith("__")})


def _expecting(terminals: Any) -> str:
    names = _human(terminals)
    if not names:
        return ""
    return " expecting " + (names[0] if len(names) == 1 else "{" + ", ".join(names) + "}")


def _shown(text: str) -> str:
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def _end_position(text: str) -> tuple[int, int]:
    line = text.count("\n") + 1
    return line, len(text) - (text.rfind("\n") + 1) + 1


def _from_token(text: str, exc: UnexpectedToken) -> SqlSyntaxError:
    token: Token = exc.token
    if token.type == "$END":
        line, column = _end_position(text)
        shown = "<EOF>"
    else:
        line, column, shown = token.line or 1, token.column or 1, _shown(str(token))
    return SqlSyntaxError(
        f"mismatched input '{shown}'{_expecting(exc.expected)}",
        line,
        column,
        token=shown,
        expected=_human(exc.expected),
        sql=text,
    )


def _from_characters(text: str, exc: UnexpectedCharacters) -> SqlSyntaxError:
    pos = exc.pos_in_stream or 0
    char = text[pos] if pos < len(text) else ""
    rest = _shown(text[pos:].split("\n", 1)[0])
    if char in "'\"":
        message = f"unterminated string literal {rest}"
    elif char == "`":
        message = f"unterminated quoted identifier {rest}"
    else:
        message = f"token recognition error at: '{char}'"
    return SqlSyntaxError(
        message,
        exc.line,
        exc.column,
        token=rest if char in "'\"`" else char,
        expected=_human(exc.allowed or ()),
        sql=text,
    )


def _tree(text: str, start: str = "start") -> Any:
    try:
        return _parser().parse(text, start=start)
    except UnexpectedToken as exc:
        raise _from_token(text, exc) from None
    except UnexpectedCharacters as exc:
        raise _from_characters(text, exc) from None
    except UnexpectedEOF as exc:  # pragma: no cover - the LALR parser reports $END tokens
        line, column = _end_position(text)
        raise SqlSyntaxError(
            f"mismatched input '<EOF>'{_expecting(exc.expected)}",
            line,
            column,
            token="<EOF>",
            expected=_human(exc.expected),
            sql=text,
        ) from None


def parse_script(text: str, *, zone: ZoneLike = None) -> list[Statement]:
    """All statements of a ``;``-separated script, in order; each knows its source span.

    Datetimes without an offset are read in `zone` (default: the process's zone).
    Raises SqlSyntaxError or SqlSemanticError for the first problem found."""
    tree = _tree(text)
    builder = _builder(text, resolve_zone(zone))
    try:
        result: list[Statement] = builder.transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, SqlError):
            exc.orig_exc.sql = text
            raise exc.orig_exc from None
        raise
    finally:
        builder.text = ""  # do not keep the last script alive
    return result


def parse_statement(sql: str, *, zone: ZoneLike = None) -> Statement:
    """The one statement in `sql` (a trailing ``;`` is allowed)."""
    from .fast_insert import parse_fast_insert  # a numeric multi-row INSERT: columnar

    fast = parse_fast_insert(sql, zone)
    if fast is not None:
        return fast
    statements = parse_script(sql, zone=zone)
    if not statements:
        line, column = _end_position(sql)
        raise SqlSyntaxError(
            "no statement to execute", line, column, token="<EOF>", expected=(), sql=sql
        )
    if len(statements) > 1:
        extra = statements[1].span
        word = _shown(extra.text.split(None, 1)[0])
        raise SqlSyntaxError(
            f"extraneous input '{word}' expecting <EOF>: one statement at a time "
            "(run several as a script)",
            extra.line,
            extra.column,
            token=word,
            expected=("<EOF>",),
            sql=sql,
        )
    return statements[0]


def parse_path(text: str) -> Path:
    """A path as IoTDB writes it (``root.sg.d1.s1``, ``root.**``, ``d1.s1``,
    ``root.`a.b`.c``) — for paths that come from parameters or configuration."""
    tree = _tree(text, start="path_start")
    try:
        located = _builder(text, None).transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, SqlError):
            exc.orig_exc.sql = text
            raise exc.orig_exc from None
        raise
    path: Path = located.value
    return path


def is_complete(text: str) -> bool:
    """Whether `text` could be run as it is, for a REPL deciding between running and
    asking for another line: False when it stops in the middle of a statement, a string
    or a parenthesis; True when it parses or has an error before its end."""
    try:
        parse_script(text)
    except SqlSyntaxError as exc:
        return not (exc.token == "<EOF>" or exc.reason.startswith("unterminated"))
    except SqlError:
        return True
    return True


parse = parse_statement  # the short name
