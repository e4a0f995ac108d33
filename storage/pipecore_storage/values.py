"""Python values of `insert_record` checked against (or typing) a series.

A value must fit the series' data type; nothing is converted silently across kinds:

==========================  ====================================================
series type                 accepted Python values
==========================  ====================================================
BOOLEAN                     bool (numpy bool)
INT32, INT64, TIMESTAMP     int (not bool), within the type's range
FLOAT, DOUBLE               int or float (not bool) — an int widens to a float
DATE                        int ``yyyymmdd``, `datetime.date`, or ``"yyyy-mm-dd"``
TEXT, STRING                str
BLOB                        bytes, bytearray, memoryview
==========================  ====================================================

Anything else is a `SchemaError` naming the series. This is IoTDB's rule for typed writes;
IoTDB's SQL additionally parses literals by the series type (``'12'`` into an INT32 is an
error there too, an integer into FLOAT/DOUBLE is accepted).

A series that does not exist yet is typed like IoTDB types an INSERT literal
(`StoreConfig`'s ``*_string_infer_type`` keys): bool -> BOOLEAN, int -> DOUBLE, float ->
DOUBLE (NaN -> DOUBLE), str -> TEXT; and bytes -> BLOB, `datetime.date` -> DATE.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Mapping

import numpy as np

from .config import StoreConfig
from .errors import SchemaError
from .tablet import MeasurementSchema, Tablet
from .types import TSDataType

__all__ = ["check_value", "infer_type", "record_tablet"]

_RANGES = {
    TSDataType.INT32: (-(2**31), 2**31 - 1),
    TSDataType.INT64: (-(2**63), 2**63 - 1),
    TSDataType.TIMESTAMP: (-(2**63), 2**63 - 1),
}


def infer_type(value: object, config: StoreConfig) -> TSDataType | None:
    """The data type auto-creation gives a series first written with `value`."""
    if isinstance(value, (bool, np.bool_)):
        return config.boolean_string_infer_type
    if isinstance(value, (int, np.integer)):
        return config.integer_string_infer_type
    if isinstance(value, (float, np.floating)):
        return (
            config.nan_string_infer_type if math.isnan(value) else config.floating_string_infer_type
        )
    if isinstance(value, str):
        return TSDataType.TEXT
    if isinstance(value, (bytes, bytearray, memoryview)):
        return TSDataType.BLOB
    if isinstance(value, datetime.date):
        return TSDataType.DATE
    return None


def _mismatch(path: str, dt: TSDataType, value: object, timestamp: int) -> SchemaError:
    return SchemaError(
        f"data type of {path} is not consistent, registered type {dt.name}, inserting "
        f"{type(value).__name__} value {value!r} at timestamp {timestamp}",
        path,
    )


def check_value(path: str, dt: TSDataType, value: object, timestamp: int) -> object:
    """`value` as the series type holds it, or SchemaError naming the series."""
    if dt == TSDataType.BOOLEAN:
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
    elif dt in _RANGES:
        if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
            lo, hi = _RANGES[dt]
            if lo <= int(value) <= hi:
                return int(value)
            raise SchemaError(f"{path}: value {value} is out of range for {dt.name}", path)
    elif dt in (TSDataType.FLOAT, TSDataType.DOUBLE):
        if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
            value, (bool, np.bool_)
        ):
            return float(value)
    elif dt in (TSDataType.TEXT, TSDataType.STRING):
        if isinstance(value, str):
            return value
    elif dt == TSDataType.BLOB:
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value)
    elif dt == TSDataType.DATE:
        return _date(path, value, timestamp)
    raise _mismatch(path, dt, value, timestamp)


def _date(path: str, value: object, timestamp: int) -> int:
    if isinstance(value, datetime.datetime):
        raise _mismatch(path, TSDataType.DATE, value, timestamp)
    if isinstance(value, datetime.date):
        return value.year * 10000 + value.month * 100 + value.day
    if isinstance(value, str):
        try:
            d = datetime.date.fromisoformat(value.strip())
        except ValueError:
            raise _mismatch(path, TSDataType.DATE, value, timestamp) from None
        return d.year * 10000 + d.month * 100 + d.day
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        n = int(value)
        try:
            datetime.date(n // 10000, n // 100 % 100, n % 100)
        except ValueError:
            raise SchemaError(f"{path}: {n} is not a date in the form yyyymmdd", path) from None
        return n
    raise _mismatch(path, TSDataType.DATE, value, timestamp)


def record_tablet(
    device: str,
    timestamp: int,
    values: Mapping[str, object],
    known: Mapping[str, TSDataType],
    config: StoreConfig,
    data_types: Mapping[str, object] | None = None,
    aligned: bool = False,
) -> Tablet:
    """A one-row tablet of a record; `known` maps existing measurements to their types."""
    if isinstance(timestamp, bool) or not isinstance(timestamp, (int, np.integer)):
        raise SchemaError(f"{device}: timestamp {timestamp!r} is not an integer", device)
    schemas: list[MeasurementSchema] = []
    columns: list[np.ndarray] = []
    masks: list[np.ndarray | None] = []
    for name, value in values.items():
        path = f"{device}.{name}"
        dt = known.get(name)
        if dt is None and data_types and name in data_types:
            dt = MeasurementSchema(name, data_types[name]).data_type
        if dt is None:
            if value is None:
                continue  # an unknown series with only a null: nothing to create
            dt = infer_type(value, config)
            if dt is None:
                raise SchemaError(
                    f"{path}: cannot store a {type(value).__name__} value {value!r}", path
                )
        schema = MeasurementSchema(name, dt)
        col = np.empty(1, dtype=dt.numpy_dtype)
        if value is None:
            col[0] = b"" if dt == TSDataType.BLOB else ("" if dt.is_binary else 0)
            masks.append(np.ones(1, np.bool_))
        else:
            col[0] = check_value(path, dt, value, int(timestamp))
            masks.append(None)
        schemas.append(schema)
        columns.append(col)
    return Tablet(device, schemas, np.array([timestamp], np.int64), columns, masks, aligned)
