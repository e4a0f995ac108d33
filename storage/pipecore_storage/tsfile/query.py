"""The seed's query API: paths, time and value filters, expressions, row records.

Filters compose with ``&``, ``|`` and ``~`` (and the seed's ``TimeFilter.not_``); expressions
with ``&``/``|`` or ``BinaryExpression.and_``/``or_``. A query is evaluated column-wise:
every series is read once (chunks and pages whose statistics cannot satisfy the expression
are skipped), the expression is evaluated over the merged timeline with numpy, and rows are
only materialised as `RowRecord`s when iterated.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Iterator
from typing import Any

import attrs
import numpy as np

from ..types import TSDataType
from .constants import MAX_TIME, MIN_TIME
from .statistics import Statistics

__all__ = [
    "BinaryExpression",
    "Field",
    "Filter",
    "GlobalTimeExpression",
    "Path",
    "QueryDataSet",
    "QueryExpression",
    "RowRecord",
    "SingleSeriesExpression",
    "TimeFilter",
    "ValueFilter",
]

_OPS = {
    "eq": operator.eq,
    "not_eq": operator.ne,
    "lt": operator.lt,
    "lt_eq": operator.le,
    "gt": operator.gt,
    "gt_eq": operator.ge,
}
_SYMBOLS = {"eq": "==", "not_eq": "!=", "lt": "<", "lt_eq": "<=", "gt": ">", "gt_eq": ">="}
Intervals = list[tuple[int, int]]
_ALL: Intervals = [(MIN_TIME, MAX_TIME)]


# ---------------------------------------------------------------------- filters
class Filter:
    """A predicate on times (TimeFilter) or on a series' values (ValueFilter)."""

    on_time: bool = False

    def mask(self, values: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def could_match(self, stats: Statistics) -> bool:
        """False only if no point summarised by `stats` can satisfy the filter."""
        raise NotImplementedError

    def all_match(self, stats: Statistics) -> bool:
        """True only if every point summarised by `stats` satisfies the filter."""
        raise NotImplementedError

    def intervals(self) -> Intervals:
        """Time filters: the inclusive time ranges it accepts."""
        raise TypeError("only time filters have intervals")

    def __and__(self, other):
        if isinstance(other, Expression):  # a time filter with an expression
            return BinaryExpression("and", as_expression(self), other)
        return _And(self, _same_kind(self, other))

    def __or__(self, other):
        if isinstance(other, Expression):
            return BinaryExpression("or", as_expression(self), other)
        return _Or(self, _same_kind(self, other))

    def __invert__(self) -> Filter:
        return _Not(self)


def _same_kind(a: Filter, b: object) -> Filter:
    if not isinstance(b, Filter) or a.on_time != b.on_time:
        raise TypeError("time filters combine with time filters, value filters with value filters")
    return b


@attrs.frozen(repr=False)
class _Compare(Filter):
    op: str
    value: Any
    on_time: bool = False

    def mask(self, values: np.ndarray) -> np.ndarray:
        return np.asarray(_OPS[self.op](values, self.value), dtype=np.bool_)

    def _bounds(self, stats: Statistics):
        if self.on_time:
            return stats.start_time, stats.end_time
        if stats.count == 0:
            return None
        dt = stats.data_type
        if dt == TSDataType.BOOLEAN and stats.sum_value is not None:
            return stats.sum_value == stats.count, stats.sum_value > 0
        if dt.is_numeric and stats.min_value is not None:
            lo, hi = stats.min_value, stats.max_value
            if lo != lo or hi != hi:  # NaN in the statistics: nothing can be concluded
                return None
            return lo, hi
        return None

    def could_match(self, stats: Statistics) -> bool:
        b = self._bounds(stats)
        if b is None:
            return True
        lo, hi, v = b[0], b[1], self.value
        return {
            "eq": lo <= v <= hi,
            "not_eq": not (lo == hi == v),
            "lt": lo < v,
            "lt_eq": lo <= v,
            "gt": hi > v,
            "gt_eq": hi >= v,
        }[self.op]

    def all_match(self, stats: Statistics) -> bool:
        b = self._bounds(stats)
        if b is None:
            return False
        lo, hi, v = b[0], b[1], self.value
        return {
            "eq": lo == hi == v,
            "not_eq": v < lo or v > hi,
            "lt": hi < v,
            "lt_eq": hi <= v,
            "gt": lo > v,
            "gt_eq": lo >= v,
        }[self.op]

    def intervals(self) -> Intervals:
        v = self.value
        return {
            "eq": [(v, v)],
            "not_eq": [(MIN_TIME, v - 1), (v + 1, MAX_TIME)],
            "lt": [(MIN_TIME, v - 1)],
            "lt_eq": [(MIN_TIME, v)],
            "gt": [(v + 1, MAX_TIME)],
            "gt_eq": [(v, MAX_TIME)],
        }[self.op]

    def __repr__(self) -> str:
        return f"{'time' if self.on_time else 'value'} {_SYMBOLS[self.op]} {self.value!r}"


@attrs.frozen(repr=False)
class _Not(Filter):
    inner: Filter

    @property
    def on_time(self) -> bool:  # type: ignore[override]
        return self.inner.on_time

    def mask(self, values):
        return ~self.inner.mask(values)

    def could_match(self, stats):
        return not self.inner.all_match(stats)

    def all_match(self, stats):
        return not self.inner.could_match(stats)

    def intervals(self) -> Intervals:
        return _complement(self.inner.intervals())

    def __repr__(self) -> str:
        return f"not ({self.inner!r})"


@attrs.frozen(repr=False)
class _And(Filter):
    left: Filter
    right: Filter

    @property
    def on_time(self) -> bool:  # type: ignore[override]
        return self.left.on_time

    def mask(self, values):
        return self.left.mask(values) & self.right.mask(values)

    def could_match(self, stats):
        return self.left.could_match(stats) and self.right.could_match(stats)

    def all_match(self, stats):
        return self.left.all_match(stats) and self.right.all_match(stats)

    def intervals(self) -> Intervals:
        return _intersect(self.left.intervals(), self.right.intervals())

    def __repr__(self) -> str:
        return f"({self.left!r} and {self.right!r})"


@attrs.frozen(repr=False)
class _Or(Filter):
    left: Filter
    right: Filter

    @property
    def on_time(self) -> bool:  # type: ignore[override]
        return self.left.on_time

    def mask(self, values):
        return self.left.mask(values) | self.right.mask(values)

    def could_match(self, stats):
        return self.left.could_match(stats) or self.right.could_match(stats)

    def all_match(self, stats):
        return self.left.all_match(stats) or self.right.all_match(stats)

    def intervals(self) -> Intervals:
        return _union(self.left.intervals() + self.right.intervals())

    def __repr__(self) -> str:
        return f"({self.left!r} or {self.right!r})"


def _filters(on_time: bool):
    def make(op: str):
        def build(value):
            if on_time:
                if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                    raise TypeError(f"a time filter needs an integer time, got {value!r}")
                value = int(value)
            return _Compare(op, value, on_time)

        build.__name__ = op
        build.__doc__ = f"{'time' if on_time else 'value'} {_SYMBOLS[op]} the given value"
        return staticmethod(build)

    return make


class TimeFilter:
    """``TimeFilter.eq(t)``, ``lt``, ``gt``, ``lt_eq``, ``gt_eq``, ``not_eq``, ``not_(f)``."""

    _make = _filters(True)
    eq = _make("eq")
    lt = _make("lt")
    gt = _make("gt")
    lt_eq = _make("lt_eq")
    gt_eq = _make("gt_eq")
    not_eq = _make("not_eq")
    ltEq, gtEq, notEq = lt_eq, gt_eq, not_eq

    @staticmethod
    def not_(f: Filter) -> Filter:
        return _Not(f)

    @staticmethod
    def between(lo: int, hi: int) -> Filter:
        """``lo <= time <= hi``."""
        return TimeFilter.gt_eq(lo) & TimeFilter.lt_eq(hi)


class ValueFilter:
    """``ValueFilter.eq(v)``, ``lt``, ... on the values of a SingleSeriesExpression's series."""

    _make = _filters(False)
    eq = _make("eq")
    lt = _make("lt")
    gt = _make("gt")
    lt_eq = _make("lt_eq")
    gt_eq = _make("gt_eq")
    not_eq = _make("not_eq")
    ltEq, gtEq, notEq = lt_eq, gt_eq, not_eq

    @staticmethod
    def not_(f: Filter) -> Filter:
        return _Not(f)

    @staticmethod
    def between(lo, hi) -> Filter:
        return ValueFilter.gt_eq(lo) & ValueFilter.lt_eq(hi)


# ---------------------------------------------------------------------- intervals
def _union(spans: Intervals) -> Intervals:
    out: Intervals = []
    for lo, hi in sorted(s for s in spans if s[0] <= s[1]):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _intersect(a: Intervals, b: Intervals) -> Intervals:
    out = [(max(x0, y0), min(x1, y1)) for x0, x1 in a for y0, y1 in b]
    return _union([s for s in out if s[0] <= s[1]])


def _complement(a: Intervals) -> Intervals:
    out: Intervals = []
    prev = MIN_TIME
    for lo, hi in _union(a):
        if lo > prev:
            out.append((prev, lo - 1))
        prev = hi + 1
        if hi == MAX_TIME:
            return out
    out.append((prev, MAX_TIME))
    return [s for s in out if s[0] <= s[1]]


def overlaps(spans: Intervals, start: int, end: int) -> bool:
    return any(lo <= end and hi >= start for lo, hi in spans)


# ---------------------------------------------------------------------- paths, expressions
@attrs.frozen(init=False)
class Path:
    """A series path: ``Path("root.sg1.d1.s1")`` or ``Path("root.sg1.d1", "s1")``."""

    device: str
    measurement: str

    def __init__(self, device_or_full_path: str, measurement: str | None = None) -> None:
        if measurement is None:
            device, sep, measurement = str(device_or_full_path).rpartition(".")
            if not sep or not device or not measurement:
                raise ValueError(f"path {device_or_full_path!r} is not device.measurement")
        else:
            device = str(device_or_full_path)
        object.__setattr__(self, "device", device)
        object.__setattr__(self, "measurement", measurement)

    @property
    def full_path(self) -> str:
        return f"{self.device}.{self.measurement}"

    def __str__(self) -> str:
        return self.full_path


def as_path(p: str | Path) -> Path:
    return p if isinstance(p, Path) else Path(p)


class Expression:
    """An expression of a query (IExpression); combine with ``&`` and ``|``."""

    def __and__(self, other: Expression | Filter) -> Expression:
        return BinaryExpression("and", self, as_expression(other))

    def __or__(self, other: Expression | Filter) -> Expression:
        return BinaryExpression("or", self, as_expression(other))


@attrs.frozen
class GlobalTimeExpression(Expression):
    filter: Filter

    def __attrs_post_init__(self) -> None:
        if not self.filter.on_time:
            raise TypeError("GlobalTimeExpression needs a TimeFilter")


@attrs.frozen
class SingleSeriesExpression(Expression):
    path: Path = attrs.field(converter=as_path)
    filter: Filter = attrs.field()

    @filter.validator
    def _check(self, attribute, value) -> None:
        if value.on_time:
            raise TypeError("SingleSeriesExpression needs a ValueFilter")


@attrs.frozen
class BinaryExpression(Expression):
    kind: str  # "and" | "or"
    left: Expression
    right: Expression

    @staticmethod
    def and_(left, right) -> BinaryExpression:
        return BinaryExpression("and", as_expression(left), as_expression(right))

    @staticmethod
    def or_(left, right) -> BinaryExpression:
        return BinaryExpression("or", as_expression(left), as_expression(right))


def as_expression(e: Expression | Filter) -> Expression:
    if isinstance(e, Expression):
        return e
    if isinstance(e, Filter) and e.on_time:
        return GlobalTimeExpression(e)
    raise TypeError(f"{e!r} is not a query expression (a value filter needs a series path)")


@attrs.frozen
class QueryExpression:
    """Selected paths plus an optional expression (``QueryExpression.create``)."""

    paths: list[Path]
    expression: Expression | None = None

    @classmethod
    def create(cls, paths: Iterable[str | Path], expression=None) -> QueryExpression:
        expr = None if expression is None else as_expression(expression)
        return cls([as_path(p) for p in paths], expr)


# ---------------------------------------------------------------------- results
@attrs.frozen
class Field:
    """One value of a row record, with its data type."""

    data_type: TSDataType
    value: Any

    def get_data_type(self) -> TSDataType:
        return self.data_type

    def get_object_value(self) -> Any:
        return self.value

    def __str__(self) -> str:
        return str(self.value)


@attrs.frozen
class RowRecord:
    """A timestamp and one field per selected path (None where the path has no value)."""

    timestamp: int
    fields: list[Field | None]

    def get_timestamp(self) -> int:
        return self.timestamp

    def get_fields(self) -> list[Field | None]:
        return self.fields

    @property
    def values(self) -> list[Any]:
        return [None if f is None else f.value for f in self.fields]

    def __str__(self) -> str:
        return "\t".join(
            [str(self.timestamp), *("null" if f is None else str(f) for f in self.fields)]
        )


class QueryDataSet:
    """The result rows, iterated as RowRecords (``has_next``/``next`` or a for loop).

    The columns are also available whole: `timestamps`, and `column(i)` -> (values, mask).
    """

    def __init__(self, paths, data_types, timestamps, columns, masks) -> None:
        self.paths: list[Path] = paths
        self.data_types: list[TSDataType | None] = data_types
        self.timestamps: np.ndarray = timestamps
        self._columns = columns
        self._masks = masks
        self._pos = 0

    def __len__(self) -> int:
        return int(self.timestamps.shape[0])

    def get_paths(self) -> list[Path]:
        return self.paths

    def get_data_types(self) -> list[TSDataType | None]:
        return self.data_types

    def column(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """(values, null mask) of the i-th selected path over all rows."""
        return self._columns[i], self._masks[i]

    def has_next(self) -> bool:
        return self._pos < len(self)

    hasNext = has_next

    def next(self) -> RowRecord:
        if not self.has_next():
            raise StopIteration("the query data set is exhausted")
        i = self._pos
        self._pos += 1
        return self._row(i)

    def _row(self, i: int) -> RowRecord:
        fields: list[Field | None] = []
        for dt, col, mask in zip(self.data_types, self._columns, self._masks, strict=True):
            fields.append(None if dt is None or mask[i] else Field(dt, _scalar(col[i])))
        return RowRecord(int(self.timestamps[i]), fields)

    def __iter__(self) -> Iterator[RowRecord]:
        while self.has_next():
            yield self.next()

    def to_rows(self) -> list[tuple[int, list[Any]]]:
        """All remaining rows as (timestamp, [value or None ...])."""
        return [(r.timestamp, r.values) for r in self]


def _scalar(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v
