"""Bounded reading and writing of TsFile's primitive fields (tsfile-format.md §0).

`ByteReader` reads big-endian integers, floats, varints and strings out of a buffer and
raises `CorruptFileError` — naming the file and the absolute byte offset — whenever a field
would run past the end of the region being parsed. Every length read from a file is checked
against what remains before anything is allocated.

The writer-side helpers return `bytes`; callers join them.
"""

from __future__ import annotations

import struct

from ..errors import CorruptFileError

__all__ = [
    "ByteReader",
    "i32_bytes",
    "i64_bytes",
    "istr_bytes",
    "svar_bytes",
    "uvar_bytes",
    "vstr_bytes",
]

_I32 = struct.Struct(">i")
_I64 = struct.Struct(">q")
_F32 = struct.Struct(">f")
_F64 = struct.Struct(">d")


class ByteReader:
    """A cursor over ``data[pos:end]`` whose offsets are reported as ``base + pos``.

    `data` is anything indexable by slices that yields bytes (bytes, bytearray, mmap).
    """

    __slots__ = ("base", "data", "end", "path", "pos")

    def __init__(
        self, data, path: object = None, pos: int = 0, end: int | None = None, base: int = 0
    ) -> None:
        self.data = data
        self.path = path
        self.pos = pos
        self.end = len(data) if end is None else min(end, len(data))
        self.base = base

    # ------------------------------------------------------------------ errors
    def error(self, reason: str, pos: int | None = None) -> CorruptFileError:
        where = self.pos if pos is None else pos
        return CorruptFileError(self.path, self.base + where, reason)

    @property
    def offset(self) -> int:
        """The absolute offset of the cursor."""
        return self.base + self.pos

    @property
    def remaining(self) -> int:
        return self.end - self.pos

    def _need(self, n: int, what: str) -> int:
        pos = self.pos
        if n < 0 or pos + n > self.end:
            raise self.error(f"{what} needs {n} bytes, only {self.end - pos} remain")
        self.pos = pos + n
        return pos

    # ------------------------------------------------------------------ fixed width
    def u8(self, what: str = "byte") -> int:
        pos = self._need(1, what)
        return self.data[pos]

    def i32(self, what: str = "int32") -> int:
        return _I32.unpack_from(self.data, self._need(4, what))[0]

    def i64(self, what: str = "int64") -> int:
        return _I64.unpack_from(self.data, self._need(8, what))[0]

    def f32(self, what: str = "float") -> float:
        return _F32.unpack_from(self.data, self._need(4, what))[0]

    def f64(self, what: str = "double") -> float:
        return _F64.unpack_from(self.data, self._need(8, what))[0]

    def bool(self, what: str = "boolean") -> bool:
        return self.u8(what) != 0

    def take(self, n: int, what: str = "bytes") -> bytes:
        """`n` raw bytes (a copy)."""
        pos = self._need(n, what)
        return bytes(self.data[pos : pos + n])

    def skip(self, n: int, what: str = "bytes") -> None:
        self._need(n, what)

    # ------------------------------------------------------------------ varints
    def uvar(self, what: str = "unsigned varint") -> int:
        """Unsigned LEB128 of a 32-bit int (at most 5 bytes), as Java's readUnsignedVarInt."""
        value = 0
        shift = 0
        start = self.pos
        data, end = self.data, self.end
        pos = start
        while True:
            if pos >= end:
                raise self.error(f"{what} runs past the end", start)
            b = data[pos]
            pos += 1
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                break
            shift += 7
            if shift > 28:
                raise self.error(f"{what} is longer than 5 bytes", start)
        self.pos = pos
        return value & 0xFFFFFFFF

    def svar(self, what: str = "signed varint") -> int:
        """Zigzag LEB128 of a 32-bit int (Java writeVarInt)."""
        u = self.uvar(what)
        return (u >> 1) ^ -(u & 1)

    def length(self, what: str, value: int | None = None) -> int:
        """A length field (uvar unless given), checked against what remains."""
        start = self.pos
        n = self.uvar(what) if value is None else value
        if n > self.end - self.pos:
            raise self.error(f"{what} {n} exceeds the {self.end - self.pos} bytes left", start)
        return n

    # ------------------------------------------------------------------ strings
    def vstr(self, what: str = "string") -> str | None:
        """`svar(len)` + UTF-8; length -1 is null (ReadWriteIOUtils.readVarIntString)."""
        start = self.pos
        n = self.svar(f"{what} length")
        if n == -1:
            return None
        if n < 0 or n > self.end - self.pos:
            raise self.error(f"{what} length {n} is invalid here", start)
        pos = self.pos
        self.pos = pos + n
        return bytes(self.data[pos : pos + n]).decode("utf-8", "surrogateescape")

    def istr(self, what: str = "string") -> str | None:
        """`i32(len)` + UTF-8; length -1 is null."""
        start = self.pos
        n = self.i32(f"{what} length")
        if n == -1:
            return None
        if n < 0 or n > self.end - self.pos:
            raise self.error(f"{what} length {n} is invalid here", start)
        pos = self.pos
        self.pos = pos + n
        return bytes(self.data[pos : pos + n]).decode("utf-8", "surrogateescape")

    def bin32(self, what: str = "binary") -> bytes:
        """`i32(len)` + raw bytes (statistics of TEXT/STRING)."""
        start = self.pos
        n = self.i32(f"{what} length")
        if n < 0 or n > self.end - self.pos:
            raise self.error(f"{what} length {n} is invalid here", start)
        return self.take(n, what)

    def sub(self, n: int, what: str) -> ByteReader:
        """A reader over the next `n` bytes; this cursor moves past them."""
        pos = self._need(n, what)
        return ByteReader(self.data, self.path, pos, pos + n, self.base)


# ---------------------------------------------------------------------- writing
def uvar_bytes(n: int) -> bytes:
    """Unsigned LEB128 of a non-negative 32-bit int."""
    if n < 0x80:
        return bytes((n,))
    out = bytearray()
    n &= 0xFFFFFFFF
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def svar_bytes(n: int) -> bytes:
    """Zigzag LEB128 of a 32-bit int."""
    return uvar_bytes(((n << 1) ^ (n >> 31)) & 0xFFFFFFFF)


def vstr_bytes(s: str | None) -> bytes:
    if s is None:
        return b"\x01"
    raw = s.encode("utf-8", "surrogateescape")
    return svar_bytes(len(raw)) + raw


def istr_bytes(s: str | None) -> bytes:
    if s is None:
        return _I32.pack(-1)
    raw = s.encode("utf-8", "surrogateescape")
    return _I32.pack(len(raw)) + raw


def i32_bytes(n: int) -> bytes:
    return _I32.pack(n)


def i64_bytes(n: int) -> bytes:
    return _I64.pack(n)


def f32_bytes(x: float) -> bytes:
    return _F32.pack(x)


def f64_bytes(x: float) -> bytes:
    return _F64.pack(x)
