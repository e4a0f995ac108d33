"""What running a statement gives: an `Outcome`, or a `StatementError` at its position.

Shared by the executor modules (`executor`, `executor_data`, `executor_select`) and the
server's SQL session.
"""

from __future__ import annotations

from typing import Any

import attrs

from ..timeparse import ZoneLike
from .dataset import DataSet
from .errors import SqlSemanticError
from .result import SUCCESS_MESSAGE, ResultTable
from .statements import Statement

__all__ = ["DONE", "Context", "Outcome", "StatementError", "rows", "semantic"]

PIPE_ERROR = 1107
SEMANTIC_ERROR = 701


class StatementError(SqlSemanticError):
    """A statement that parsed but failed when it ran (the pipe exists, the series' type
    differs, the file is corrupt ...). `status_code` is IoTDB's code for the failure,
    `internal` is True for an unexpected exception (a bug; logged with its traceback)."""

    def __init__(
        self,
        message: str,
        line: int,
        column: int,
        *,
        status_code: int,
        subject: str | None = None,
        sql: str | None = None,
        internal: bool = False,
    ) -> None:
        self.status_code = status_code
        self.internal = internal
        super().__init__(message, line, column, subject=subject, sql=sql)

    def iotdb_message(self) -> str:
        """``<code>: <message>``, as IoTDB's CLI prints a failed statement."""
        return f"{self.status_code}: {self.reason}"


@attrs.frozen
class Outcome:
    """What a statement returns: `data` for statements that return rows, else a `message`."""

    message: str | None = None
    data: DataSet | None = None

    @property
    def is_query(self) -> bool:
        return self.data is not None

    def table(self, zone: ZoneLike = None, elapsed: float | None = None) -> ResultTable:
        """The CLI's table (queries get `elapsed`, IoTDB prints no time for other statements)."""
        if self.data is not None:
            return self.data.to_table(zone, elapsed)
        return ResultTable.success(self.message or SUCCESS_MESSAGE)


DONE = Outcome(SUCCESS_MESSAGE)


@attrs.frozen
class Context:
    """What one statement runs with: the node, ``now()`` in epoch ms, the session zone."""

    node: Any
    now_ms: int
    zone: ZoneLike = None
    user: str | None = None  # who runs it (None: the in-process API, trusted)

    @property
    def store(self) -> Any:
        return self.node.store


def rows(data: DataSet) -> Outcome:
    """The outcome of a statement that returns rows."""
    return Outcome(data=data)


def semantic(statement: Statement, message: str, subject: str | None = None) -> SqlSemanticError:
    """A refusal of `statement` at its position (what the executor raises on purpose)."""
    return StatementError(
        message,
        statement.span.line,
        statement.span.column,
        status_code=PIPE_ERROR if subject is not None else SEMANTIC_ERROR,
        subject=subject,
    )
