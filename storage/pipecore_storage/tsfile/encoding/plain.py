"""PLAIN: BOOLEAN 1 byte, INT32/DATE svar, INT64/TIMESTAMP/FLOAT/DOUBLE big-endian,
TEXT/STRING/BLOB svar length + bytes."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...types import TSDataType, decode_text, encode_text
from .errors import corrupt
from .varint import decode_varints, encode_varints, read_svar, svar

__all__ = ["decode_binaries", "decode_plain", "encode_binaries", "encode_plain"]

_FIXED: dict[TSDataType, np.dtype[Any]] = {
    TSDataType.INT64: np.dtype(">i8"),
    TSDataType.TIMESTAMP: np.dtype(">i8"),
    TSDataType.FLOAT: np.dtype(">f4"),
    TSDataType.DOUBLE: np.dtype(">f8"),
}
_UINT: dict[int, type[np.unsignedinteger[Any]]] = {4: np.uint32, 8: np.uint64}


def encode_plain(values: np.ndarray, data_type: TSDataType) -> bytes:
    if data_type is TSDataType.BOOLEAN:
        return np.asarray(values, dtype=np.bool_).view(np.uint8).tobytes()
    if data_type in (TSDataType.INT32, TSDataType.DATE):
        return encode_varints(np.asarray(values, dtype=np.int32), zigzag=True)
    fixed = _FIXED.get(data_type)
    if fixed is not None:
        native = np.ascontiguousarray(values, dtype=fixed.newbyteorder("="))
        # byte-swap the bit patterns (keeps NaN payloads and -0.0 exactly)
        return native.view(_UINT[fixed.itemsize]).byteswap().tobytes()
    if data_type.is_binary:
        return encode_binaries(values)
    raise ValueError(f"PLAIN cannot encode {data_type.name}")


def decode_plain(buf: bytes, data_type: TSDataType, count: int) -> np.ndarray:
    if data_type is TSDataType.BOOLEAN:
        if len(buf) < count:
            raise corrupt(len(buf), f"PLAIN BOOLEAN needs {count} bytes, {len(buf)} present")
        return np.frombuffer(buf, dtype=np.uint8, count=count) != 0
    if data_type in (TSDataType.INT32, TSDataType.DATE):
        values, _ = decode_varints(buf, count, zigzag=True)
        return values
    fixed = _FIXED.get(data_type)
    if fixed is not None:
        need = count * fixed.itemsize
        if len(buf) < need:
            raise corrupt(
                len(buf), f"PLAIN {data_type.name} needs {need} bytes, {len(buf)} present"
            )
        return np.frombuffer(buf, dtype=fixed, count=count).astype(fixed.newbyteorder("="))
    if data_type.is_binary:
        return decode_binaries(buf, count, 0, as_text=data_type is not TSDataType.BLOB)[0]
    raise ValueError(f"PLAIN cannot decode {data_type.name}")


def encode_binaries(values: np.ndarray | list) -> bytes:
    """`svar(len) + bytes` per value; str values are UTF-8 (surrogateescape)."""
    parts: list[bytes] = []
    append = parts.append
    for value in values:
        raw = encode_text(value) if isinstance(value, str) else bytes(value)
        n = len(raw)
        append(bytes((n << 1,)) if n < 64 else svar(n))
        append(raw)
    return b"".join(parts)


def decode_binaries(buf: bytes, count: int, pos: int, *, as_text: bool) -> tuple[np.ndarray, int]:
    """`count` svar-length-prefixed values from `pos`; (object array, end position)."""
    size = len(buf)
    if count > size - pos:  # every value takes at least one byte
        raise corrupt(size, f"{size - pos} bytes cannot hold {count} values")
    out = np.empty(count, dtype=object)
    for i in range(count):
        if pos >= size:
            raise corrupt(pos, f"stream ends after {i} of {count} values")
        first = buf[pos]
        if first < 0x80 and not first & 1:
            n = first >> 1
            pos += 1
        else:
            at = pos
            n, pos = read_svar(buf, pos)
            if n < 0:
                raise corrupt(at, f"negative value length {n}")
        end = pos + n
        if end > size:
            raise corrupt(pos, f"value of {n} bytes overruns the stream ({size - pos} left)")
        raw = buf[pos:end]
        out[i] = decode_text(raw) if as_text else raw
        pos = end
    return out, pos
