"""RLBE (read only): delta + run-length + Fibonacci coding, as the C++ 2.5 ``RLBEEncoder``
writes it.

Per block (byte aligned): ``i32 blockSize`` (1..10000), then segments until the block is
full: a length code (6 bits for int32, 7 for int64) giving the bit width of the segment's
deltas, the run length in Fibonacci code (terminated by ``11``), then run-length deltas of
that width. The first delta of a block is the first value; values are running sums
(wrapping).
"""

from __future__ import annotations

import numpy as np

from .bitreader import BitReader
from .errors import corrupt

__all__ = ["decode_rlbe"]

MAX_BLOCK = 10000  # RLBE_BLOCK_DEFAULT_SIZE


def decode_rlbe(buf: bytes, bits: int, count: int) -> np.ndarray:
    """`count` int32/int64 values (FLOAT/DOUBLE: their IEEE bit patterns)."""
    sdt = np.int32 if bits == 32 else np.int64
    mask = (1 << bits) - 1
    code_bits = 6 if bits == 32 else 7
    reader = BitReader(buf, "RLBE")
    read = reader.read
    out: list[int] = []
    while len(out) < count:
        reader.align()
        block = read(32)
        if block < 1 or block > MAX_BLOCK:
            raise corrupt(reader.pos // 8 - 4, f"RLBE block of {block} values (1..{MAX_BLOCK})")
        filled = 0
        value = 0
        while filled < block:
            width = read(code_bits)
            if width < 1 or width > bits:
                raise corrupt(reader.pos // 8, f"RLBE delta width {width}")
            run = _fibonacci(reader, block - filled)
            for _ in range(run):
                delta = read(width)
                if width == bits:
                    delta |= 1 << (bits - 1)
                value = delta if filled == 0 else (value + delta) & mask
                out.append(value)
                filled += 1
    arr = np.array(out[:count], dtype=np.uint64)
    return arr.astype(np.uint32 if bits == 32 else np.uint64).view(sdt)


def _fibonacci(reader: BitReader, remaining: int) -> int:
    """A Fibonacci-coded run length (weights 1, 2, 3, 5, ...; ends with two 1 bits)."""
    now, nxt = reader.read(1), reader.read(1)
    fib_prev, fib = 1, 1
    run = 0
    while True:
        if now:
            run += fib
            if run > remaining:
                raise corrupt(reader.pos // 8, f"RLBE run longer than the {remaining} values left")
        if now and nxt:
            return run
        fib_prev, fib = fib, fib + fib_prev
        now, nxt = nxt, reader.read(1)
