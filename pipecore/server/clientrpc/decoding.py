"""The byte layouts of IoTDB's session write calls, decoded into pipecore values.

What IoTDB's clients put in a request (``SessionUtils`` of the Java client, ``Tablet``,
``NumpyTablet`` and ``Session.value_to_bytes`` of the Python one), all big-endian:

* **tablet timestamps** (``TSInsertTabletReq.timestamps``): ``size`` × int64.
* **tablet values** (``TSInsertTabletReq.values``): column after column — BOOLEAN one byte per
  row, INT32/DATE int32 (DATE as ``yyyymmdd``), INT64/TIMESTAMP int64, FLOAT float32,
  DOUBLE float64, TEXT/STRING/BLOB per row an int32 length and the bytes. Then, optionally,
  the null bitmaps: per column one byte (1 = a bitmap follows) and ``size // 8 + 1`` bytes,
  bit ``row % 8`` of byte ``row // 8`` set for a null (least significant bit first).
* **record values** (``TSInsertRecordReq.values``): per measurement a type byte (the
  ``TSDataType`` number, ``-1`` for a string whose type is inferred, ``-2`` for a null) and
  the value in the tablet layout.

Numeric columns are read with numpy in one step; only variable-length values are read one
by one. A request whose bytes do not match its declared sizes is refused with
ILLEGAL_PARAMETER (303) naming the device and column — nothing of it is stored.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np

from pipecore_storage.types import TSDataType

from .errors import ILLEGAL_PARAMETER, ClientCallError

__all__ = [
    "TYPE_NULL",
    "TYPE_RAW_STRING",
    "data_types_of",
    "decode_record_values",
    "decode_tablet",
]

TYPE_RAW_STRING = -1  # a value sent as a string; the server infers its type
TYPE_NULL = -2

_FIXED: dict[TSDataType, str] = {
    TSDataType.BOOLEAN: "u1",
    TSDataType.INT32: ">i4",
    TSDataType.DATE: ">i4",
    TSDataType.INT64: ">i8",
    TSDataType.TIMESTAMP: ">i8",
    TSDataType.FLOAT: ">f4",
    TSDataType.DOUBLE: ">f8",
}
_WRITABLE = frozenset(_FIXED) | {TSDataType.TEXT, TSDataType.STRING, TSDataType.BLOB}
_LENGTH = struct.Struct(">i")


def _refuse(message: str, subject: str | None = None) -> ClientCallError:
    return ClientCallError(ILLEGAL_PARAMETER, message, subject)


_TYPES_SEEN: dict[tuple[int, ...], tuple[TSDataType, ...]] = {}


def data_types_of(numbers: Sequence[int], where: str) -> list[TSDataType]:
    """The data types of a request's type numbers; 303 for a number no series can have."""
    try:
        key = tuple(numbers)
        known = _TYPES_SEEN.get(key)
    except TypeError:  # a number that does not hash: refused below
        key, known = None, None
    if known is not None:
        return list(known)
    out = []
    for number in numbers:
        try:
            data_type = TSDataType(int(number))
        except (ValueError, TypeError):
            raise _refuse(f"{where}: unknown data type {number}", where) from None
        if data_type not in _WRITABLE:
            raise _refuse(f"{where}: data type {data_type.name} cannot be written", where)
        out.append(data_type)
    if key is not None and all(type(n) is int for n in key):  # a repeated tablet shape
        if len(_TYPES_SEEN) >= 1024:
            _TYPES_SEEN.clear()
        _TYPES_SEEN[key] = tuple(out)
    return out


class _Reader:
    """A cursor over a request buffer; every read is bounds-checked."""

    def __init__(self, data: bytes, where: str) -> None:
        self.data = memoryview(data)
        self.offset = 0
        self.where = where

    @property
    def remaining(self) -> int:
        return len(self.data) - self.offset

    def take(self, size: int, what: str) -> memoryview:
        if size < 0 or size > self.remaining:
            raise _refuse(
                f"{self.where}: the request ends inside {what} (needs {size} bytes at offset "
                f"{self.offset}, {self.remaining} left)",
                self.where,
            )
        view = self.data[self.offset : self.offset + size]
        self.offset += size
        return view

    def byte(self, what: str) -> int:
        return int.from_bytes(self.take(1, what), "big", signed=True)

    def array(self, code: str, count: int, what: str) -> np.ndarray:
        dtype = np.dtype(code)
        raw = self.take(dtype.itemsize * count, what)
        return np.frombuffer(raw, dtype=dtype, count=count)

    def binary(self, what: str) -> bytes:
        (size,) = _LENGTH.unpack(self.take(4, what))
        return bytes(self.take(size, what))


