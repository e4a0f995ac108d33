"""TS_2DIFF (Java `DeltaBinaryEncoder`) for int32 and int64 streams, vectorised.

A stream is a sequence of blocks; a block holds a first value and up to 128 deltas:
``i32 deltaCount, i32 bitWidth, minDelta, firstValue`` (i32 or i64 each, big-endian), then
``ceil(deltaCount*bitWidth/8)`` bytes of ``delta - minDelta`` packed MSB-first.
"""

from __future__ import annotations

import struct

import numpy as np

from .bitpack import bit_length, gather_bits, padded, scatter_bits
from .errors import corrupt

__all__ = ["BLOCK_SIZE", "decode_ts2diff", "encode_ts2diff"]

BLOCK_SIZE = 128  # deltas per block (Java TSFileConfig.deltaBlockSize)
MAX_BLOCK_DELTAS = 1 << 16  # decoder limit: larger blocks are treated as corrupt
_HEADER = {32: struct.Struct(">iiii"), 64: struct.Struct(">iiqq")}
_HEADER_DTYPE = {
    32: np.dtype([("n", ">i4"), ("w", ">i4"), ("min", ">i4"), ("first", ">i4")]),
    64: np.dtype([("n", ">i4"), ("w", ">i4"), ("min", ">i8"), ("first", ">i8")]),
}


def encode_ts2diff(values: np.ndarray, bits: int, block_size: int = BLOCK_SIZE) -> bytes:
    """Encode int32 (`bits`=32) or int64 (`bits`=64) values; the encoder is flushed."""
    sdt = np.int32 if bits == 32 else np.int64
    udt = np.uint32 if bits == 32 else np.uint64
    v = np.ascontiguousarray(values, dtype=sdt)
    n = v.size
    if n == 0:
        return b""
    per_block = block_size + 1
    starts = np.arange(0, n, per_block, dtype=np.int64)
    counts = np.minimum(per_block, n - starts)
    ndeltas = counts - 1
    nblocks = starts.size
    # deltas of every value to its predecessor; a block's first value has none
    deltas = np.empty(n, dtype=sdt)
    deltas[0] = 0
    np.subtract(v[1:], v[:-1], out=deltas[1:])  # wraps like Java int/long arithmetic
    is_delta = np.ones(n, dtype=bool)
    is_delta[starts] = False
    block_of = np.repeat(np.arange(nblocks), counts)
    big = np.iinfo(sdt).max
    masked = np.where(is_delta, deltas, big).astype(sdt)
    mins = np.minimum.reduceat(masked, starts)  # a delta-less block keeps MAX_VALUE
    adj = (deltas - mins[block_of]).view(udt)  # wrapping, as unsigned
    adj = np.where(is_delta, adj, 0).astype(udt)
    widths = bit_length(np.maximum.reduceat(adj, starts))
    head = _HEADER_DTYPE[bits]
    hsize = head.itemsize
    packed_bytes = (ndeltas * widths + 7) // 8
    sizes = hsize + packed_bytes
    ends = np.cumsum(sizes)
    offsets = ends - sizes
    total = int(ends[-1])
    # packed deltas: bit position of delta k of block j
    k = np.arange(n, dtype=np.int64) - starts[block_of] - 1
    dw = widths[block_of]
    sel = is_delta & (dw > 0)
    positions = (offsets[block_of] + hsize) * 8 + k * dw
    out = scatter_bits(positions[sel], dw[sel], adj[sel], total)
    header = np.empty(nblocks, dtype=head)
    header["n"] = ndeltas
    header["w"] = widths
    header["min"] = mins
    header["first"] = v[starts]
    hbytes = header.view(np.uint8).reshape(nblocks, hsize)
    out[(offsets[:, None] + np.arange(hsize)).reshape(-1)] = hbytes.reshape(-1)
    return out.tobytes()


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
