"""IoTDB's TSQueryDataSet: how the V1 query calls (``executeQueryStatement``,
``executeStatement``, ``fetchResults``, ``executeRawDataQuery``, ...) answer rows.

Clients written before the TsBlock answers (IoTDB's Go client, apache-iotdb < 1.3 for Python,
the Node.js clients) read ``TSExecuteStatementResp.queryDataSet`` and
``TSFetchResultsResp.queryDataSet``. Layout (big-endian), per IoTDB 1.x's
``QueryDataSetUtils`` and what those clients decode:

* ``time`` — one i64 per row (zeros where the result has no time column; the clients count
  rows by it);
* ``valueList[k]`` — column k's non-null values only: BOOLEAN one byte (0/1), INT32 and DATE
  four bytes, INT64 and TIMESTAMP eight, FLOAT and DOUBLE IEEE-754, TEXT/STRING/BLOB
  ``i32 length + bytes``;
* ``bitmapList[k]`` — one bit per row, packed MSB first, 1 = the row has a value.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

import numpy as np

from pipecore_storage.types import TSDataType, encode_text

from . import thrift as t

__all__ = ["encode_query_dataset"]

_WIRE_DTYPE = {
    TSDataType.BOOLEAN: "u1",
    TSDataType.INT32: ">i4",
    TSDataType.DATE: ">i4",
    TSDataType.FLOAT: ">f4",
    TSDataType.INT64: ">i8",
    TSDataType.TIMESTAMP: ">i8",
    TSDataType.DOUBLE: ">f8",
}
_BINARY = (TSDataType.TEXT, TSDataType.STRING, TSDataType.BLOB)


def _values(data_type: TSDataType, kept: np.ndarray) -> bytes:
    if data_type in _WIRE_DTYPE:
        column = np.asarray(kept)
        if data_type is TSDataType.BOOLEAN:
            column = column.astype(np.bool_)
        return column.astype(_WIRE_DTYPE[data_type]).tobytes()
    if data_type not in _BINARY:
        raise ValueError(f"{data_type!r} cannot be sent in a TSQueryDataSet")
    parts = []
    for value in kept:
        raw = value if isinstance(value, bytes | bytearray) else encode_text(str(value))
        parts.append(struct.pack(">i", len(raw)))
        parts.append(bytes(raw))
    return b"".join(parts)


def encode_query_dataset(
    timestamps: np.ndarray | None,
    data_types: Sequence[TSDataType],
    values: Sequence[np.ndarray],
    null_masks: Sequence[np.ndarray | None],
) -> Any:
    """A `TSQueryDataSet` of the rows given (`null_masks`: True = null, None = no nulls)."""
    n = len(values[0]) if timestamps is None and values else 0
    times = np.zeros(n, np.int64) if timestamps is None else np.asarray(timestamps, np.int64)
    n = int(times.shape[0])
    value_list, bitmap_list = [], []
    for data_type, column, mask in zip(data_types, values, null_masks, strict=True):
        present = np.ones(n, np.bool_) if mask is None else ~np.asarray(mask, np.bool_)
        kept = column if mask is None else np.asarray(column)[present]
        value_list.append(_values(data_type, kept))
        bitmap_list.append(np.packbits(present).tobytes())
    return t.TSQueryDataSet(
        time=times.astype(">i8").tobytes(), valueList=value_list, bitmapList=bitmap_list
    )
