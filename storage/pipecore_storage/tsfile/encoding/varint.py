"""LEB128 varints of TsFile (`uvar`, and `svar` = zigzag + LEB128), single and vectorised.

`uvar` values are unsigned 32-bit ints (Java ``writeUnsignedVarInt``); `svar` values are
signed 32-bit ints, zigzagged first (``writeVarInt``). ZIGZAG-encoded INT64 values use the
64-bit zigzag and up to 10 bytes (`decode_varints(..., max_bytes=10)`).
"""

from __future__ import annotations

import numpy as np

from .errors import corrupt

__all__ = [
    "decode_varints",
    "encode_varints",
    "read_svar",
    "read_uvar",
    "svar",
    "uvar",
    "zigzag_decode",
    "zigzag_encode",
]

_U32 = 0xFFFFFFFF


def uvar(value: int) -> bytes:
    """`uvar`: unsigned LEB128 of a 32-bit int (negative ints as their two's complement)."""
    value &= _U32
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def svar(value: int) -> bytes:
    """`svar`: zigzag (32-bit) then LEB128; -1 -> 01, 3 -> 06."""
    return uvar((value << 1) ^ (value >> 31))


def read_uvar(buf: bytes, pos: int) -> tuple[int, int]:
    """Read a `uvar` at `pos` of `buf`; returns (value, position after it)."""
    try:
        b = buf[pos]
        if b < 0x80:
            return b, pos + 1
        value = b & 0x7F
        shift = 7
        start = pos
        pos += 1
        while True:
            b = buf[pos]
            pos += 1
            value |= (b & 0x7F) << shift
            if b < 0x80:
                return value & _U32, pos
            shift += 7
            if shift > 28:
                raise corrupt(start, "varint longer than 5 bytes")
    except IndexError:
        raise corrupt(len(buf), "stream ends inside a varint") from None


def read_svar(buf: bytes, pos: int) -> tuple[int, int]:
    """Read an `svar` at `pos`: (signed 32-bit value, position after it)."""
    u, pos = read_uvar(buf, pos)
    return (u >> 1) ^ -(u & 1), pos


def zigzag_encode(values: np.ndarray) -> np.ndarray:
    """Zigzag of int32 (-> uint32) or int64 (-> uint64) values, wrapping like Java."""
    if values.dtype.itemsize <= 4:
        v = values.astype(np.int32, copy=False)
        return ((v << 1) ^ (v >> 31)).view(np.uint32)
    v = values.astype(np.int64, copy=False)
    return ((v << 1) ^ (v >> 63)).view(np.uint64)


def zigzag_decode(u: np.ndarray, bits: int = 32) -> np.ndarray:
    """Inverse of `zigzag_encode`: unsigned values -> int32 (`bits`=32) or int64."""
    if bits == 32:
        u32 = u.astype(np.uint32, copy=False)
        return ((u32 >> np.uint32(1)) ^ (np.uint32(0) - (u32 & np.uint32(1)))).view(np.int32)
    u64 = u.astype(np.uint64, copy=False)
    return ((u64 >> np.uint64(1)) ^ (np.uint64(0) - (u64 & np.uint64(1)))).view(np.int64)


def encode_varints(values: np.ndarray, *, zigzag: bool = False) -> bytes:
    """LEB128 of every value, concatenated (vectorised).

    `values` are taken as unsigned (uint32/uint64 bit patterns of signed ints); with
    `zigzag` they are zigzagged first (32-bit for int32 input, 64-bit for int64).
    """
    arr = np.asarray(values)
    if zigzag:
        arr = zigzag_encode(arr)
    u = arr.astype(np.uint64, copy=False) if arr.dtype.kind == "u" else _as_unsigned(arr)
    n = u.size
    if n == 0:
        return b""
    nbytes = np.ones(n, dtype=np.int64)
    limit = 128
    for _ in range(9):
        big = u >= np.uint64(limit)
        if not big.any():
            break
        nbytes += big
        limit <<= 7
    if int(nbytes.max()) == 1:  # every value is one byte
        return u.astype(np.uint8).tobytes()
    ends = np.cumsum(nbytes)
    starts = ends - nbytes
    out = np.empty(int(ends[-1]), dtype=np.uint8)
    for k in range(int(nbytes.max())):
        sel = nbytes > k if k else slice(None)
        chunk = (u[sel] >> np.uint64(7 * k)) & np.uint64(0x7F)
        more = (nbytes[sel] > k + 1).astype(np.uint64) << np.uint64(7)
        out[starts[sel] + k] = (chunk | more).astype(np.uint8)
    return out.tobytes()


def _as_unsigned(arr: np.ndarray) -> np.ndarray:
    if arr.dtype.itemsize <= 4:
        return arr.astype(np.int32, copy=False).view(np.uint32).astype(np.uint64)
    return arr.astype(np.int64, copy=False).view(np.uint64)


def decode_varints(
    buf: bytes | memoryview | np.ndarray,
    count: int,
    offset: int = 0,
    *,
    zigzag: bool = False,
    bits: int = 32,
) -> tuple[np.ndarray, int]:
    """Decode `count` LEB128 varints starting at `offset`; returns (values, end offset).

    `bits` is 32 (uvar/svar: at most 5 bytes, result uint32, or int32 with `zigzag`) or 64
    (at most 10 bytes, uint64 / int64). Raises EncodingError if the stream is short or a
    varint is too long.
    """
    raw = buf if isinstance(buf, np.ndarray) else np.frombuffer(buf, dtype=np.uint8)
    out_dtype = np.uint32 if bits == 32 else np.uint64
    if count <= 0:
        return np.zeros(0, dtype=out_dtype).view(
            _signed(out_dtype) if zigzag else out_dtype
        ), offset
    rest = raw[offset:]
    # a varint is at least one byte: only the first `count * max_bytes` bytes can matter
    max_bytes = 5 if bits == 32 else 10
    rest = rest[: count * max_bytes]
    ends = np.flatnonzero(rest < 0x80)
    if ends.size < count:
        raise corrupt(len(raw), f"stream ends after {ends.size} of {count} varints")
    ends = ends[:count]
    if count == int(ends[-1]) + 1:  # all single bytes
        u = rest[:count].astype(np.uint64)
        end = offset + count
    else:
        starts = np.empty(count, dtype=np.int64)
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
        lengths = ends - starts + 1
        too_long = lengths > max_bytes
        if too_long.any():
            at = offset + int(starts[np.argmax(too_long)])
            raise corrupt(at, f"varint longer than {max_bytes} bytes")
        u = rest[starts].astype(np.uint64) & np.uint64(0x7F)
        for k in range(1, int(lengths.max())):
            sel = lengths > k
            part = rest[starts[sel] + k].astype(np.uint64) & np.uint64(0x7F)
            u[sel] |= part << np.uint64(7 * k)
        end = offset + int(ends[-1]) + 1
    result = u.astype(out_dtype)  # 32-bit: drops bits past 32 like Java's int arithmetic
    if zigzag:
        return zigzag_decode(result, bits), end
    return result, end


def _signed(dtype: type) -> type:
    return np.int32 if dtype is np.uint32 else np.int64
