"""Query results in the columnar form of IoTDB's clients before 1.0 (``TSQueryDataSet``).

Clients of IoTDB 0.x (among them ``org.apache.iotdb:flink-iotdb-connector`` 0.12.1, the only
release of IoTDB's Flink connector on Maven Central) call ``executeQueryStatement``,
``executeStatement`` and ``fetchResults`` — not the ``...V2`` calls — and read the rows from the
response's ``queryDataSet`` rather than from TsBlocks. IoTDB's servers fill it for those calls.

Layout: ``time`` holds one big-endian int64 per row (zeros when the result has no time
column: the clients still count rows by it); ``valueList`` holds, per column, the big-endian
values of its non-null rows only (BOOLEAN one byte, TEXT an int32 length and the bytes);
``bitmapList`` holds, per column, one bit per row, most significant bit first, set where the
row has a value.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

import numpy as np

from pipecore_storage.types import TSDataType, encode_text

from . import thrift as t

_WIRE = {
    TSDataType.BOOLEAN: ">?",
    TSDataType.INT32: ">i4",
    TSDataType.DATE: ">i4",
    TSDataType.FLOAT: ">f4",
    TSDataType.INT64: ">i8",
    TSDataType.TIMESTAMP: ">i8",
    TSDataType.DOUBLE: ">f8",
}


def _column(data_type: TSDataType, values: np.ndarray, present: np.ndarray) -> bytes:
    kept = values[present] if not present.all() else values
    wire = _WIRE.get(data_type)
    if wire is not None:
        return np.asarray(kept).astype(wire).tobytes()
    parts = []
    for value in kept:
        raw = value if isinstance(value, bytes | bytearray) else encode_text(str(value))
        parts.append(struct.pack(">i", len(raw)))
        parts.append(bytes(raw))
    return b"".join(parts)


def encode_query_data_set(
    timestamps: np.ndarray | None,
    data_types: Sequence[TSDataType],
    values: Sequence[np.ndarray],
    null_masks: Sequence[np.ndarray | None],
) -> Any:
    """A ``TSQueryDataSet`` of the given rows (the arguments as for ``encode_tsblock``)."""
    n = len(values[0]) if timestamps is None and values else 0
    times = np.zeros(n, np.int64) if timestamps is None else np.asarray(timestamps, np.int64)
    n = int(times.shape[0])
    value_list, bitmap_list = [], []
    for data_type, column, mask in zip(data_types, values, null_masks, strict=True):
        present = np.ones(n, np.bool_) if mask is None else ~np.asarray(mask, np.bool_)
        value_list.append(_column(data_type, np.asarray(column), present))
        bitmap_list.append(np.packbits(present).tobytes())
    return t.TSQueryDataSet(
        time=times.astype(">i8").tobytes(), valueList=value_list, bitmapList=bitmap_list
    )
