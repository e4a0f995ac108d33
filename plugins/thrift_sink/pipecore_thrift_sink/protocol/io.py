"""Big-endian primitives of the pipe protocol (tsfile `ReadWriteIOUtils`), bounded on read.

Every length read from a body is checked against the bytes that remain before anything is
allocated for it, so a malformed body raises `PipeProtocolError` (naming the field and the
byte offset) and never makes the reader over-allocate or loop for long.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping

import numpy as np

from pipecore_storage.types import decode_text, encode_text

from .errors import PipeProtocolError

__all__ = ["BodyReader", "BodyWriter"]

_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
_I64 = struct.Struct(">q")
_F32 = struct.Struct(">f")
_F64 = struct.Struct(">d")
_B = struct.Struct(">b")


class BodyWriter:
    """Accumulates a body from parts; `getvalue` joins them once."""

    __slots__ = ("_parts",)

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def raw(self, data: bytes | bytearray | memoryview) -> None:
        self._parts.append(bytes(data))

    def byte(self, value: int) -> None:
        self._parts.append(_B.pack(value) if value < 128 else bytes((value & 0xFF,)))

    def bool(self, value: bool) -> None:
        self._parts.append(b"\x01" if value else b"\x00")

    def i16(self, value: int) -> None:
        self._parts.append(_I16.pack(value))

    def i32(self, value: int) -> None:
        self._parts.append(_I32.pack(value))

    def i64(self, value: int) -> None:
        self._parts.append(_I64.pack(value))

    def f32(self, value: float) -> None:
        self._parts.append(_F32.pack(value))

    def f64(self, value: float) -> None:
        self._parts.append(_F64.pack(value))

    def string(self, value: str | None) -> None:
        """i32 byte length (-1 for None), then UTF-8 bytes."""
        if value is None:
            self._parts.append(_I32.pack(-1))
            return
        data = encode_text(value)
        self._parts.append(_I32.pack(len(data)))
        self._parts.append(data)

    def binary(self, value: bytes | bytearray | memoryview) -> None:
        """i32 length, then the bytes."""
        self._parts.append(_I32.pack(len(value)))
        self._parts.append(bytes(value))

    def string_map(self, value: Mapping[str, str | None]) -> None:
        self._parts.append(_I32.pack(len(value)))
        for k, v in value.items():
            self.string(k)
            self.string(v)

    def getvalue(self) -> bytes:
        return b"".join(self._parts)


class BodyReader:
    """Reads primitives from a body; `pos` is the offset of the next byte.

    `base` is added to offsets in error messages (a reader over a part of a larger body).
    """

    __slots__ = ("_data", "_view", "base", "end", "pos")

    def __init__(self, data: bytes | bytearray | memoryview, pos: int = 0, base: int = 0):
        self._data = data if isinstance(data, bytes) else bytes(data)
        self._view = memoryview(self._data)
        self.pos = pos
        self.end = len(self._data)
        self.base = base

    @property
    def data(self) -> bytes:
        return self._data

    @property
    def remaining(self) -> int:
        return self.end - self.pos

    def error(self, field: str, reason: str, at: int | None = None) -> PipeProtocolError:
        return PipeProtocolError(reason, field, self.base + (self.pos if at is None else at))

    def need(self, n: int, field: str) -> int:
        """Check that `n` more bytes exist; return the current position."""
        if n < 0 or n > self.end - self.pos:
            raise self.error(field, f"needs {n} bytes but only {self.end - self.pos} remain")
        return self.pos

    def _unpack(self, st: struct.Struct, field: str) -> int | float:
        pos = self.need(st.size, field)
        self.pos = pos + st.size
        return st.unpack_from(self._data, pos)[0]

    def byte(self, field: str) -> int:
        """A signed byte."""
        return int(self._unpack(_B, field))

    def bool(self, field: str) -> bool:
        """A bool byte; like Java's ``ReadWriteIOUtils.readBool``, only 1 is true."""
        return self._unpack(_B, field) == 1

    def i16(self, field: str) -> int:
        return int(self._unpack(_I16, field))

    def i32(self, field: str) -> int:
        return int(self._unpack(_I32, field))

    def i64(self, field: str) -> int:
        return int(self._unpack(_I64, field))

    def f32(self, field: str) -> float:
        return float(self._unpack(_F32, field))

    def f64(self, field: str) -> float:
        return float(self._unpack(_F64, field))

    def count(self, field: str, min_item_size: int = 1) -> int:
        """An i32 element count that must be >= 0 and fit in what remains."""
        at = self.pos
        n = self.i32(field)
        if n < 0:
            raise self.error(field, f"negative count {n}", at)
        if n * min_item_size > self.remaining:
            raise self.error(
                field,
                f"count {n} needs at least {n * min_item_size} bytes but only "
                f"{self.remaining} remain",
                at,
            )
        return n

    def length(self, field: str) -> int:
        """An i32 byte length that must be >= 0 and fit in what remains."""
        at = self.pos
        n = self.i32(field)
        if n < 0:
            raise self.error(field, f"negative length {n}", at)
        if n > self.remaining:
            raise self.error(field, f"length {n} but only {self.remaining} bytes remain", at)
        return n

    def take(self, n: int, field: str) -> bytes:
        pos = self.need(n, field)
        self.pos = pos + n
        return self._data[pos : pos + n]

    def view(self, n: int, field: str) -> memoryview:
        pos = self.need(n, field)
        self.pos = pos + n
        return self._view[pos : pos + n]

    def binary(self, field: str) -> bytes:
        """i32 length + bytes."""
        return self.take(self.length(field), field)

    def string(self, field: str) -> str | None:
        """i32 length + UTF-8; a negative length is null (None), as Java reads it."""
        at = self.pos
        n = self.i32(field)
        if n < 0:
            return None
        if n > self.remaining:
            raise self.error(field, f"length {n} but only {self.remaining} bytes remain", at)
        pos = self.pos
        self.pos = pos + n
        return decode_text(self._view[pos : pos + n])

    def required_string(self, field: str) -> str:
        at = self.pos
        value = self.string(field)
        if value is None:
            raise self.error(field, "is null", at)
        return value

    def string_map(self, field: str) -> dict[str, str | None]:
        n = self.count(field, 8)
        out: dict[str, str | None] = {}
        for i in range(n):
            key = self.required_string(f"{field}[{i}].key")
            out[key] = self.string(f"{field}[{key}]")
        return out

    def array(self, dtype: str, count: int, field: str) -> np.ndarray:
        """`count` big-endian values of numpy `dtype` (e.g. ``">i8"``), as a read-only view."""
        dt = np.dtype(dtype)
        pos = self.need(count * dt.itemsize, field)
        self.pos = pos + count * dt.itemsize
        return np.frombuffer(self._data, dtype=dt, count=count, offset=pos)

    def expect_end(self, what: str) -> None:
        if self.pos != self.end:
            raise self.error(what, f"{self.end - self.pos} unexpected trailing bytes")
