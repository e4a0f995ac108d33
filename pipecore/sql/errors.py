"""Errors of the SQL front end: a statement that does not parse, or that cannot mean anything.

Both carry the position (1-based `line` and `column`) and render it in IoTDB's style
(``line 1:7 mismatched input 'pipee' expecting {PIPE, PIPEPLUGIN, ...}``). `status_code` is
the IoTDB status a server answers with: 700 (SQL_PARSE_ERROR) for syntax, 701
(SEMANTIC_ERROR) for meaning.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pipecore_storage.errors import PipecoreError

__all__ = ["SqlError", "SqlSemanticError", "SqlSyntaxError"]

SQL_PARSE_ERROR = 700
SEMANTIC_ERROR = 701


def _restore(cls: type[SqlError], args: tuple[object, ...], state: dict[str, Any]) -> SqlError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class SqlError(PipecoreError, ValueError):
    """A statement pipecore refuses before running it; `line`/`column` say where (1-based).

    `completed` — when raised from a script, the results of the statements before the one
    that failed (they stay done).
    """

    status_code = SQL_PARSE_ERROR

    def __init__(self, message: str, line: int, column: int, sql: str | None = None) -> None:
        self.reason = message
        self.line = line
        self.column = column
        self.sql = sql
        self.completed: list[Any] = []
        super().__init__(f"line {line}:{column} {message}")

    def __reduce__(self) -> tuple[object, ...]:
        # keyword-only constructor arguments: rebuild from the state, so errors pickle
        return (_restore, (type(self), self.args, self.__dict__.copy()))

    @property
    def message(self) -> str:
        """The message with its position, as `str(error)`."""
        return str(self)

    def iotdb_message(self) -> str:
        """The message as IoTDB's server words it, status code first (what a CLI prints)."""
        return f"{self.status_code}: {self._iotdb_prefix}{self}"

    _iotdb_prefix = "Error occurred while parsing SQL to physical plan: "


class SqlSyntaxError(SqlError):
    """The text is not a statement of the grammar.

    `token` is the offending input as written (``'<EOF>'`` at the end of the text) and
    `expected` the human names of what could have come there (keywords in upper case,
    ``'('``, ``string literal``, ``identifier`` ...), sorted.
    """

    status_code = SQL_PARSE_ERROR

    def __init__(
        self,
        message: str,
        line: int,
        column: int,
        *,
        token: str,
        expected: Iterable[str] = (),
        sql: str | None = None,
    ) -> None:
        self.token = token
        self.expected = tuple(expected)
        super().__init__(message, line, column, sql)


class SqlSemanticError(SqlError):
    """The statement parses but cannot be accepted (clause order, duplicate key, bad
    LIMIT, unknown data type ...). `subject` names the object concerned when there is one."""

    status_code = SEMANTIC_ERROR
    _iotdb_prefix = ""

    def __init__(
        self,
        message: str,
        line: int,
        column: int,
        *,
        subject: str | None = None,
        sql: str | None = None,
    ) -> None:
        self.subject = subject
        super().__init__(message, line, column, sql)
