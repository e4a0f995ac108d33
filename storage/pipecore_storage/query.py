"""Queries over a store: raw data, aggregates, LAST — merging memtables and sealed files.

Result shapes (what the SQL layer prints):

* `QueryResult` — ``columns`` (series paths), ``data_types``, ``timestamps`` (int64, sorted,
  unique), ``values[i]`` (numpy, the series' dtype) and ``null_masks[i]`` (bool, True = no value
  at that time); ``rows()`` gives ``(time, v1, v2, ...)`` tuples with None for nulls.
* `StoreRows` — ``columns`` (names) and ``rows`` (tuples): SHOW results, aggregates, LAST.

A series' points come from every sealed file that holds its device in the time range (oldest
version first) and then the memtables; for equal timestamps the newest write wins, and a
file's ``.mods`` deletions are applied to its points. Aggregates over a file that no other
source overlaps and no deletion touches are answered from the file's statistics.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from .errors import SchemaError
from .memtable import DeviceData, MemChunk, lww_merge, series_of
from .mods import MAX_TIME, MIN_TIME, Deletion, mask_deleted
from .paths import parse_pattern, split_path
from .resource import SealedFile
from .schema import SchemaRegistry, SeriesInfo
from .tsfile import TsFileReader
from .types import TSDataType

if TYPE_CHECKING:
    from .store import Store

__all__ = [
    "AGGREGATES",
    "COMPARISONS",
    "AggregateSpec",
    "And",
    "Compare",
    "Not",
    "Or",
    "QueryResult",
    "StoreRows",
    "ValueFilter",
]

AGGREGATES = (
    "count",
    "sum",
    "avg",
    "min_value",
    "max_value",
    "first_value",
    "last_value",
    "min_time",
    "max_time",
)
_NUMERIC_ONLY = {"sum", "avg", "min_value", "max_value"}


# ---------------------------------------------------------------------- results
@attrs.frozen
class StoreRows:
    """A small result: column names and rows of Python values."""

    columns: list[str]
    rows: list[tuple]

    def __len__(self) -> int:
        return len(self.rows)


@attrs.define
class QueryResult:
    """Raw query result aligned by time (see module docstring)."""

    columns: list[str]
    data_types: list[TSDataType]
    timestamps: np.ndarray
    values: list[np.ndarray]
    null_masks: list[np.ndarray]

    def __len__(self) -> int:
        return int(self.timestamps.shape[0])

    def column(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(values, null mask) of one column by series path."""
        i = self.columns.index(name)
        return self.values[i], self.null_masks[i]

    def series(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(times, values) of one column's non-null points."""
        values, mask = self.column(name)
        return self.timestamps[~mask], values[~mask]

    def rows(self) -> list[tuple]:
        """``(time, v1, ...)`` per row, None where a series has no value."""
        cols = [
            [None if m else v for v, m in zip(vals.tolist(), mask.tolist(), strict=True)]
            for vals, mask in zip(self.values, self.null_masks, strict=True)
        ]
        return list(zip(self.timestamps.tolist(), *cols, strict=True))

    def to_table(self) -> StoreRows:
        return StoreRows(["Time", *self.columns], self.rows())

    def take(self, index: np.ndarray) -> QueryResult:
        return QueryResult(
            self.columns,
            self.data_types,
            self.timestamps[index],
            [v[index] for v in self.values],
            [m[index] for m in self.null_masks],
        )


@attrs.frozen
class AggregateSpec:
    """One aggregate: a function name (see AGGREGATES) over a series path or pattern."""

    function: str = attrs.field(converter=lambda s: str(s).strip().lower())
    path: str

    def __attrs_post_init__(self) -> None:
        if self.function not in AGGREGATES:
            raise ValueError(
                f"unknown aggregate function {self.function!r}; one of {', '.join(AGGREGATES)}"
            )


# ---------------------------------------------------------------------- value filters
class ValueFilter:
    """A row predicate over series values: ``paths`` it reads, and a vectorised evaluation
    ``evaluate(columns) -> (value, known)`` bool arrays (SQL three-valued logic: a comparison
    with a null is unknown; rows are kept where the filter is known true)."""

    paths: tuple[str, ...] = ()

    def evaluate(self, columns: Mapping[str, tuple[np.ndarray, np.ndarray]], n: int):
        raise NotImplementedError

    def __and__(self, other: ValueFilter) -> ValueFilter:
        return And(self, other)

    def __or__(self, other: ValueFilter) -> ValueFilter:
        return Or(self, other)

    def __invert__(self) -> ValueFilter:
        return Not(self)


#: the comparison operators of a value filter and of SQL's WHERE (the SQL layer uses this table)
COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "=": np.equal,
    "==": np.equal,
    "!=": np.not_equal,
    "<>": np.not_equal,
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
}


