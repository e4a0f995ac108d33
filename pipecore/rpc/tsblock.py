"""IoTDB's serialized TsBlock: how query results travel in ``TSExecuteStatementResp.queryResult``.

Layout (big-endian), as IoTDB's clients read it (apache-iotdb ``tsblock_serde``)::

    i32 value column count n
    n × u8   data type of each value column (TSDataType)
    i32 position count (rows)
    n+1 × u8 column encoding (time column first)
    time column, then each value column

A column: ``u8 may_have_null``, then (when 1) the null bits — one per row, packed MSB first,
1 = null — then the values. Encodings: 0 = BOOLEAN, one bit per row (every row); 1 = 4-byte
values (INT32, FLOAT, DATE) and 2 = 8-byte values (INT64, DOUBLE, TIMESTAMP, the time
column), non-null rows only; 3 = binary (TEXT, STRING, BLOB), ``i32 length + bytes`` per
non-null row. Encoding 4 (run-length: an encoding byte and one value, repeated) is decoded
too; pipecore never writes it.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np

from pipecore_storage.types import TSDataType, decode_text, encode_text

from .errors import RpcProtocolError

__all__ = ["decode_tsblock", "encode_tsblock"]

_BYTE, _INT32, _INT64, _BINARY, _RLE = 0, 1, 2, 3, 4
_MAX_RLE_ROWS = 10_000_000
_ENCODING = {
    TSDataType.BOOLEAN: _BYTE,
    TSDataType.INT32: _INT32,
    TSDataType.FLOAT: _INT32,
    TSDataType.DATE: _INT32,
    TSDataType.INT64: _INT64,
    TSDataType.DOUBLE: _INT64,
    TSDataType.TIMESTAMP: _INT64,
    TSDataType.TEXT: _BINARY,
    TSDataType.STRING: _BINARY,
    TSDataType.BLOB: _BINARY,
}
# The type byte written for each column: IoTDB's Python client decodes a binary column only
# when it says TEXT and an 8-byte column only when it says INT64 or DOUBLE; the response's
# dataTypeList carries the real types (STRING, BLOB, TIMESTAMP).
_HEADER_TYPE = {
    TSDataType.STRING: TSDataType.TEXT,
    TSDataType.BLOB: TSDataType.TEXT,
    TSDataType.TIMESTAMP: TSDataType.INT64,
}
_WIRE_DTYPE = {
    TSDataType.INT32: ">i4",
    TSDataType.DATE: ">i4",
    TSDataType.FLOAT: ">f4",
    TSDataType.INT64: ">i8",
    TSDataType.TIMESTAMP: ">i8",
    TSDataType.DOUBLE: ">f8",
}


def _null_part(mask: np.ndarray | None) -> bytes:
    if mask is None or not mask.any():
        return b"\x00"
    return b"\x01" + np.packbits(mask.astype(np.bool_)).tobytes()


def _encode_column(
    data_type: TSDataType, values: np.ndarray, mask: np.ndarray | None, n: int
) -> bytes:
    head = _null_part(mask)
    present = None if mask is None or not mask.any() else ~mask
    if data_type is TSDataType.BOOLEAN:
        bits = np.asarray(values, dtype=np.bool_)
        if present is not None:
            bits = bits & present
        return head + np.packbits(bits).tobytes()
    kept = values if present is None else values[present]
    if data_type in _WIRE_DTYPE:
        return head + np.asarray(kept).astype(_WIRE_DTYPE[data_type]).tobytes()
    parts = [head]
    for value in kept:
        raw = value if isinstance(value, bytes | bytearray) else encode_text(str(value))
        parts.append(struct.pack(">i", len(raw)))
        parts.append(bytes(raw))
    return b"".join(parts)


def encode_tsblock(
    timestamps: np.ndarray | None,
    data_types: Sequence[TSDataType],
    values: Sequence[np.ndarray],
    null_masks: Sequence[np.ndarray | None],
) -> bytes:
    """One TsBlock of ``len(timestamps)`` rows (zeros as times when `timestamps` is None —
    IoTDB's clients then ignore the column)."""
    n = len(values[0]) if timestamps is None and values else 0
    times = np.zeros(n, np.int64) if timestamps is None else np.asarray(timestamps, np.int64)
    n = int(times.shape[0])
    for data_type in data_types:
        if data_type not in _ENCODING:
            raise ValueError(f"{data_type!r} cannot be sent in a TsBlock")
    header = struct.pack(">i", len(data_types))
    header += bytes(int(_HEADER_TYPE.get(t, t)) for t in data_types)
    header += struct.pack(">i", n)
    header += bytes([_INT64] + [_ENCODING[t] for t in data_types])
    body = [b"\x00" + times.astype(">i8").tobytes()]
    for data_type, column, mask in zip(data_types, values, null_masks, strict=True):
        body.append(_encode_column(data_type, column, mask, n))
    return header + b"".join(body)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = memoryview(data)
        self.pos = 0

    def take(self, size: int) -> memoryview:
        if size < 0 or self.pos + size > len(self.data):
            raise RpcProtocolError(
                f"TsBlock ends early: {size} bytes wanted at offset {self.pos} of {len(self.data)}"
            )
        part = self.data[self.pos : self.pos + size]
        self.pos += size
        return part

    def int32(self) -> int:
        value: int = struct.unpack(">i", self.take(4))[0]
        return value

    def bits(self, n: int) -> np.ndarray:
        return np.unpackbits(np.frombuffer(self.take((n + 7) // 8), np.uint8))[:n].astype(bool)

    def nulls(self, n: int) -> np.ndarray | None:
        return self.bits(n) if self.take(1)[0] else None


def _decode_column(reader: _Reader, encoding: int, data_type: TSDataType, n: int):
    if encoding not in (_BYTE, _INT32, _INT64, _BINARY, _RLE):
        raise RpcProtocolError(f"TsBlock column encoding {encoding} is not supported")
    if encoding == _RLE:
        if n > _MAX_RLE_ROWS:
            raise RpcProtocolError(f"TsBlock run-length column of {n} rows is too long")
        inner = reader.take(1)[0]
        values, mask = _decode_column(reader, inner, data_type, 1)
        repeated = np.repeat(values, n) if values.shape[0] else values
        return repeated, None if mask is None else np.repeat(mask, n)
    mask = reader.nulls(n)
    present = n if mask is None else int((~mask).sum())
    if encoding == _BYTE:
        return reader.bits(n), mask
    if encoding in (_INT32, _INT64):
        wire = _WIRE_DTYPE.get(data_type, ">i4" if encoding == _INT32 else ">i8")
        width = 4 if encoding == _INT32 else 8
        raw = np.frombuffer(reader.take(present * width), wire).astype(wire[1:])
        return _spread(raw, mask, n), mask
    if encoding == _BINARY:
        items: list[object] = []
        for _ in range(present):
            item = bytes(reader.take(reader.int32()))
            items.append(item if data_type is TSDataType.BLOB else decode_text(item))
        column = np.empty(present, dtype=object)
        column[:] = items
        return _spread(column, mask, n), mask
    raise AssertionError(encoding)  # pragma: no cover - checked above


def _spread(present: np.ndarray, mask: np.ndarray | None, n: int) -> np.ndarray:
    """Values of the non-null rows placed into an array of all `n` rows."""
    if mask is None:
        return present
    full = np.zeros(n, dtype=present.dtype)
    if full.dtype == object:
        full[:] = None
    full[~mask] = present
    return full


def decode_tsblock(
    data: bytes, data_types: Sequence[TSDataType] | None = None
) -> tuple[np.ndarray, list[TSDataType], list[np.ndarray], list[np.ndarray | None]]:
    """(timestamps, data types, values, null masks) of one TsBlock; every array has one entry
    per row. `data_types` (the response's ``dataTypeList``) overrides the block's own type
    bytes. Raises RpcProtocolError for a block that is cut short or malformed."""
    reader = _Reader(data)
    count = reader.int32()
    if count < 0 or count > len(data):
        raise RpcProtocolError(f"TsBlock claims {count} value columns")
    try:
        types = [TSDataType(b) for b in reader.take(count)]
    except ValueError as exc:
        raise RpcProtocolError(f"TsBlock has an unknown data type: {exc}") from None
    if data_types is not None:
        if len(data_types) != count:
            raise RpcProtocolError(f"TsBlock has {count} columns, the result {len(data_types)}")
        types = list(data_types)
    n = reader.int32()
    if n < 0:
        raise RpcProtocolError(f"TsBlock claims {n} rows")
    encodings = list(reader.take(count + 1))
    times, _ = _decode_column(reader, encodings[0], TSDataType.INT64, n)
    values, masks = [], []
    for encoding, data_type in zip(encodings[1:], types, strict=True):
        column, mask = _decode_column(reader, encoding, data_type, n)
        values.append(column)
        masks.append(mask)
    return np.asarray(times, np.int64), types, values, masks
