"""SPRINTZ (read only), as the C++ 2.5 Sprintz encoders write it.

Blocks of 9 values: ``u8 bitWidth`` (< 0x80), the first value (uvar for int32, big-endian
i64 / f32 / f64 otherwise), then 8 zigzag-mapped prediction errors bit-packed in
``bitWidth`` bytes; the prediction is the FIRE predictor (learning shift 2 for 32-bit, 3 for
64-bit). A page's last, shorter block is ``u8 (0x80 | n)`` + an RLE stream (ints) or a
Gorilla stream (floats) of its `n` values.
"""

from __future__ import annotations

import struct

import numpy as np

from .bitpack import padded, unpack_fixed
from .errors import corrupt
from .gorilla import decode_gorilla
from .rle import decode_rle
from .varint import read_uvar

__all__ = ["decode_sprintz"]

BLOCK = 8


def _wrap(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


class _Fire:
    """The FIRE predictor with the C++ integer semantics (its accumulator is a C int)."""

    def __init__(self, bits: int) -> None:
        self.bits = bits
        self.shift, self.width = (2, 8) if bits == 32 else (3, 16)
        self.acc = 0
        self.delta = 0

    def predict(self, value: int) -> int:
        alpha = self.acc >> self.shift
        product = alpha * self.delta
        if self.bits == 32:
            diff = _wrap(product, 32) >> self.width
        else:
            diff = _wrap(product >> self.width, 64)
        return _wrap(value + diff, self.bits)

    def train(self, pre: int, val: int, err: int) -> None:
        gradient = -self.delta if err > 0 else self.delta
        self.acc = _wrap(self.acc - gradient, 32)
        self.delta = _wrap(val - pre, self.bits)


def decode_sprintz(buf: bytes, bits: int, count: int, is_float: bool) -> np.ndarray:
    """`count` values as int32/int64 (for floats: their IEEE bit patterns)."""
    out: list[int] = []
    pos = 0
    size = len(buf)
    words = padded(buf)
    while len(out) < count:
        if pos >= size:
            raise corrupt(pos, f"SPRINTZ stream ends after {len(out)} of {count} values")
        head = buf[pos]
        pos += 1
        if head & 0x80:
            n = min(head & 0x7F, count - len(out))
            out.extend(_tail(buf, pos, bits, n, is_float))
            if len(out) < count:
                raise corrupt(pos - 1, f"SPRINTZ stream ends after {len(out)} of {count} values")
            break
        width = head
        if width > bits:
            raise corrupt(pos - 1, f"SPRINTZ bit width {width} (max {bits})")
        first, pos = _first_value(buf, pos, bits, is_float)
        if pos + width > size:
            raise corrupt(pos, f"SPRINTZ block needs {width} packed bytes")
        errors = unpack_fixed(words, pos, width, BLOCK).tolist() if width else [0] * BLOCK
        pos += width
        out.extend(_reconstruct(first, errors, bits))
    return (
        np.array([v & ((1 << bits) - 1) for v in out[:count]], dtype=np.uint64)
        .astype(np.uint32 if bits == 32 else np.uint64)
        .view(np.int32 if bits == 32 else np.int64)
    )


def _first_value(buf: bytes, pos: int, bits: int, is_float: bool) -> tuple[int, int]:
    if bits == 32 and not is_float:
        raw, pos = read_uvar(buf, pos)
        return _wrap(raw, 32), pos
    fmt = ">i" if bits == 32 else ">q"
    need = bits // 8
    if pos + need > len(buf):
        raise corrupt(pos, "SPRINTZ block without its first value")
    return struct.unpack_from(fmt, buf, pos)[0], pos + need


def _reconstruct(first: int, packed: list[int], bits: int) -> list[int]:
    fire = _Fire(bits)
    values = [first]
    prev = first
    for raw in packed:
        v = _wrap(raw, bits)
        # inverse of the zigzag-like map (C arithmetic: exact halves, wrapping negation)
        err = _wrap(-v, bits) // 2 if v % 2 == 0 else _wrap(v + 1, bits) // 2
        pred = fire.predict(prev)
        cur = _wrap(pred + err, bits)
        fire.train(prev, cur, err)
        values.append(cur)
        prev = cur
    return values


def _tail(buf: bytes, pos: int, bits: int, n: int, is_float: bool) -> list[int]:
    if n == 0:
        return []
    if is_float:
        return decode_gorilla(buf[pos:], bits, n).astype(np.uint64).tolist()
    return decode_rle(buf, bits, n, pos)[0].tolist()
