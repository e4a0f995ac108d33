"""Rows of one device as ONE tablet: what a multi-row ``INSERT … VALUES (…), (…)`` writes.

IoTDB executes a multi-row INSERT as one insert node (one write, one pipe event), not one
write per row. `rows_tablet` builds that tablet from Python values, typed and checked as
`values.record_tablet` types and checks a single row (see `values`), then sorts the rows by
time; rows sharing a timestamp are merged (per column, the last non-null value wins, as
writing them one after the other would leave the series). Rows null in every column are
left out (they write no point).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .config import StoreConfig
from .errors import SchemaError
from .tablet import MeasurementSchema, Tablet
from .types import TSDataType
from .values import check_value, infer_type

__all__ = ["columns_tablet", "rows_tablet"]

_FLOATS = (TSDataType.FLOAT, TSDataType.DOUBLE)


def rows_tablet(
    device: str,
    timestamps: Sequence[int],
    rows: Sequence[Mapping[str, object]],
    known: Mapping[str, TSDataType],
    config: StoreConfig,
    data_types: Mapping[str, object] | None = None,
    aligned: bool = False,
) -> Tablet | None:
    """One tablet holding `rows` ({measurement: value}, None = null) at `timestamps`; None
    when no row has a value. `known` maps existing measurements to their data types; a new
    measurement is typed from `data_types` or from its first non-null value."""
    if len(timestamps) != len(rows):
        raise ValueError(f"{device}: {len(timestamps)} timestamps for {len(rows)} rows")
    for t in timestamps:
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)):
            raise SchemaError(f"{device}: timestamp {t!r} is not an integer", device)
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    times = np.array(timestamps, dtype=np.int64)
    n = len(rows)
    schemas: list[MeasurementSchema] = []
    columns: list[np.ndarray] = []
    masks: list[np.ndarray | None] = []
    for name in names:
        raw = [row.get(name) for row in rows]
        present = [i for i, v in enumerate(raw) if v is not None]
        if not present:
            continue  # only nulls: no point, and nothing to create
        path = f"{device}.{name}"
        dt = known.get(name)
        if dt is None and data_types and name in data_types:
            dt = MeasurementSchema(name, data_types[name]).data_type
        if dt is None:
            first = raw[present[0]]
            dt = infer_type(first, config)
            if dt is None:
                raise SchemaError(
                    f"{path}: cannot store a {type(first).__name__} value {first!r}", path
                )
        col = _column(path, dt, raw, present, times)
        mask = None
        if len(present) < n:
            mask = np.ones(n, np.bool_)
            mask[present] = False
        schemas.append(MeasurementSchema(name, dt))
        columns.append(col)
        masks.append(mask)
    if not schemas:
        return None
    return _sorted_merged(Tablet(device, schemas, times, columns, masks, aligned))


def columns_tablet(
    device: str,
    timestamps: np.ndarray,
    schemas: Sequence[MeasurementSchema],
    columns: Sequence[np.ndarray],
    aligned: bool = False,
) -> Tablet:
    """The tablet of typed columns without nulls (each already in its schema's numpy dtype),
    sorted and merged by time as `rows_tablet` does: the columnar twin of `rows_tablet`."""
    return _sorted_merged(
        Tablet(device, list(schemas), timestamps, list(columns), [None] * len(schemas), aligned)
    )


def _column(
    path: str, dt: TSDataType, raw: list[object], present: list[int], times: np.ndarray
) -> np.ndarray:
    col = np.empty(len(raw), dtype=dt.numpy_dtype)
    if dt.is_binary:
        col[:] = b"" if dt == TSDataType.BLOB else ""
    else:
        col[:] = 0
    if dt in _FLOATS and all(
        type(raw[i]) is float or (type(raw[i]) is int) for i in present
    ):  # the common case, checked by type only: one numpy conversion
        col[present] = np.array([raw[i] for i in present], dtype=np.float64)
        return col
    for i in present:
        col[i] = check_value(path, dt, raw[i], int(times[i]))
    return col


def _sorted_merged(tablet: Tablet) -> Tablet:
    t = tablet.timestamps
    if t.shape[0] < 2 or bool(np.all(t[1:] > t[:-1])):
        return _without_empty_rows(tablet)
    order = np.argsort(t, kind="stable")
    st = t[order]
    starts = np.flatnonzero(np.concatenate(([True], st[1:] != st[:-1])))
    if starts.shape[0] == st.shape[0]:
        return _without_empty_rows(tablet.take(order))
    positions = np.arange(st.shape[0])
    columns, masks = [], []
    for values, mask in zip(tablet.columns, tablet.null_masks, strict=True):
        values = values[order]
        valid = np.ones(st.shape[0], np.bool_) if mask is None else ~mask[order]
        last = np.maximum.reduceat(np.where(valid, positions, -1), starts)
        missing = last < 0
        columns.append(values[np.where(missing, starts, last)])
        masks.append(missing if missing.any() else None)
    merged = Tablet(tablet.device, tablet.schemas, st[starts], columns, masks, tablet.aligned)
    return _without_empty_rows(merged)


def _without_empty_rows(tablet: Tablet) -> Tablet:
    masks = [m for m in tablet.null_masks if m is not None]
    if len(masks) < len(tablet.null_masks) or not masks:
        return tablet
    empty = np.logical_and.reduce(masks)
    return tablet.take(~empty) if empty.any() else tablet
