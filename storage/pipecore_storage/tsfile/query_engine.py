"""Evaluation of a query over a `TsFileReader`, column-wise (see `query`).

Semantics (those of Java TsFile's ``ReadOnlyTsFile.query``):
* without a value filter, the rows are the union of the selected series' times (restricted
  by the time filter);
* a ``SingleSeriesExpression(path, f)`` holds at time t when that series has a value at t
  satisfying f; ``and``/``or`` combine; a row is kept where the whole expression holds;
* a partial query (byte range) only reads chunks whose chunk group starts in the range.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from ..errors import SchemaError
from ..types import TSDataType
from .metadata import ChunkMetadata
from .query import (
    _ALL,
    BinaryExpression,
    Expression,
    GlobalTimeExpression,
    Intervals,
    Path,
    QueryDataSet,
    SingleSeriesExpression,
    _intersect,
    _union,
    as_expression,
    as_path,
    overlaps,
)
from .statistics import Statistics

__all__ = ["run_query"]

_FILLERS = {TSDataType.TEXT: "", TSDataType.STRING: "", TSDataType.BLOB: b""}


def run_query(reader, paths, expression=None, part_start=None, part_end=None) -> QueryDataSet:
    if isinstance(paths, (str, Path)):
        paths = [paths]
    selected = [as_path(p) for p in paths]
    expr = None if expression is None else as_expression(expression)
    in_partition = _partition_filter(reader, part_start, part_end)
    spans = _time_spans(expr) if expr is not None else list(_ALL)
    lo = min((a for a, _ in spans), default=0)
    hi = max((b for _, b in spans), default=-1)

    def keep_chunk(c: ChunkMetadata) -> bool:
        st = c.statistics
        return st.count > 0 and overlaps(spans, st.start_time, st.end_time) and in_partition(c)

    def keep_page(st: Statistics) -> bool:
        return overlaps(spans, st.start_time, st.end_time)

    leaves: dict[int, np.ndarray] = {}
    for leaf in _leaves(expr):
        leaves[id(leaf)] = _leaf_times(reader, leaf, keep_chunk, keep_page, lo, hi)
    bound = _row_bound(expr, leaves) if expr is not None else None
    if bound is not None:  # rows can only be at these times: prune the selected series by them

        def keep_chunk_rows(c: ChunkMetadata) -> bool:
            return keep_chunk(c) and _any_between(bound, c.statistics)

        def keep_page_rows(st: Statistics) -> bool:
            return keep_page(st) and _any_between(bound, st)

        data = _read_paths(reader, selected, keep_chunk_rows, keep_page_rows, lo, hi)
    else:
        data = _read_paths(reader, selected, keep_chunk, keep_page, lo, hi)
    pieces = [t for t, _ in data.values()] + list(leaves.values())
    timeline = np.unique(np.concatenate(pieces)) if pieces else np.empty(0, np.int64)
    if expr is not None and timeline.shape[0]:
        timeline = timeline[_evaluate(expr, timeline, leaves)]
    return _data_set(reader, selected, data, timeline)


def _partition_filter(reader, start, end) -> Callable[[ChunkMetadata], bool]:
    if start is None and end is None:
        return lambda c: True
    start = 0 if start is None else int(start)
    end = reader.file_size if end is None else int(end)
    if start > end:
        raise ValueError(f"partition start {start} is after its end {end}")
    from .sequence import chunk_group_offsets

    starts = chunk_group_offsets(
        reader._data, reader.path, reader.version, reader.metadata.meta_offset
    )

    def keep(c: ChunkMetadata) -> bool:
        i = int(np.searchsorted(starts, c.offset, side="right")) - 1
        return i >= 0 and start <= int(starts[i]) < end

    return keep


def _time_spans(expr: Expression) -> Intervals:
    """A superset of the times at which `expr` can hold."""
    if isinstance(expr, GlobalTimeExpression):
        return expr.filter.intervals()
    if isinstance(expr, SingleSeriesExpression):
        return list(_ALL)
    if isinstance(expr, BinaryExpression):
        a, b = _time_spans(expr.left), _time_spans(expr.right)
        return _intersect(a, b) if expr.kind == "and" else _union(a + b)
    raise TypeError(f"unsupported expression {expr!r}")


def _row_bound(expr: Expression, leaves: dict[int, np.ndarray]) -> np.ndarray | None:
    """Sorted times outside which `expr` cannot hold, or None when it is not bounded so."""
    if isinstance(expr, SingleSeriesExpression):
        return leaves[id(expr)]
    if isinstance(expr, BinaryExpression):
        a, b = _row_bound(expr.left, leaves), _row_bound(expr.right, leaves)
        if expr.kind == "and":
            if a is None or b is None:
                return a if b is None else b
            return np.intersect1d(a, b, assume_unique=True)
        if a is None or b is None:
            return None
        return np.union1d(a, b)
    return None


def _any_between(times: np.ndarray, st: Statistics) -> bool:
    i = int(np.searchsorted(times, st.start_time, side="left"))
    return i < times.shape[0] and int(times[i]) <= st.end_time


def _leaves(expr: Expression | None) -> Iterable[SingleSeriesExpression]:
    if isinstance(expr, SingleSeriesExpression):
        yield expr
    elif isinstance(expr, BinaryExpression):
        yield from _leaves(expr.left)
        yield from _leaves(expr.right)


def _read_paths(reader, paths: list[Path], keep_chunk, keep_page, lo, hi):
    by_device: dict[str, list[str]] = {}
    for p in paths:
        if p.device in reader._index() and p.measurement in reader.measurements(p.device):
            names = by_device.setdefault(p.device, [])
            if p.measurement not in names:
                names.append(p.measurement)
    out = {}
    for device, names in by_device.items():
        got = reader.read_filtered(device, names, keep_chunk, keep_page, lo, hi)
        for name, tv in got.items():
            out[Path(device, name)] = tv
    return out


def _leaf_times(reader, leaf: SingleSeriesExpression, keep_chunk, keep_page, lo, hi) -> np.ndarray:
    p, f = leaf.path, leaf.filter
    if p.device not in reader._index() or p.measurement not in reader.measurements(p.device):
        return np.empty(0, np.int64)
    dt = reader.timeseries_metadata(p.device)[p.measurement].data_type
    _check_filter_type(f, dt, p)
    got = reader.read_filtered(
        p.device,
        [p.measurement],
        lambda c: keep_chunk(c) and f.could_match(c.statistics),
        lambda st: keep_page(st) and f.could_match(st),
        lo,
        hi,
    )
    times, values = got[p.measurement]
    return times[f.mask(values)] if times.shape[0] else times


def _check_filter_type(f, dt: TSDataType, path: Path) -> None:
    for value in _constants(f):
        ok = (
            (dt == TSDataType.BOOLEAN and isinstance(value, (bool, np.bool_)))
            or (
                dt.is_numeric
                and isinstance(value, (int, float, np.number))
                and not isinstance(value, bool)
            )
            or (dt in (TSDataType.TEXT, TSDataType.STRING) and isinstance(value, str))
            or (dt == TSDataType.BLOB and isinstance(value, bytes))
        )
        if not ok:
            raise SchemaError(
                f"value filter on {path} ({dt.name}) compares with {value!r} of another type",
                str(path),
            )


def _constants(f):
    if hasattr(f, "value"):
        yield f.value
    for attr in ("inner", "left", "right"):
        child = getattr(f, attr, None)
        if child is not None:
            yield from _constants(child)


def _evaluate(expr: Expression, timeline: np.ndarray, leaves: dict[int, np.ndarray]) -> np.ndarray:
    if isinstance(expr, GlobalTimeExpression):
        return expr.filter.mask(timeline)
    if isinstance(expr, SingleSeriesExpression):
        return _member(timeline, leaves[id(expr)])
    if isinstance(expr, BinaryExpression):
        a = _evaluate(expr.left, timeline, leaves)
        b = _evaluate(expr.right, timeline, leaves)
        return a & b if expr.kind == "and" else a | b
    raise TypeError(f"unsupported expression {expr!r}")


def _member(timeline: np.ndarray, times: np.ndarray) -> np.ndarray:
    if times.shape[0] == 0:
        return np.zeros(timeline.shape[0], np.bool_)
    pos = np.minimum(np.searchsorted(times, timeline), times.shape[0] - 1)
    return times[pos] == timeline


def _data_set(reader, paths: list[Path], data, timeline: np.ndarray) -> QueryDataSet:
    n = timeline.shape[0]
    types: list[TSDataType | None] = []
    columns: list[np.ndarray] = []
    masks: list[np.ndarray] = []
    for p in paths:
        got = data.get(p)
        if got is None:
            types.append(None)
            columns.append(np.zeros(n, np.int8))
            masks.append(np.ones(n, np.bool_))
            continue
        dt = reader.timeseries_metadata(p.device)[p.measurement].data_type
        times, values = got
        col = np.full(n, _FILLERS.get(dt, 0), dtype=dt.numpy_dtype)
        mask = np.ones(n, np.bool_)
        if times.shape[0] and n:
            hit = _member(timeline, times)
            idx = np.searchsorted(times, timeline[hit])
            col[hit] = values[idx]
            mask[hit] = False
        types.append(dt)
        columns.append(col)
        masks.append(mask)
    return QueryDataSet(paths, types, timeline, columns, masks)
