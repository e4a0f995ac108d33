"""``executeGroupByQueryIntervalQuery``: IoTDB 2.0's one-series GROUP BY call, as IoTDB 2.0.1-beta
answers it (checked call by call against a real 2.0.1-beta DataNode with IoTDB's Java client
2.0.5, tests/clients/java/GroupByIntervalCheck.java).

The request names a device, a measurement, the series' data type, one aggregation, a
database and ``[startTime, endTime)`` cut into windows of `interval`. IoTDB's answer:

* one row per window ``[start + k·interval, min(start + (k+1)·interval, end))``, its start as
  the time, in the old ``TSQueryDataSet`` layout; ``columns = [aggregation name]``,
  ``dataTypeList = [the request's dataType]`` (even for COUNT, whose values are INT64),
  ``queryId = 1``. An empty window is 0 for COUNT/COUNT_TIME, null otherwise.
* IoTDB reads the series as ALIGNED whatever it is: a non-aligned series gives no points
  (every COUNT is 0).
* Without a `database` IoTDB 2.0.1-beta always fails (it splits the device on the literal
  text ``\\.``, finds nothing and dereferences null). With one, the device must have data in
  the time partition of `startTime` under that database (else a null region id).
* A `dataType` whose values IoTDB holds in a different Java array than the series' fails when
  the series has points in the range (a ClassCastException); INT32/DATE, INT64/TIMESTAMP and
  TEXT/STRING/BLOB share arrays and are read as the series' own values.
* Every failure is INTERNAL_SERVER_ERROR (305) with IoTDB's message: the request's text and
  the Java exception's.

pipecore computes the windows with numpy over the series' points of the range (one read).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pipecore_storage.paths import canonical_device, join_path, split_path
from pipecore_storage.types import TSDataType

from ...rpc import thrift as t
from ...rpc.querydataset import encode_query_dataset

__all__ = ["group_by_interval"]

INTERNAL_SERVER_ERROR = 305
MAX_WINDOWS = 1_000_000

_AGGREGATIONS: dict[int, str] = dict(t.TAggregationType._VALUES_TO_NAMES)
_SUPPORTED = {
    "COUNT", "AVG", "SUM", "FIRST_VALUE", "LAST_VALUE", "MAX_TIME", "MIN_TIME", "MAX_VALUE",
    "MIN_VALUE", "EXTREME", "TIME_DURATION", "MODE", "COUNT_TIME", "STDDEV", "STDDEV_POP",
    "STDDEV_SAMP", "VARIANCE", "VAR_POP", "VAR_SAMP",
}  # fmt: skip
# what IoTDB 2.0.1-beta answers for the aggregations its tree-model accumulators lack
_REFUSED = {
    "COUNT_IF": 'Cannot invoke "java.util.List.get(int)" because "inputExpressions" is null',
    "MAX_BY": "Wrong inputDataTypes size.",
    "MIN_BY": "Wrong inputDataTypes size.",
    "UDAF": 'Cannot invoke "java.util.List.stream()" because "childrenExpressions" is null',
}
_NUMERIC_ONLY = {
    "AVG": "aggregation AVG ", "SUM": "aggregation AVG ", "MAX_VALUE": "MaxValue",
    "MIN_VALUE": "MinValue", "EXTREME": "Extreme", "STDDEV": "aggregation STDDEV ",
    "STDDEV_POP": "aggregation STDDEV_POP ", "STDDEV_SAMP": "aggregation STDDEV_SAMP ",
    "VARIANCE": "aggregation VARIANCE ", "VAR_POP": "aggregation VAR_POP ",
    "VAR_SAMP": "aggregation VAR_SAMP ",
}  # fmt: skip
_INT64_RESULT = {"COUNT", "COUNT_TIME", "MAX_TIME", "MIN_TIME", "TIME_DURATION"}
_DOUBLE_RESULT = {"AVG", "SUM", "STDDEV", "STDDEV_POP", "STDDEV_SAMP", "VARIANCE", "VAR_POP",
                  "VAR_SAMP"}  # fmt: skip

# the Java array each data type's values live in (IoTDB's ClassCastException names them)
_BINARY_ARRAY = "[Lorg.apache.tsfile.utils.Binary;"
_JAVA_ARRAY = {
    TSDataType.BOOLEAN: "[Z", TSDataType.INT32: "[I", TSDataType.DATE: "[I",
    TSDataType.INT64: "[J", TSDataType.TIMESTAMP: "[J", TSDataType.FLOAT: "[F",
    TSDataType.DOUBLE: "[D", TSDataType.TEXT: _BINARY_ARRAY, TSDataType.STRING: _BINARY_ARRAY,
    TSDataType.BLOB: _BINARY_ARRAY,
}  # fmt: skip


class GroupByError(Exception):
    """IoTDB's detail text of a failed executeGroupByQueryIntervalQuery."""


