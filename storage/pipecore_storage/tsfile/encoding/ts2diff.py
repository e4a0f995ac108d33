"""TS_2DIFF (Java `DeltaBinaryEncoder`) for int32 and int64 streams, vectorised.

A stream is a sequence of blocks; a block holds a first value and up to 128 deltas:
``i32 deltaCount, i32 bitWidth, minDelta, firstValue`` (i32 or i64 each, big-endian), then
``ceil(deltaCount*bitWidth/8)`` bytes of ``delta - minDelta`` packed MSB-first.
"""

from __future__ import annotations

import struct

import numpy as np

from .bitpack import (
    SCRATCH,
    bit_length,
    gather_bits,
    padded,
    scatter_top,
    scatter_words,
    words_to_bytes,
)
from .errors import corrupt

__all__ = ["BLOCK_SIZE", "decode_ts2diff", "encode_ts2diff"]

BLOCK_SIZE = 128  # deltas per block (Java TSFileConfig.deltaBlockSize)
MAX_BLOCK_DELTAS = 1 << 16  # decoder limit: larger blocks are treated as corrupt
_HEADER = {32: struct.Struct(">iiii"), 64: struct.Struct(">iiqq")}


def encode_ts2diff(values: np.ndarray, bits: int, block_size: int = BLOCK_SIZE) -> bytes:
    """Encode int32 (`bits`=32) or int64 (`bits`=64) values; the encoder is flushed."""
    sdt = np.int32 if bits == 32 else np.int64
    v = np.ascontiguousarray(values, dtype=sdt)
    n = v.size
    if n == 0:
        return b""
    rows, ndeltas, mins, widths, adj = _blocks(v, block_size + 1, bits)
    hsize = _HEADER[bits].size
    sizes = hsize + ((ndeltas * widths + 7) >> 3)
    starts = (np.cumsum(sizes) - sizes) * 8  # bit offsets of the blocks
    total = int(sizes.sum())
    # room for the (zero) padding deltas of the last block past the end
    words = np.zeros(total // 8 + 2 + block_size, dtype=np.uint64)
    _write_headers(words, starts, (ndeltas, widths, mins, rows[:, 0]), bits)
    body = starts + hsize * 8
    live = widths > 0
    if live.any():
        if not live.all():
            body, widths, adj = body[live], widths[live], adj[live]
        shape = adj.shape
        top = SCRATCH.take("t.top", adj.size, np.uint64).reshape(shape)
        np.left_shift(adj, (64 - widths).astype(np.uint64)[:, None], out=top)
        pos = SCRATCH.take("t.pos", adj.size, np.int64).reshape(shape)
        np.multiply(np.arange(shape[1], dtype=np.int64), widths[:, None], out=pos)
        pos += body[:, None]
        scatter_top(words, pos.reshape(-1), top.reshape(-1))
    return words_to_bytes(words, total)


def _blocks(v: np.ndarray, per_block: int, bits: int) -> tuple[np.ndarray, ...]:
    """The blocks as rows: (values, delta counts, minimum deltas, bit widths, packed deltas).

    The last block is padded with its last value; its padding deltas are zero in the packed
    deltas and left out of its minimum. A block without deltas has the minimum MAX_VALUE and
    width 0, as Java writes it. The arrays are work arrays of this thread (`Scratch`).
    """
    n = v.size
    nblocks = -(-n // per_block)
    if n == nblocks * per_block:
        rows = v.reshape(nblocks, per_block)
    else:
        flat = SCRATCH.take(f"t.rows{bits}", nblocks * per_block, v.dtype)
        rows = flat.reshape(nblocks, per_block)
        flat[:n] = v
        flat[n:] = v[-1]
    ndeltas = np.full(nblocks, per_block - 1, dtype=np.int64)
    last = n - (nblocks - 1) * per_block - 1  # deltas of the last block
    ndeltas[-1] = last
    deltas = SCRATCH.take(f"t.deltas{bits}", nblocks * (per_block - 1), v.dtype)
    deltas = deltas.reshape(nblocks, per_block - 1)
    np.subtract(rows[:, 1:], rows[:, :-1], out=deltas)  # wraps like Java int/long arithmetic
    mins = deltas.min(axis=1)
    if last < per_block - 1:
        mins[-1] = deltas[-1, :last].min() if last else np.iinfo(v.dtype).max
    deltas -= mins[:, None]
    deltas[-1, last:] = 0
    adj = deltas.view(np.uint32 if bits == 32 else np.uint64)
    return rows, ndeltas, mins, bit_length(adj.max(axis=1)), adj


def _write_headers(words: np.ndarray, starts: np.ndarray, fields: tuple, bits: int) -> None:
    """``i32 deltaCount, i32 bitWidth, minDelta, firstValue`` at each block start."""
    udt = np.uint32 if bits == 32 else np.uint64
    ndeltas, widths, mins, firsts = fields
    counts = (ndeltas.astype(np.uint64) << np.uint64(32)) | widths.astype(np.uint64)
    mins, firsts = mins.view(udt).astype(np.uint64), firsts.view(udt).astype(np.uint64)
    tail = [(mins << np.uint64(32)) | firsts] if bits == 32 else [mins, firsts]
    if not np.any(starts & 63):  # word-aligned blocks (block sizes that are multiples of 64)
        at = starts >> 6
        for i, part in enumerate([counts, *tail]):
            words[at + i] = part
        return
    parts = np.stack([counts, *tail], axis=1)
    positions = starts[:, None] + np.arange(parts.shape[1], dtype=np.int64) * 64
    scatter_words(words, positions.reshape(-1), 64, parts.reshape(-1))


def decode_ts2diff(buf: bytes | memoryview, bits: int, count: int | None = None) -> np.ndarray:
    """Decode `count` values (all blocks until the buffer ends if None) as int32/int64."""
    data = bytes(buf)
    header = _HEADER[bits]
    hsize = header.size
    size = len(data)
    pos = 0
    got = 0
    want = count if count is not None else -1
    blocks: list[tuple[int, int, int, int, int, int]] = []
    unpack = header.unpack_from
    while pos < size and got != want:
        if size - pos < hsize:
            raise corrupt(pos, f"TS_2DIFF block header needs {hsize} bytes, {size - pos} left")
        nd, width, mind, first = unpack(data, pos)
        if nd < 0 or nd > MAX_BLOCK_DELTAS:
            raise corrupt(pos, f"TS_2DIFF block with {nd} deltas")
        if width < 0 or width > bits:
            raise corrupt(pos + 4, f"TS_2DIFF bit width {width} (max {bits})")
        body = (nd * width + 7) // 8
        if body > size - pos - hsize:
            raise corrupt(pos, f"TS_2DIFF block needs {body} bytes, {size - pos - hsize} left")
        take = nd + 1 if want < 0 else min(nd + 1, want - got)
        blocks.append((pos + hsize, width, mind, first, take, nd))
        got += take
        pos += hsize + body
    if count is not None and got < count:
        raise corrupt(pos, f"TS_2DIFF stream holds {got} of {count} values")
    return _expand(data, blocks, bits, got)


def _expand(data: bytes, blocks: list, bits: int, total: int) -> np.ndarray:
    sdt = np.int32 if bits == 32 else np.int64
    if total == 0:
        return np.zeros(0, dtype=sdt)
    meta = np.array(blocks, dtype=np.int64)
    body_at, widths, mins, firsts, takes = (meta[:, i] for i in range(5))
    nblocks = len(blocks)
    starts = np.cumsum(takes) - takes
    block_of = np.repeat(np.arange(nblocks), takes)
    k = np.arange(total, dtype=np.int64) - starts[block_of]  # 0 = first value
    dw = widths[block_of]
    positions = body_at[block_of] * 8 + (k - 1) * dw
    is_delta = k > 0
    words = padded(data)
    packed = np.zeros(total, dtype=np.uint64)
    sel = is_delta & (dw > 0)
    if sel.any():
        packed[sel] = gather_bits(words, positions[sel], dw[sel])
    steps = packed.view(np.int64) + mins[block_of]  # wraps mod 2**64
    steps[~is_delta] = firsts
    run = np.cumsum(steps)
    base = run[starts] - firsts
    out = run - base[block_of]
    return out.astype(sdt)
