"""ZIGZAG (INT32/INT64): ``uvar byteLen, uvar count, count * zigzag-LEB128`` per flush."""

from __future__ import annotations

import numpy as np

from .errors import corrupt
from .varint import decode_varints, encode_varints, read_uvar, uvar

__all__ = ["decode_zigzag", "encode_zigzag"]


def encode_zigzag(values: np.ndarray, bits: int) -> bytes:
    """One ZIGZAG group of int32 (`bits`=32) or int64 values; nothing for no values."""
    v = np.asarray(values, dtype=np.int32 if bits == 32 else np.int64)
    if v.size == 0:
        return b""
    body = encode_varints(v, zigzag=True)
    return uvar(len(body)) + uvar(v.size) + body


def decode_zigzag(buf: bytes, bits: int, count: int) -> np.ndarray:
    """`count` values from one or more ZIGZAG groups."""
    parts = []
    got = 0
    pos = 0
    size = len(buf)
    while got < count:
        if pos >= size:
            raise corrupt(pos, f"ZIGZAG stream ends after {got} of {count} values")
        nbytes, pos = read_uvar(buf, pos)
        group_count, body = read_uvar(buf, pos)
        end = body + nbytes
        if end > size:
            raise corrupt(pos, f"ZIGZAG group of {nbytes} bytes overruns the stream")
        if group_count > nbytes:
            raise corrupt(pos, f"ZIGZAG group of {group_count} values in {nbytes} bytes")
        take = min(group_count, count - got)
        values, _ = decode_varints(buf[body:end], take, zigzag=True, bits=bits)
        parts.append(values)
        got += take
        pos = end
    if not parts:
        return np.zeros(0, dtype=np.int32 if bits == 32 else np.int64)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)