def _module(array: str) -> str:
    if array == _BINARY_ARRAY:
        return "unnamed module of loader 'app'"
    return "module java.base of loader 'bootstrap'"


def _class_cast(actual: str, wanted: str) -> str:
    if _module(actual) == _module(wanted):
        where = f"{actual} and {wanted} are in {_module(actual)}"
    else:
        where = f"{actual} is in {_module(actual)}; {wanted} is in {_module(wanted)}"
    return (
        f"java.lang.ClassCastException: class {actual} cannot be cast to class {wanted} ({where})"
    )


def request_text(req: Any) -> str:
    """The request as IoTDB's Java `toString` prints it (optional fields only when set)."""
    aggregation = _AGGREGATIONS.get(req.aggregationType, "null")
    parts = [
        f"sessionId:{req.sessionId}",
        f"statementId:{req.statementId}",
        f"device:{req.device}",
        f"measurement:{req.measurement}",
        f"dataType:{req.dataType}",
        f"aggregationType:{aggregation}",
    ]
    for name in ("database", "startTime", "endTime", "interval", "fetchSize", "timeout",
                 "isAligned"):  # fmt: skip
        value = getattr(req, name)
        if value is not None:
            parts.append(f"{name}:{str(value).lower() if isinstance(value, bool) else value}")
    return f"TSGroupByQueryIntervalReq({', '.join(parts)})"


def group_by_interval(store: Any, req: Any) -> Any:
    """The `TSExecuteStatementResp` IoTDB 2.0.1-beta gives `req`."""
    try:
        return _answer(store, req)
    except GroupByError as exc:
        message = (
            f'[INTERNAL_SERVER_ERROR(305)] Exception occurred: "{request_text(req)}". '
            f"executeAggregationQuery failed. {exc}"
        )
        return t.TSExecuteStatementResp(
            status=t.TSStatus(code=INTERNAL_SERVER_ERROR, message=message)
        )


