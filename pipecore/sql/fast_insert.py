"""A columnar fast path for the most common bulk statement: a multi-row INSERT of numbers.

``INSERT INTO root.sg.d(time, s1, s2) [ALIGNED] VALUES (1, 2.5, -3), (2, 1e3, 4), ...``
through the grammar costs ~50 µs per value (lark builds a token, a tree node and a
`Literal` for each), which made SQL INSERT ~20,000 points/s: half of a real IoTDB's rate. This
module parses such a statement without a Python step per value:

* the statement's head and FIRST row go through the grammar (so the device path, the column
  list, ALIGNED and every check on them are exactly the grammar's);
* the rest must match one strict regular expression: rows of exactly as many plain numbers
  (``-?12``, ``1.5``, ``.5``, ``1e3``; an optional sign right before the digits) as the head
  names columns, with the time first as an integer. Anything else — a string, NULL, NaN,
  true/false, a datetime or ``now()`` as time, a comment, a sign apart from its digits —
  and the statement takes the grammar as before;
* the numbers become numpy columns (int64 for a column of integer literals, float64
  otherwise) in a few C-level calls.

At execution (`insert_columns`) the columns become one tablet when every target series is,
or will be created as, INT32/INT64/FLOAT/DOUBLE and the values fit it; otherwise (a TEXT
series keeps the literal as written, an out-of-range value gets its exact error, ...) the
statement is parsed again by the grammar and runs through the ordinary INSERT. Either way the
outcome is the same as the grammar's: one write, one pipe event, the same types and values.
"""

from __future__ import annotations

import re
from typing import Any

import attrs
import numpy as np

from pipecore_storage.paths import canonical_device, join_path, split_path
from pipecore_storage.rows import columns_tablet
from pipecore_storage.tablet import MeasurementSchema
from pipecore_storage.types import TSDataType
from pipecore_storage.values import infer_type

from ..backlog import check_writes
from .outcome import DONE, Context, Outcome
from .statements import Insert

__all__ = ["HANDLERS", "ColumnarInsert", "insert_columns", "parse_fast_insert"]

# statements shorter than this gain nothing (the grammar is quick on a few values)
MIN_FAST_LENGTH = 512

_HEAD = re.compile(r"\s*insert\s+into\s+[^()]+\([^()]*\)\s*(?:aligned\s+)?values\s*", re.IGNORECASE)
_INT = r"[+-]?\d+"
_NUM = r"[+-]?(?:(?:\d+\.\d*|\.\d+)(?:[eE][+-]?\d+)?|\d+(?:[eE][+-]?\d+)?)"
_NOT_INTEGRAL = re.compile(r"[.eE]")
_STRIP = str.maketrans("", "", "() \t\r\n")
_body_patterns: dict[int, re.Pattern[str]] = {}

_INT_RANGES = {
    TSDataType.INT32: (-(2**31), 2**31 - 1),
    TSDataType.INT64: (-(2**63), 2**63 - 1),
}
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _body(width: int) -> re.Pattern[str]:
    """Rows of one integer (the time) and `width` numbers, comma-separated, to the end."""
    pattern = _body_patterns.get(width)
    if pattern is None:
        row = rf"\(\s*{_INT}" + rf"(?:\s*,\s*{_NUM}){{{width}}}" + r"\s*\)"
        pattern = re.compile(rf"{row}(?:\s*,\s*{row})*\s*;?\s*")
        _body_patterns[width] = pattern
    return pattern


@attrs.frozen(kw_only=True, eq=False)
class ColumnarInsert(Insert):
    """An `Insert` whose rows are numpy columns: `times` (int64) and one array per
    measurement, int64 when every literal of the column is an integer, else float64.
    `first_integral` tells, per column, whether its first literal is an integer (a new
    series is typed from it, as the grammar path types it from its first value). `rows` is
    empty; `source` is the statement's text, for the grammar fallback."""

    times: np.ndarray
    columns: tuple[np.ndarray, ...]
    first_integral: tuple[bool, ...]
    source: str