def _text(raw: bytes, where: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _refuse(f"{where}: a TEXT value is not valid UTF-8 ({exc.reason})", where) from None


def _column(reader: _Reader, data_type: TSDataType, rows: int, where: str) -> np.ndarray:
    code = _FIXED.get(data_type)
    if code is not None:
        raw = reader.array(code, rows, f"the values of {where}")
        if data_type is TSDataType.BOOLEAN:
            return raw != 0
        return raw.astype(data_type.numpy_dtype)
    column = np.empty(rows, dtype=object)
    what = f"the values of {where}"
    if data_type is TSDataType.BLOB:
        for i in range(rows):
            column[i] = reader.binary(what)
    else:
        for i in range(rows):
            column[i] = _text(reader.binary(what), where)
    return column


def _bitmaps(reader: _Reader, rows: int, wheres: list[str]) -> list[np.ndarray | None]:
    masks: list[np.ndarray | None] = []
    size = rows // 8 + 1
    for where in wheres:
        if reader.byte(f"the bitmap flag of {where}") == 0:
            masks.append(None)
            continue
        bits = np.frombuffer(reader.take(size, f"the bitmap of {where}"), dtype=np.uint8)
        mask = np.unpackbits(bits, bitorder="little")[:rows].astype(np.bool_)
        masks.append(mask if mask.any() else None)
    return masks


def decode_tablet(
    device: str,
    measurements: Sequence[str],
    types: Sequence[int],
    size: int,
    timestamps: bytes,
    values: bytes,
) -> tuple[np.ndarray, list[TSDataType], list[np.ndarray], list[np.ndarray | None]]:
    """(timestamps, data types, columns, null masks) of one tablet of a request."""
    if len(measurements) != len(types):
        raise _refuse(
            f"{device}: {len(measurements)} measurements but {len(types)} data types", device
        )
    if size < 0:
        raise _refuse(f"{device}: a tablet of {size} rows", device)
    data_types = data_types_of(types, device)
    if len(timestamps) != 8 * size:
        raise _refuse(
            f"{device}: {len(timestamps)} bytes of timestamps for {size} rows "
            f"(expected {8 * size})",
            device,
        )
    times = np.frombuffer(timestamps, dtype=">i8", count=size).astype(np.int64)
    row_bytes = _fixed_row_bytes(data_types) if data_types else -1
    if row_bytes > 0 and len(values) == row_bytes * size:
        # numbers only and no bitmaps (what NumpyTablet and Tablet send without nulls)
        return times, data_types, _fixed_columns(data_types, size, values), [None] * len(types)
    reader = _Reader(values, device)
    wheres = [f"{device}.{m}" for m in measurements]
    columns = [_column(reader, t, size, w) for t, w in zip(data_types, wheres, strict=True)]
    masks: list[np.ndarray | None] = [None] * len(columns)
    if reader.remaining:
        masks = _bitmaps(reader, size, wheres)
    if reader.remaining:
        raise _refuse(
            f"{device}: {reader.remaining} bytes follow the tablet's values and bitmaps "
            "(the columns are longer than the tablet's size)",
            device,
        )
    return times, data_types, columns, masks


_ROW_BYTES: dict[tuple[TSDataType, ...], int] = {}


def _fixed_row_bytes(data_types: list[TSDataType]) -> int:
    """Bytes a row takes in the columns of these types; -1 when one is variable-length."""
    key = tuple(data_types)
    got = _ROW_BYTES.get(key)
    if got is None:
        fixed = [_FIXED.get(t) for t in data_types]
        got = -1 if None in fixed else sum(np.dtype(c).itemsize for c in fixed if c is not None)
        if len(_ROW_BYTES) >= 1024:
            _ROW_BYTES.clear()
        _ROW_BYTES[key] = got
    return got


def _fixed_columns(data_types: list[TSDataType], rows: int, values: bytes) -> list[np.ndarray]:
    """The columns of a fixed-width tablet whose buffer holds exactly its columns: columns of
    one type are converted from big-endian together, in one numpy call per type."""
    out: list[np.ndarray] = []
    first = data_types[0]
    if all(t is first for t in data_types):
        code = _FIXED[first]
        raw = np.frombuffer(values, dtype=code, count=rows * len(data_types))
        block = raw.reshape(len(data_types), rows)
        block = block != 0 if first is TSDataType.BOOLEAN else block.astype(first.numpy_dtype)
        return list(block)
    offset = 0
    for t in data_types:
        dtype = np.dtype(_FIXED[t])
        raw = np.frombuffer(values, dtype=dtype, count=rows, offset=offset)
        offset += dtype.itemsize * rows
        out.append(raw != 0 if t is TSDataType.BOOLEAN else raw.astype(t.numpy_dtype))
    return out


def decode_record_values(
    device: str, measurements: Sequence[str], values: bytes
) -> list[tuple[TSDataType | None, object]]:
    """Per measurement (data type, value) of a record; (None, str) for a raw string whose type
    the server infers, (type, None) for a null. DATE values are ``yyyymmdd`` ints."""
    reader = _Reader(values, device)
    out: list[tuple[TSDataType | None, object]] = []
    for measurement in measurements:
        where = f"{device}.{measurement}"
        number = reader.byte(f"the type of {where}")
        if number == TYPE_NULL:
            out.append((TSDataType.UNKNOWN, None))
        elif number == TYPE_RAW_STRING:
            out.append((None, _text(reader.binary(f"the value of {where}"), where)))
        else:
            (data_type,) = data_types_of([number], where)
            column = _column(reader, data_type, 1, where)
            out.append((data_type, column[0].item() if column.dtype != object else column[0]))
    if reader.remaining:
        raise _refuse(
            f"{device}: {reader.remaining} bytes follow the values of "
            f"{len(measurements)} measurements",
            device,
        )
    return out