class Compare(ValueFilter):
    """``path <op> value`` with op one of = == != <> < <= > >=."""

    def __init__(self, path: str, op: str, value: Any) -> None:
        if op not in COMPARISONS:
            raise ValueError(f"unknown comparison {op!r}; one of {', '.join(COMPARISONS)}")
        self.path, self.op, self.value = path, op, value
        self.paths = (path,)

    def evaluate(self, columns, n):
        if self.path not in columns:
            return np.zeros(n, np.bool_), np.zeros(n, np.bool_)
        values, mask = columns[self.path]
        known = ~mask
        result = np.zeros(n, np.bool_)
        if known.any():
            try:
                result[known] = COMPARISONS[self.op](values[known], self.value)
            except TypeError as exc:
                raise SchemaError(
                    f"cannot compare {self.path} with {self.value!r}: {exc}", self.path
                ) from exc
        return result, known

    def __repr__(self) -> str:
        return f"Compare({self.path!r}, {self.op!r}, {self.value!r})"


class And(ValueFilter):
    def __init__(self, *parts: ValueFilter) -> None:
        self.parts = parts
        self.paths = tuple(p for part in parts for p in part.paths)

    def evaluate(self, columns, n):
        value, known = np.ones(n, np.bool_), np.ones(n, np.bool_)
        false = np.zeros(n, np.bool_)
        for part in self.parts:
            v, k = part.evaluate(columns, n)
            false |= k & ~v
            value &= v
            known &= k
        return value & known, known | false


class Or(ValueFilter):
    def __init__(self, *parts: ValueFilter) -> None:
        self.parts = parts
        self.paths = tuple(p for part in parts for p in part.paths)

    def evaluate(self, columns, n):
        true = np.zeros(n, np.bool_)
        known = np.ones(n, np.bool_)
        for part in self.parts:
            v, k = part.evaluate(columns, n)
            true |= k & v
            known &= k
        return true, known | true


class Not(ValueFilter):
    def __init__(self, inner: ValueFilter) -> None:
        self.inner = inner
        self.paths = inner.paths

    def evaluate(self, columns, n):
        v, k = self.inner.evaluate(columns, n)
        return ~v & k, k


# ---------------------------------------------------------------------- snapshot & reading
@attrs.frozen
class Snapshot:
    series: list[SeriesInfo]
    files: list[tuple[SealedFile, tuple[Deletion, ...]]]
    memtables: list[dict[str, tuple[DeviceData, tuple[MemChunk, ...]]]]


