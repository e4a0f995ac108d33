"""The session query calls as `DataSet`s: raw data, last values, aggregations.

* ``executeRawDataQueryV2(paths, startTime, endTime)`` — the series' points with
  ``startTime <= time < endTime`` (IoTDB's half-open range), aligned by time, one column per
  existing path in the order given.
* ``executeLastDataQueryV2(paths, time)`` / the fast-last calls — IoTDB's ``SELECT LAST``
  answer: per series with a point at or after `time` a row (time, Timeseries, Value,
  DataType).
* ``executeAggregationQueryV2(paths, aggregations, startTime, endTime[, interval,
  slidingStep])`` — one row of ``function(path)`` columns, or with `interval` one row per
  window ``[start + k·step, start + k·step + interval)`` with its start as the time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from pipecore_storage.mods import MAX_TIME, MIN_TIME
from pipecore_storage.types import TSDataType

from ...sql.dataset import DataSet, cell_value
from ...sql.result import SELECT_LAST_COLUMNS, cell_text
from .errors import ILLEGAL_PARAMETER, ClientCallError

__all__ = ["aggregation_query", "last_query", "raw_query"]

MAX_WINDOWS = 100_000

# TAggregationType numbers (common.thrift) the store computes, with their result types
_FUNCTIONS: dict[int, tuple[str, TSDataType | None]] = {
    0: ("count", TSDataType.INT64),
    1: ("avg", TSDataType.DOUBLE),
    2: ("sum", TSDataType.DOUBLE),
    3: ("first_value", None),
    4: ("last_value", None),
    5: ("max_time", TSDataType.INT64),
    6: ("min_time", TSDataType.INT64),
    7: ("max_value", None),
    8: ("min_value", None),
}


def raw_query(store: Any, paths: Sequence[str], start: int, end: int) -> DataSet:
    existing = [p for p in paths if store.series(p) is not None]
    if not existing or end <= start:
        return DataSet(
            existing,
            [store.series(p).data_type for p in existing],
            [np.empty(0, store.series(p).data_type.numpy_dtype) for p in existing],
            [None] * len(existing),
            np.empty(0, np.int64),
        )
    result = store.query(existing, start, end - 1)
    return DataSet(
        result.columns, result.data_types, result.values, result.null_masks, result.timestamps
    )


def last_query(store: Any, paths: Sequence[str], start: int, zone: Any = None) -> DataSet:
    table = store.last(list(paths), start) if paths else None
    found = [] if table is None else list(table.rows)
    texts = [
        (path, cell_text(cell_value(value, TSDataType[type_name], zone)), type_name)
        for _, path, value, type_name in found
    ]
    data = DataSet.text(SELECT_LAST_COLUMNS[1:], texts)
    times = np.array([r[0] for r in found], dtype=np.int64)
    return DataSet(data.columns, data.data_types, data.values, data.null_masks, times)


def _specs(store: Any, paths: Sequence[str], aggregations: Sequence[int]):
    if len(paths) != len(aggregations):
        raise ClientCallError(
            ILLEGAL_PARAMETER,
            f"{len(paths)} paths but {len(aggregations)} aggregations: give one per path",
        )
    specs = []
    for path, number in zip(paths, aggregations, strict=True):
        function = _FUNCTIONS.get(int(number))
        if function is None:
            raise ClientCallError(
                ILLEGAL_PARAMETER,
                f"aggregation {number} is not supported by pipecore (COUNT, AVG, SUM, "
                "FIRST_VALUE, LAST_VALUE, MAX_TIME, MIN_TIME, MAX_VALUE, MIN_VALUE are)",
                path,
            )
        info = store.series(path)
        if info is None:
            raise ClientCallError(508, f"Path [{path}] does not exist", path)
        name, result_type = function
        specs.append((name, path, result_type or info.data_type))
    return specs


def _row(store: Any, specs: list, start: int, end: int) -> list[object]:
    table = store.aggregate([(name, path) for name, path, _ in specs], start, end)
    return list(table.rows[0])


def aggregation_query(
    store: Any,
    paths: Sequence[str],
    aggregations: Sequence[int],
    start: int | None,
    end: int | None,
    interval: int | None = None,
    step: int | None = None,
) -> DataSet:
    specs = _specs(store, paths, aggregations)
    headers = [f"{name}({path})" for name, path, _ in specs]
    types = [t for _, _, t in specs]
    lo = MIN_TIME if start is None else int(start)
    hi = MAX_TIME if end is None else int(end) - 1  # endTime is exclusive
    if interval is None or interval <= 0:
        cells = [_row(store, specs, lo, hi)]
        times = None
    else:
        if start is None or end is None:
            raise ClientCallError(
                ILLEGAL_PARAMETER, "a GROUP BY interval needs startTime and endTime"
            )
        stride = step if step and step > 0 else interval
        starts = list(range(lo, hi + 1, stride))
        if len(starts) > MAX_WINDOWS:
            raise ClientCallError(
                ILLEGAL_PARAMETER,
                f"{len(starts)} windows; pipecore answers at most {MAX_WINDOWS} per query",
            )
        cells = [_row(store, specs, w, min(w + interval - 1, hi)) for w in starts]
        times = np.array(starts, dtype=np.int64)
    values, masks = [], []
    for j, data_type in enumerate(types):
        column = np.zeros(len(cells), dtype=data_type.numpy_dtype)
        mask = np.array([row[j] is None for row in cells], dtype=np.bool_)
        for i, row in enumerate(cells):
            if row[j] is not None:
                column[i] = row[j]
        values.append(column)
        masks.append(mask if mask.any() else None)
    return DataSet(headers, types, values, masks, times)