def _answer(store: Any, req: Any) -> Any:
    if not req.database:
        raise GroupByError('Cannot load from object array because "splits" is null')
    device = canonical_device(req.device)[0]
    start = int(req.startTime or 0)
    end = int(req.endTime or 0)
    interval = int(req.interval or 0)
    _check_partition(store, req.database, device, start)
    try:
        data_type = TSDataType(int(req.dataType))
    except ValueError:
        raise GroupByError(f"Invalid input: {req.dataType}") from None
    name = _AGGREGATIONS.get(req.aggregationType)
    if name is None or name not in _SUPPORTED:
        raise GroupByError(_REFUSED.get(name or "", f"Invalid Aggregation function: {name}"))
    # IoTDB's checks of the range, in its order: the query's, its filter's, the first window's
    if end < start:
        raise GroupByError(f"java.lang.IllegalArgumentException: min:{start} should not be "
                           f"larger than max: {end}")  # fmt: skip
    if end == start:
        raise GroupByError(f"java.lang.IllegalArgumentException: min:{start} should not be "
                           f"larger than max: {end - 1}")  # fmt: skip
    if interval <= 0:
        raise GroupByError(f"java.lang.IllegalArgumentException: min:{start} should not be "
                           f"larger than max: {start + interval - 1}")  # fmt: skip
    windows = -(-(end - start) // interval)
    if windows > MAX_WINDOWS:
        raise GroupByError(
            f"java.lang.IllegalArgumentException: {windows} windows; pipecore answers at most "
            f"{MAX_WINDOWS} per query"
        )
    times, values = _points(store, device, req.measurement, start, end)
    series_type = _series_type(store, device, req.measurement)
    if times.size and series_type is not None:
        if _JAVA_ARRAY[series_type] != _JAVA_ARRAY.get(data_type):
            raise GroupByError(_class_cast(_JAVA_ARRAY[series_type], _JAVA_ARRAY[data_type]))
        data_type = series_type  # the same Java array: IoTDB reads the series' values
    if name in _NUMERIC_ONLY and data_type in (TSDataType.TEXT, TSDataType.STRING,
                                               TSDataType.BLOB, TSDataType.BOOLEAN):  # fmt: skip
        raise GroupByError(
            "org.apache.tsfile.write.UnSupportedDataTypeException: Unsupported dataType: "
            f"Unsupported data type in {_NUMERIC_ONLY[name]}: {data_type.name}"
        )
    window_starts = start + interval * np.arange(windows, dtype=np.int64)
    column, mask, result_type = _aggregate(name, data_type, times, values, window_starts, end)
    return t.TSExecuteStatementResp(
        status=t.TSStatus(code=200),
        queryId=1,
        columns=[name],
        dataTypeList=[TSDataType(int(req.dataType)).name],
        columnNameIndexMap={name: 0},
        sgColumns=[],
        ignoreTimeStamp=False,
        queryDataSet=encode_query_dataset(window_starts, [result_type], [column], [mask]),
    )


def _check_partition(store: Any, database: str, device: str, start: int) -> None:
    """IoTDB finds the data region of (database, device, time partition of `start`): it
    exists once the device has data in that partition under that database."""
    series = [s for s in store.list_series(f"{device}.*") if s.database == database]
    interval = int(store.config.time_partition_interval)
    slot = (start // interval) * interval
    if series:
        found = store.query([s.path for s in series], slot, slot + interval - 1, limit=1)
        if len(found.timestamps):
            return
    raise GroupByError(
        'Cannot invoke "org.apache.iotdb.common.rpc.thrift.TConsensusGroupId.getId()" because '
        'the return value of "org.apache.iotdb.common.rpc.thrift.TRegionReplicaSet.getRegionId()"'
        " is null"
    )


def _series_type(store: Any, device: str, measurement: str) -> TSDataType | None:
    info = store.series(join_path([*split_path(device), measurement]))
    return None if info is None else info.data_type


def _points(
    store: Any, device: str, measurement: str, start: int, end: int
) -> tuple[np.ndarray, np.ndarray]:
    """The series' points in [start, end); none unless it is an aligned series (IoTDB reads
    it as aligned whatever it is)."""
    path = join_path([*split_path(device), measurement])
    info = store.series(path)
    if info is None or not info.aligned:
        return np.empty(0, np.int64), np.empty(0)
    result = store.query([path], start, end - 1)
    times = np.asarray(result.timestamps, np.int64)
    values = np.asarray(result.values[0])
    mask = result.null_masks[0]
    if mask is not None:
        keep = ~np.asarray(mask, np.bool_)
        times, values = times[keep], values[keep]
    return times, values


def _aggregate(
    name: str,
    data_type: TSDataType,
    times: np.ndarray,
    values: np.ndarray,
    window_starts: np.ndarray,
    end: int,
) -> tuple[np.ndarray, np.ndarray | None, TSDataType]:
    """(values, null mask, type) of `name` in each window: vectorised over sorted points."""
    n = window_starts.shape[0]
    lo = np.searchsorted(times, window_starts, side="left")
    hi = np.searchsorted(times, np.append(window_starts[1:], end), side="left")
    counts = (hi - lo).astype(np.int64)
    empty = counts == 0
    if name in ("COUNT", "COUNT_TIME"):
        return counts, None, TSDataType.INT64
    first, last = np.minimum(lo, max(times.size - 1, 0)), np.maximum(hi - 1, 0)
    if name in _INT64_RESULT:
        picked = {
            "MIN_TIME": lambda: times[first] if times.size else np.zeros(n, np.int64),
            "MAX_TIME": lambda: times[last] if times.size else np.zeros(n, np.int64),
            "TIME_DURATION": lambda: (
                (times[last] - times[first]) if times.size else np.zeros(n, np.int64)
            ),
        }[name]()
        return np.where(empty, 0, picked).astype(np.int64), _mask(empty), TSDataType.INT64
    if not times.size:
        result_type = TSDataType.DOUBLE if name in _DOUBLE_RESULT else data_type
        return _blank(n, result_type), _mask(empty), result_type
    if name in ("FIRST_VALUE", "LAST_VALUE"):
        picked = values[first if name == "FIRST_VALUE" else last]
        return _fill(picked, empty, data_type), _mask(empty), data_type
    if name == "MODE":
        return _fill(_mode(values, lo, hi, empty), empty, data_type), _mask(empty), data_type
    window = np.repeat(np.arange(n), counts)
    if name in ("MAX_VALUE", "MIN_VALUE", "EXTREME"):
        starts = np.flatnonzero(~empty)
        high = np.zeros(n, values.dtype)
        low = np.zeros(n, values.dtype)
        high[starts] = np.maximum.reduceat(values, lo[starts])
        low[starts] = np.minimum.reduceat(values, lo[starts])
        if name == "MAX_VALUE":
            picked = high
        elif name == "MIN_VALUE":
            picked = low
        else:  # the value of the greatest magnitude; the positive one on a tie
            picked = np.where(np.abs(high) >= np.abs(low), high, low)
        return picked.astype(data_type.numpy_dtype), _mask(empty), data_type
    as_float = values.astype(np.float64)
    total = np.bincount(window, weights=as_float, minlength=n)
    safe = np.maximum(counts, 1)
    if name == "SUM":
        return total, _mask(empty), TSDataType.DOUBLE
    mean = total / safe
    if name == "AVG":
        return mean, _mask(empty), TSDataType.DOUBLE
    squares = np.bincount(window, weights=(as_float - mean[window]) ** 2, minlength=n)
    sample = name in ("STDDEV", "STDDEV_SAMP", "VARIANCE", "VAR_SAMP")
    variance = squares / np.maximum(counts - 1, 1) if sample else squares / safe
    null = counts < 2 if sample else empty
    result = np.sqrt(variance) if name.startswith("STDDEV") else variance
    return result, _mask(null), TSDataType.DOUBLE


def _mode(values: np.ndarray, lo: np.ndarray, hi: np.ndarray, empty: np.ndarray) -> np.ndarray:
    """Each window's most frequent value (the smallest of equally frequent ones)."""
    n = lo.shape[0]
    window = np.repeat(np.arange(n), hi - lo)
    codes, inverse = np.unique(values, return_inverse=True)
    pairs, counts = np.unique(np.stack([window, inverse.reshape(-1)]), axis=1, return_counts=True)
    # per window: highest count first, then the smallest value
    order = np.lexsort((pairs[1], -counts, pairs[0]))
    win = pairs[0][order]
    firsts = order[np.flatnonzero(np.concatenate(([True], win[1:] != win[:-1])))]
    picked = np.empty(n, dtype=values.dtype)
    if values.dtype == object:
        picked[:] = ""
    else:
        picked[:] = 0
    picked[pairs[0][firsts]] = codes[pairs[1][firsts]]
    return picked


def _blank(n: int, data_type: TSDataType) -> np.ndarray:
    if data_type in (TSDataType.TEXT, TSDataType.STRING, TSDataType.BLOB):
        return np.full(n, "", dtype=object)
    return np.zeros(n, data_type.numpy_dtype)


def _fill(picked: np.ndarray, empty: np.ndarray, data_type: TSDataType) -> np.ndarray:
    if data_type in (TSDataType.TEXT, TSDataType.STRING, TSDataType.BLOB):
        out = np.asarray(picked, dtype=object).copy()
        out[empty] = ""
        return out
    return np.where(empty, np.zeros(1, picked.dtype), picked)


def _mask(null: np.ndarray) -> np.ndarray | None:
    return null if bool(null.any()) else None
