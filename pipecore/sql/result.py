"""Statement results: a table of text cells, printed the way IoTDB's CLI prints it.

A query answers with columns and rows; any other statement answers with a message
(``Msg: The statement is executed successfully.``). `render()` reproduces the CLI:

    +-----------------------------+------------------+
    |                         Time|root.vehicle.d0.s0|
    +-----------------------------+------------------+
    |2022-04-03T20:08:17.127+08:00|                10|
    +-----------------------------+------------------+
    Total line number = 1
    It costs 0.134s

Cells are right-aligned to the widest cell of their column; a wide (CJK) character counts
as two, as the CLI's width computation does. No rows gives ``Empty set.``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence

import attrs
import numpy as np

from pipecore_storage.java_text import java_float_text

__all__ = [
    "COUNT_DEVICES_COLUMNS",
    "COUNT_TIMESERIES_COLUMNS",
    "SELECT_LAST_COLUMNS",
    "SHOW_DATABASES_COLUMNS",
    "SHOW_DEVICES_COLUMNS",
    "SHOW_PIPEPLUGINS_COLUMNS",
    "SHOW_PIPESINKTYPE_COLUMNS",
    "SHOW_PIPESINK_COLUMNS",
    "SHOW_PIPES_COLUMNS",
    "SHOW_TIMESERIES_COLUMNS",
    "SUCCESS_MESSAGE",
    "ResultTable",
    "cell_text",
    "display_width",
]

SUCCESS_MESSAGE = "The statement is executed successfully."

# IoTDB 1.3.2+ (ColumnHeaderConstant); all TEXT.
SHOW_PIPES_COLUMNS = (
    "ID",
    "CreationTime",
    "State",
    "PipeSource",
    "PipeProcessor",
    "PipeSink",
    "ExceptionMessage",
    "RemainingEventCount",
    "EstimatedRemainingSeconds",
)
SHOW_PIPEPLUGINS_COLUMNS = ("PluginName", "PluginType", "ClassName", "PluginJar")
# The sync tool's tables, as its user guide shows them.
SHOW_PIPESINK_COLUMNS = ("name", "type", "attributes")
SHOW_PIPESINKTYPE_COLUMNS = ("type",)
SHOW_DATABASES_COLUMNS = (
    "Database",
    "SchemaReplicationFactor",
    "DataReplicationFactor",
    "TimePartitionOrigin",
    "TimePartitionInterval",
)
SHOW_TIMESERIES_COLUMNS = (
    "Timeseries",
    "Alias",
    "Database",
    "DataType",
    "Encoding",
    "Compression",
    "Tags",
    "Attributes",
    "Deadband",
    "DeadbandParameters",
    "ViewType",
)
SHOW_DEVICES_COLUMNS = ("Device", "IsAligned", "Template", "TTL(ms)")
COUNT_TIMESERIES_COLUMNS = ("count(timeseries)",)
COUNT_DEVICES_COLUMNS = ("count(devices)",)
SELECT_LAST_COLUMNS = ("Time", "Timeseries", "Value", "DataType")


def display_width(text: str) -> int:
    """Terminal columns `text` takes: East-Asian wide and full-width characters count 2."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def cell_text(value: object) -> str:
    """A value as the CLI shows it: None as ``null``, booleans lower case, floats as Java
    prints them (``16.0``, ``1.0E7``, ``NaN``; FLOAT values with float32's shortest
    digits), bytes as ``0x..``."""
    if value is None:
        return "null"
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, np.float32):
        return java_float_text(float(value), str(value))
    if isinstance(value, (float, np.floating)):
        return java_float_text(float(value), repr(float(value)))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "0x" + bytes(value).hex()
    return str(value)


def _headers(columns: Iterable[str]) -> tuple[str, ...]:
    return tuple(str(c) for c in columns)


def _cells(rows: Iterable[Iterable[object]]) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(cell_text(c) for c in row) for row in rows)


def _pad(text: str, width: int) -> str:
    return " " * (width - display_width(text)) + text


@attrs.frozen
class ResultTable:
    """What a statement returns: `columns` and `rows` (cells as text) for a query, or
    just a `message` for any other statement. `elapsed` (seconds) is printed as
    ``It costs 0.012s`` when set."""

    columns: tuple[str, ...] = attrs.field(default=(), converter=_headers)
    rows: tuple[tuple[str, ...], ...] = attrs.field(default=(), converter=_cells)
    message: str | None = None
    elapsed: float | None = None

    def __attrs_post_init__(self) -> None:
        for index, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise ValueError(
                    f"row {index} has {len(row)} cells but the table has "
                    f"{len(self.columns)} columns"
                )

    @classmethod
    def of(cls, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> ResultTable:
        """A query result; cells are turned into text with `cell_text`."""
        return cls(columns=tuple(columns), rows=tuple(tuple(r) for r in rows))

    @classmethod
    def success(cls, message: str = SUCCESS_MESSAGE) -> ResultTable:
        """The answer of a statement that returns no table."""
        return cls(message=message)

    @property
    def is_query(self) -> bool:
        return self.message is None

    def with_elapsed(self, seconds: float) -> ResultTable:
        return attrs.evolve(self, elapsed=seconds)

    def column(self, name: str) -> list[str]:
        """The cells of one column, by header."""
        index = self.columns.index(name)
        return [row[index] for row in self.rows]

    def as_dicts(self) -> list[dict[str, str]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def render(self) -> str:
        """The text IoTDB's CLI prints for this result (without a trailing newline)."""
        if not self.is_query:
            lines = [f"Msg: {self.message}"]
        else:
            lines = self._table_lines()
            lines.append(f"Total line number = {len(self.rows)}" if self.rows else "Empty set.")
        if self.elapsed is not None:
            lines.append(f"It costs {self.elapsed:.3f}s")
        return "\n".join(lines)

    def _table_lines(self) -> list[str]:
        widths = [display_width(c) for c in self.columns]
        for row in self.rows:
            widths = [max(w, display_width(cell)) for w, cell in zip(widths, row, strict=True)]
        border = "+" + "+".join("-" * w for w in widths) + "+"

        def line(cells: Sequence[str]) -> str:
            return "|" + "|".join(_pad(c, w) for c, w in zip(cells, widths, strict=True)) + "|"

        body = [line(row) for row in self.rows]
        return [border, line(self.columns), border, *body, border]

    def __str__(self) -> str:
        return self.render()
