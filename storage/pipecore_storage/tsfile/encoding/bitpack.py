"""MSB-first bit packing as TsFile's Java writer does it (TS_2DIFF, RLE groups, Gorilla).

Everything is vectorised: `gather_bits` reads many fields at arbitrary bit positions,
`scatter_bits` writes many fields of arbitrary widths. Bit 7 of byte 0 is the first bit.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = [
    "bit_length",
    "gather_bits",
    "pack_fixed",
    "padded",
    "scatter_bits",
    "unpack_fixed",
]

_U64 = np.uint64
_BYTE_OFFSETS = np.arange(8, dtype=np.int64)


def padded(buf: bytes | memoryview | np.ndarray, extra: int = 16) -> np.ndarray:
    """The bytes of `buf` as uint8 with `extra` zero bytes appended (for `gather_bits`)."""
    raw = buf if isinstance(buf, np.ndarray) else np.frombuffer(buf, dtype=np.uint8)
    out = np.zeros(raw.size + extra, dtype=np.uint8)
    out[: raw.size] = raw
    return out


def bit_length(x: np.ndarray) -> np.ndarray:
    """Exact bit length of every unsigned value (0 -> 0, 2**63 -> 64), as int64."""
    v = x.astype(np.uint64, copy=True)
    n = np.zeros(v.shape, dtype=np.int64)
    for shift in (32, 16, 8, 4, 2, 1):
        big = v >= _U64(1 << shift)
        n += big * shift
        v = np.where(big, v >> _U64(shift), v)
    return n + (v > 0)


def gather_bits(words: np.ndarray, positions: np.ndarray, widths: np.ndarray | int) -> np.ndarray:
    """Read a `width`-bit MSB-first field at each bit position, as uint64.

    `words` is a uint8 array with at least 9 zero bytes past the last field (`padded`).
    Widths are 0..64.
    """
    pos = np.asarray(positions, dtype=np.int64)
    if pos.size == 0:
        return np.zeros(0, dtype=np.uint64)
    byte = pos >> 3
    shift = (pos & 7).astype(np.uint64)
    win = sliding_window_view(words, 8)
    head = win[byte].view(">u8").reshape(-1).astype(np.uint64)
    tail = words[byte + 8].astype(np.uint64)
    top = (head << shift) | ((tail << shift) >> _U64(8))
    w = np.asarray(widths, dtype=np.int64)
    out = top >> (np.uint64(64) - w.astype(np.uint64)) if np.all(w > 0) else _masked(top, w)
    return out


def _masked(top: np.ndarray, w: np.ndarray) -> np.ndarray:
    safe = np.where(w > 0, w, 1).astype(np.uint64)
    return np.where(w > 0, top >> (np.uint64(64) - safe), np.uint64(0))


def scatter_bits(
    positions: np.ndarray, widths: np.ndarray | int, values: np.ndarray, nbytes: int
) -> np.ndarray:
    """Write each value's low `width` bits MSB-first at its bit position; uint8[nbytes].

    Fields must not overlap. Bytes no field touches are zero. Values must fit their width.
    """
    pos = np.asarray(positions, dtype=np.int64)
    if pos.size == 0:
        return np.zeros(nbytes, dtype=np.uint8)
    w = np.broadcast_to(np.asarray(widths, dtype=np.int64), pos.shape)
    v = np.asarray(values).astype(np.uint64, copy=False)
    keep = w > 0
    if not keep.all():
        pos, w, v = pos[keep], w[keep], v[keep]
    if pos.size > 1 and np.any(pos[1:] < pos[:-1]):
        order = np.argsort(pos, kind="stable")
        pos, w, v = pos[order], w[order], v[order]
    # align each field at the top of a 64-bit word, then split it over words i and i + 1;
    # disjoint bits add without carries, so a sum per word is the OR of its fields
    top = v << (np.uint64(64) - w.astype(np.uint64))
    word = pos >> 6
    shift = (pos & 63).astype(np.uint64)
    head = top >> shift
    spill = np.where(shift > 0, top << ((np.uint64(64) - shift) & np.uint64(63)), np.uint64(0))
    nwords = (nbytes + 7) // 8 + 2
    words = np.zeros(nwords, dtype=np.uint64)
    _sum_into(words, word, head)
    _sum_into(words, word + 1, spill)
    return words.astype(">u8").view(np.uint8)[:nbytes].copy()


def _sum_into(words: np.ndarray, index: np.ndarray, parts: np.ndarray) -> None:
    """words[index] += parts, for non-decreasing `index` (a segmented sum)."""
    starts = np.flatnonzero(np.concatenate(([True], index[1:] != index[:-1])))
    words[index[starts]] += np.add.reduceat(parts, starts)


def pack_fixed(values: np.ndarray, width: int) -> bytes:
    """Pack every value in `width` bits MSB-first (ceil(n*width/8) bytes, zero padded)."""
    n = values.size
    nbytes = (n * width + 7) // 8
    if width == 0 or n == 0:
        return bytes(nbytes)
    v = values.astype(np.uint64, copy=False)
    if width % 8 == 0:
        k = width // 8
        return v.astype(">u8").view(np.uint8).reshape(n, 8)[:, 8 - k :].tobytes()
    if width <= 8:
        bits = (v[:, None] >> np.arange(width - 1, -1, -1, dtype=np.uint64)) & _U64(1)
        return np.packbits(bits.astype(np.uint8).reshape(-1)).tobytes()
    positions = np.arange(n, dtype=np.int64) * width
    return scatter_bits(positions, width, v, nbytes).tobytes()


def unpack_fixed(buf: np.ndarray, byte_offset: int, width: int, count: int) -> np.ndarray:
    """Unpack `count` `width`-bit MSB-first values starting at `byte_offset` (uint64).

    `buf` is uint8 with at least 9 readable bytes past the packed data (`padded`).
    """
    if width == 0 or count == 0:
        return np.zeros(count, dtype=np.uint64)
    if width % 8 == 0:
        k = width // 8
        raw = buf[byte_offset : byte_offset + count * k].reshape(count, k)
        full = np.zeros((count, 8), dtype=np.uint8)
        full[:, 8 - k :] = raw
        return full.view(">u8").reshape(-1).astype(np.uint64)
    positions = byte_offset * 8 + np.arange(count, dtype=np.int64) * width
    return gather_bits(buf, positions, width)