def parse_fast_insert(sql: str, zone: Any = None) -> ColumnarInsert | None:
    """The statement as a `ColumnarInsert`, or None when it is not a plain numeric
    multi-row INSERT (the caller then parses it with the grammar)."""
    if len(sql) < MIN_FAST_LENGTH:
        return None
    head = _HEAD.match(sql)
    if head is None or any(c in head.group() for c in "`'\"-/"):
        return None  # quoted names or comments in the head: the grammar's job
    body_start = head.end()
    first_end = sql.find(")", body_start)
    if first_end < 0 or not sql[first_end + 1 :].strip().rstrip(";").strip():
        return None  # one row: the grammar's (its first row would come back here)
    width = sql.count(",", body_start, first_end)  # values after the time
    if width < 1 or _body(width).fullmatch(sql, body_start) is None:
        return None
    from .parser import parse_statement  # the grammar, for the head and first row

    first = parse_statement(sql[: first_end + 1], zone=zone)
    if not isinstance(first, Insert) or len(first.measurements) != width:
        return None  # e.g. no time column: the first value is not the time
    tokens = sql[body_start:].translate(_STRIP).rstrip(";").split(",")
    table = np.array(tokens, dtype=np.str_).reshape(-1, width + 1)
    try:
        times = table[:, 0].astype(np.int64)
        columns = tuple(_column(table[:, i + 1]) for i in range(width))
    except (OverflowError, ValueError):
        return None  # a time or an integer beyond int64: the grammar says what is wrong
    span = attrs.evolve(first.span, text=sql.strip(), end=len(sql))
    return ColumnarInsert(
        device=first.device,
        measurements=first.measurements,
        rows=(),
        aligned=first.aligned,
        span=span,
        times=times,
        columns=columns,
        first_integral=tuple(_NOT_INTEGRAL.search(str(t)) is None for t in table[0, 1:]),
        source=sql,
    )


def _column(tokens: np.ndarray) -> np.ndarray:
    if _NOT_INTEGRAL.search(",".join(tokens.tolist())) is None:
        return tokens.astype(np.int64)
    return tokens.astype(np.float64)


def _typed(values: np.ndarray, dt: TSDataType) -> np.ndarray | None:
    """`values` as series type `dt` holds them, or None when the ordinary path must decide
    (another type, a value out of range: its error message is the grammar path's)."""
    if dt in _INT_RANGES:
        if values.dtype != np.int64:
            return None
        lo, hi = _INT_RANGES[dt]
        if values.size and (int(values.min()) < lo or int(values.max()) > hi):
            return None
        return values.astype(dt.numpy_dtype)
    if dt == TSDataType.DOUBLE:
        return values.astype(np.float64)
    if dt == TSDataType.FLOAT:
        as_double = values.astype(np.float64)
        if values.size and float(np.abs(as_double).max()) > _FLOAT32_MAX:
            return None
        return as_double.astype(np.float32)
    return None


def insert_columns(ctx: Context, s: ColumnarInsert) -> Outcome:
    """Run a `ColumnarInsert`: one tablet, or the grammar's INSERT when a column does not fit
    the numeric fast path."""
    device = str(s.device)
    canonical = canonical_device(device)[0]
    if ctx.store.device_aligned(canonical) is None:
        # a device below a schema template's path uses the template from its first write
        ctx.node.templates.activate_on_write(ctx.store, canonical)
    schemas, columns = [], []
    for name, values, integral in zip(s.measurements, s.columns, s.first_integral, strict=True):
        info = ctx.store.series(join_path([*split_path(device), name]))
        if info is not None:
            dt = info.data_type
        else:  # typed from the first value, as the grammar path types a new series
            dt = infer_type(0 if integral else 0.0, ctx.store.config)
        typed = _typed(values, dt) if dt is not None else None
        if typed is None:
            return _by_grammar(ctx, s)
        schemas.append(MeasurementSchema(name, dt))
        columns.append(typed)
    check_writes(ctx.store)  # a pipe's backlog full with overflow-policy=block: 606
    aligned = ctx.store.device_aligned(canonical)
    tablet = columns_tablet(
        device, s.times, schemas, columns, s.aligned if aligned is None else aligned
    )
    ctx.store.insert_tablet(tablet)  # one write for the statement: one pipe event
    return DONE


def _by_grammar(ctx: Context, s: ColumnarInsert) -> Outcome:
    from .executor_data import insert
    from .parser import parse_script

    (statement,) = parse_script(s.source, zone=ctx.zone)
    assert isinstance(statement, Insert)  # the head and first row parsed as one
    return insert(ctx, statement)


HANDLERS: dict[type, Any] = {ColumnarInsert: insert_columns}
