"""EXPLAIN PIPE / EXPLAIN CREATE PIPE: what a pipe takes, before anything moves (a dry run).

The answer is read from the store only — nothing is pinned, flushed or sent:

* one row per series in the pipe's scope: its time range and point count within the scope
  (the store's aggregates: chunk statistics where whole chunks fall inside) and the bytes its
  points would take as raw tablets (8 bytes of time plus the value's size);
* one row per sealed TsFile that holds a device of the scope within the time range: its time
  range for those devices, the points of the file (the resource's count, for the whole file)
  and its size on disk — what a TsFile transfer would send;
* one ``memtable`` row: points in the scope not yet in a sealed file (the scope's total minus
  what the sealed files hold, an estimate when files overlap or deletions apply);
* a ``total`` row.
"""

from __future__ import annotations

from typing import Any

import attrs

from pipecore_storage.types import TSDataType

from .digest import MAX_TIME, MIN_TIME, PipeScope, series_in_scope

__all__ = ["ExplainRow", "explain_scope"]

_VALUE_BYTES = {
    TSDataType.BOOLEAN: 1,
    TSDataType.INT32: 4,
    TSDataType.DATE: 4,
    TSDataType.FLOAT: 4,
    TSDataType.INT64: 8,
    TSDataType.TIMESTAMP: 8,
    TSDataType.DOUBLE: 8,
}
_BINARY_GUESS = 16  # bytes per TEXT/STRING/BLOB value when no better figure is at hand


@attrs.frozen
class ExplainRow:
    kind: str  # series | tsfile | memtable | total
    item: str
    start: int | None
    end: int | None
    points: int
    bytes: int


def _aggregate(store: Any, paths: list[str], lo: int | None, hi: int | None) -> dict[str, tuple]:
    if not paths:
        return {}
    specs = [(f, p) for p in paths for f in ("count", "min_time", "max_time")]
    table = store.aggregate(specs, lo, hi)
    row = dict(zip(table.columns, table.rows[0], strict=True)) if table.rows else {}
    return {
        p: (row.get(f"count({p})") or 0, row.get(f"min_time({p})"), row.get(f"max_time({p})"))
        for p in paths
    }


def explain_scope(store: Any, scope: PipeScope) -> list[ExplainRow]:
    """The dry run of `scope` over `store` (see the module docstring)."""
    lo = scope.start if scope.start > MIN_TIME else None
    hi = scope.end if scope.end < MAX_TIME else None
    series = series_in_scope(store, scope.patterns, scope)
    stats = _aggregate(store, [s.path for s in series], lo, hi)
    rows: list[ExplainRow] = []
    total_points = total_bytes = 0
    for s in series:
        count, first, last = stats[s.path]
        size = int(count) * (8 + _VALUE_BYTES.get(s.data_type, _BINARY_GUESS))
        rows.append(ExplainRow("series", s.path, first, last, int(count), size))
        total_points += int(count)
        total_bytes += size
    devices = {s.device for s in series}
    in_files = 0
    for f in store.sealed_files():
        ranges = [
            r
            for d, r in f.device_times.items()
            if d in devices and r[1] >= scope.start and r[0] <= scope.end
        ]
        if not ranges:
            continue
        size = f.path.stat().st_size if f.path.exists() else 0
        start, end = min(r[0] for r in ranges), max(r[1] for r in ranges)
        rows.append(ExplainRow("tsfile", f.path.name, start, end, int(f.points), size))
        in_files += int(f.points)
    memtable = max(0, total_points - in_files)
    rows.append(ExplainRow("memtable", "(not yet sealed)", None, None, memtable, 0))
    rows.append(ExplainRow("total", scope.description, None, None, total_points, total_bytes))
    return rows