class ReaderCache:
    """Open TsFile readers (LRU), each used under its own lock."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._readers: OrderedDict[Path, tuple[Any, threading.Lock]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: Path) -> tuple[Any, threading.Lock]:
        with self._lock:
            hit = self._readers.get(path)
            if hit is not None:
                self._readers.move_to_end(path)
                return hit
        reader = TsFileReader(path)
        with self._lock:
            hit = self._readers.get(path)
            if hit is not None:
                _close(reader)
                return hit
            self._readers[path] = entry = (reader, threading.Lock())
            while len(self._readers) > self._size:
                _p, (old, lock) = self._readers.popitem(last=False)
                with lock:
                    _close(old)
            return entry

    def evict(self, path: Path) -> None:
        with self._lock:
            hit = self._readers.pop(path, None)
        if hit is not None:
            with hit[1]:
                _close(hit[0])

    def close(self) -> None:
        with self._lock:
            entries = list(self._readers.values())
            self._readers.clear()
        for reader, lock in entries:
            with lock:
                _close(reader)


def _close(reader: Any) -> None:
    close = getattr(reader, "close", None)
    if close is not None:
        close()


def resolve_series(schema: SchemaRegistry, paths: str | Sequence[str]) -> list[SeriesInfo]:
    """Series named by full paths or patterns, in the given order, each once."""
    if isinstance(paths, str):
        paths = [paths]
    out: dict[str, SeriesInfo] = {}
    for p in paths:
        pattern = parse_pattern(p)
        if pattern.has_wildcard:
            for s in schema.iter_series(pattern):
                out.setdefault(s.path, s)
        else:
            one = schema.resolve(p)
            if one is not None:
                out.setdefault(one.path, one)
    return list(out.values())


def visible_from(store: Store, device: str, start: int) -> int:
    """`start`, raised to the earliest time of `device` the store's retention hook lets a
    query see (`Store.set_retention`: the kernel's TTL)."""
    hook = getattr(store, "_retention", None)
    if hook is None:
        return start
    floor = hook(device)
    return start if floor is None else max(start, int(floor))


def read_points(
    store: Store, snap: Snapshot, start: int, end: int
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Merged (times, values) of every series in the snapshot, last write wins."""
    runs: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {
        s.path: ([], []) for s in snap.series
    }
    by_device: dict[str, list[SeriesInfo]] = {}
    for s in snap.series:
        by_device.setdefault(s.device, []).append(s)
    lows = {device: visible_from(store, device, start) for device in by_device}
    for f, mods in snap.files:
        for device, series in by_device.items():
            lo = lows[device]
            rng = f.device_times.get(device)
            if rng is None or rng[0] > end or rng[1] < lo:
                continue
            got = _read_file_device(store, f, device, [s.measurement for s in series], lo, end)
            nodes = split_path(device)
            for s in series:
                hit = got.get(s.measurement)
                if hit is None or not len(hit[0]):
                    continue
                t, v = hit
                keep = mask_deleted(mods, nodes, s.measurement, t) if mods else None
                if keep is not None:
                    t, v = t[keep], v[keep]
                runs[s.path][0].append(t)
                runs[s.path][1].append(_as_dtype(v, s.data_type))
    for mem in snap.memtables:
        for device, series in by_device.items():
            entry = mem.get(device)
            if entry is None:
                continue
            _data, chunks = entry
            for s in series:
                ts, vs = series_of(chunks, s.measurement, lows[device], end)
                runs[s.path][0].extend(ts)
                runs[s.path][1].extend(vs)
    out = {}
    for s in snap.series:
        ts, vs = runs[s.path]
        if not ts:
            out[s.path] = (np.empty(0, np.int64), np.empty(0, s.data_type.numpy_dtype))
        else:
            out[s.path] = lww_merge(ts, vs)
    return out


def _read_file_device(
    store: Store, f: SealedFile, device: str, measurements: list[str], start: int, end: int
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    reader, lock = store._readers.get(f.path)
    with lock:
        present = reader.schemas(device) if device in set(reader.devices()) else {}
        wanted = [m for m in measurements if m in present]
        if not wanted:
            return {}
        return reader.read_series(device, wanted, start, end)


def _as_dtype(values: np.ndarray, data_type: TSDataType) -> np.ndarray:
    dtype = data_type.numpy_dtype
    return values if values.dtype == dtype else values.astype(dtype)


# ---------------------------------------------------------------------- raw query
def _bounds(start: int | None, end: int | None) -> tuple[int, int]:
    return (MIN_TIME if start is None else int(start), MAX_TIME if end is None else int(end))


def run_query(store, paths, start, end, value_filter, limit, offset) -> QueryResult:
    lo, hi = _bounds(start, end)
    extra = list(value_filter.paths) if value_filter is not None else []
    want = [paths] if isinstance(paths, str) else list(paths)
    with store._lock:  # one schema state for the selection and the snapshot
        selected = resolve_series(store._schema, want)
        snap = store._snapshot(want + extra, lo, hi)
    points = read_points(store, snap, lo, hi)
    result = _align(selected, points)
    if value_filter is not None:
        result = _apply_filter(result, selected, snap.series, points, value_filter)
    if offset or limit is not None:
        stop = None if limit is None else offset + limit
        result = result.take(np.arange(len(result))[offset:stop])
    return result


def _align(series: list[SeriesInfo], points: dict) -> QueryResult:
    time_runs = [points[s.path][0] for s in series]
    nonempty = [t for t in time_runs if t.shape[0]]
    if not nonempty:
        times = np.empty(0, np.int64)
    elif all(t.shape == nonempty[0].shape and np.array_equal(t, nonempty[0]) for t in nonempty):
        times = nonempty[0]
    else:
        times = np.unique(np.concatenate(nonempty))
    values, masks = [], []
    for s in series:
        t, v = points[s.path]
        if t.shape == times.shape and (t is times or np.array_equal(t, times)):
            values.append(v)
            masks.append(np.zeros(times.shape[0], np.bool_))
            continue
        col = np.zeros(times.shape[0], dtype=s.data_type.numpy_dtype)
        if col.dtype == object:
            col[:] = None
        mask = np.ones(times.shape[0], np.bool_)
        pos = np.searchsorted(times, t)
        col[pos] = v
        mask[pos] = False
        values.append(col)
        masks.append(mask)
    return QueryResult(
        [s.path for s in series], [s.data_type for s in series], times, values, masks
    )


def _apply_filter(result, selected, all_series, points, value_filter) -> QueryResult:
    full = _align(all_series, points)
    cols = {p: full.column(p) for p in full.columns}
    n = len(full)
    value, known = value_filter.evaluate(cols, n)
    keep = value & known
    if selected:
        any_selected = np.zeros(n, np.bool_)
        for s in selected:
            any_selected |= ~cols[s.path][1]
        keep &= any_selected
    times = full.timestamps[keep]
    pos = np.searchsorted(result.timestamps, times)
    return result.take(pos)


# ---------------------------------------------------------------------- aggregates
def run_aggregate(store, specs, start, end) -> StoreRows:
    lo, hi = _bounds(start, end)
    items = [s if isinstance(s, AggregateSpec) else AggregateSpec(*s) for s in specs]
    with store._lock:  # one schema state for the expansion and the snapshot
        expanded = [(item, resolve_series(store._schema, item.path)) for item in items]
        every = list({s.path: s for _, ss in expanded for s in ss}.values())
        snap = store._snapshot([s.path for s in every], lo, hi)
    for item, series in expanded:
        if item.function in _NUMERIC_ONLY:
            for s in series:
                if not s.data_type.is_numeric:
                    raise SchemaError(
                        f"{item.function}({s.path}): aggregate functions [AVG, SUM, MIN_VALUE, "
                        f"MAX_VALUE] only support numeric data types, not {s.data_type.name}",
                        s.path,
                    )
    partials = _aggregate_series(store, snap, lo, hi)
    columns, row = [], []
    for item, series in expanded:
        for s in series:
            columns.append(f"{item.function}({s.path})")
            row.append(partials[s.path].result(item.function))
    return StoreRows(columns, [tuple(row)])


@attrs.define
class Partial:
    """Running aggregate state of one series."""

    count: int = 0
    total: float = 0.0
    min_value: Any = None
    max_value: Any = None
    first: tuple[int, Any] | None = None
    last: tuple[int, Any] | None = None

    def add_points(self, times: np.ndarray, values: np.ndarray, numeric: bool) -> None:
        if not times.shape[0]:
            return
        self.count += int(times.shape[0])
        if numeric:
            with np.errstate(over="ignore", invalid="ignore"):
                self.total += float(values.sum(dtype=np.float64))
            lo, hi = values.min().item(), values.max().item()
            self.min_value = lo if self.min_value is None else min(self.min_value, lo)
            self.max_value = hi if self.max_value is None else max(self.max_value, hi)
        i, j = int(np.argmin(times)), int(np.argmax(times))
        self._edges((int(times[i]), _py(values[i])), (int(times[j]), _py(values[j])))

    def add_stats(self, stats: Any, numeric: bool) -> None:
        self.count += int(stats.count)
        if numeric:
            self.total += float(stats.sum_value)
            lo, hi = _py(stats.min_value), _py(stats.max_value)
            self.min_value = lo if self.min_value is None else min(self.min_value, lo)
            self.max_value = hi if self.max_value is None else max(self.max_value, hi)
        self._edges(
            (int(stats.start_time), _py(stats.first_value)),
            (int(stats.end_time), _py(stats.last_value)),
        )

    def _edges(self, first: tuple[int, Any], last: tuple[int, Any]) -> None:
        if self.first is None or first[0] < self.first[0]:
            self.first = first
        if self.last is None or last[0] > self.last[0]:
            self.last = last

    def result(self, function: str) -> Any:
        if function == "count":
            return self.count
        if not self.count or self.first is None or self.last is None:
            return None
        first, last = self.first, self.last
        return {
            "sum": lambda: self.total,
            "avg": lambda: self.total / self.count,
            "min_value": lambda: self.min_value,
            "max_value": lambda: self.max_value,
            "first_value": lambda: first[1],
            "last_value": lambda: last[1],
            "min_time": lambda: first[0],
            "max_time": lambda: last[0],
        }[function]()


def _py(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _aggregate_series(store, snap: Snapshot, lo: int, hi: int) -> dict[str, Partial]:
    """Per series: statistics of files that no other source overlaps, decoded points else."""
    out: dict[str, Partial] = {s.path: Partial() for s in snap.series}
    decode: list[SeriesInfo] = []
    stats_used: dict[str, set[int]] = {}
    for s in snap.series:
        usable = _stats_sources(store, snap, s, visible_from(store, s.device, lo), hi)
        stats_used[s.path] = {id(f) for f, _ in usable}
        for _f, stats in usable:
            out[s.path].add_stats(stats, s.data_type.is_numeric)
        decode.append(s)
    for s in decode:
        used = stats_used[s.path]
        rest = Snapshot([s], [(f, m) for f, m in snap.files if id(f) not in used], snap.memtables)
        t, v = read_points(store, rest, lo, hi)[s.path]
        out[s.path].add_points(t, v, s.data_type.is_numeric)
    return out


def _stats_sources(store, snap: Snapshot, s: SeriesInfo, lo: int, hi: int) -> list:
    """Files whose statistics can stand for their points of series `s`."""
    nodes = split_path(s.device)
    ranges = []  # (start, end, file or None, stats)
    for f, mods in snap.files:
        rng = f.device_times.get(s.device)
        if rng is None:
            continue
        stats = _file_stats(store, f, s)
        if stats is None or not stats.count:
            continue
        clean = not any(d.compiled.matches_series(nodes, s.measurement) for d in mods)
        inside = lo <= stats.start_time and stats.end_time <= hi
        ranges.append(
            (int(stats.start_time), int(stats.end_time), f if clean and inside else None, stats)
        )
    for mem in snap.memtables:
        hit = mem.get(s.device)
        if hit is not None and hit[0].schemas.get(s.measurement) is not None:
            ranges.append((hit[0].min_time, hit[0].max_time, None, None))
    usable = []
    for i, (a, b, clean_file, stats) in enumerate(ranges):
        if clean_file is None:
            continue
        if all(b2 < a or a2 > b for j, (a2, b2, _f, _s) in enumerate(ranges) if j != i):
            usable.append((clean_file, stats))
    return usable


def _file_stats(store, f: SealedFile, s: SeriesInfo) -> Any:
    reader, lock = store._readers.get(f.path)
    with lock:
        if s.device not in set(reader.devices()) or s.measurement not in reader.schemas(s.device):
            return None
        return reader.statistics(s.device, s.measurement)


# ---------------------------------------------------------------------- LAST
def run_last(store, paths, start) -> StoreRows:
    lo = MIN_TIME if start is None else int(start)
    snap = store._snapshot(paths, lo, MAX_TIME)
    partials = _aggregate_series(store, snap, lo, MAX_TIME)
    rows = []
    for s in snap.series:
        p = partials[s.path]
        if p.last is not None:
            rows.append((p.last[0], s.path, p.last[1], s.data_type.name))
    return StoreRows(["Time", "Timeseries", "Value", "DataType"], rows)
