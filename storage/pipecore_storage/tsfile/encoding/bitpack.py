"""MSB-first bit packing as TsFile's Java writer does it (TS_2DIFF, RLE groups, Gorilla).

Everything is vectorised on 64-bit words: a stream of bits is held as uint64 words, word k
holding stream bits 64k..64k+63 with the first of them as its most significant bit (the
big-endian reading of the bytes). `gather_bits` reads many fields at arbitrary bit positions
(two word loads and three shifts per field), `scatter_bits` writes many fields of arbitrary
widths (each field is split over its word and the next, and the parts are added into the
words with one unbuffered `np.add.at` each: fields are disjoint, so adding is OR-ing).
numpy defines shifts by 64 or more as 0, which the code relies on for width-0 fields and
fields that end on a word boundary. Bit 7 of byte 0 is the first bit.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "be_words",
    "bit_length",
    "gather_bits",
    "gather_words",
    "pack_fixed",
    "padded",
    "scatter_bits",
    "scatter_words",
    "unpack_fixed",
    "words_to_bytes",
]

_U64 = np.uint64
_64 = np.uint64(64)
_BE = np.dtype(">u8")


def padded(buf: bytes | memoryview | np.ndarray, extra: int = 16) -> np.ndarray:
    """The bytes of `buf` as uint8 with `extra` zero bytes appended (for `gather_bits`)."""
    raw = buf if isinstance(buf, np.ndarray) else np.frombuffer(buf, dtype=np.uint8)
    out = np.zeros(raw.size + extra, dtype=np.uint8)
    out[: raw.size] = raw
    return out


def be_words(buf: bytes | memoryview | np.ndarray) -> np.ndarray:
    """`buf` (bytes or uint8) as MSB-first uint64 words, zero padded by at least two words."""
    raw = buf if isinstance(buf, np.ndarray) else np.frombuffer(buf, dtype=np.uint8)
    nwords = raw.size // 8 + 2
    out = np.zeros(nwords * 8, dtype=np.uint8)
    out[: raw.size] = raw
    return out.view(_BE).astype(_U64)


def words_to_bytes(words: np.ndarray, nbytes: int) -> bytes:
    """The first `nbytes` bytes of an MSB-first word stream."""
    return words.astype(_BE).view(np.uint8)[:nbytes].tobytes()


def bit_length(x: np.ndarray) -> np.ndarray:
    """Exact bit length of every unsigned value (0 -> 0, 2**63 -> 64), as int64."""
    v = np.asarray(x).astype(_U64, copy=False)
    # the float exponent is the bit length unless rounding carried into the next power of 2
    e = np.minimum(np.frexp(v.astype(np.float64))[1].astype(np.int64), 64)
    low = np.left_shift(_U64(1), np.maximum(e - 1, 0).astype(_U64))
    return e - ((v < low) & (e > 0))


def gather_words(words: np.ndarray, positions: np.ndarray, widths: np.ndarray | int) -> np.ndarray:
    """Read a `width`-bit field (0..64) at each bit position of an MSB-first word stream.

    `words` comes from `be_words` (fields must end at least one word before its end).
    """
    pos = np.asarray(positions, dtype=np.int64)
    at = pos >> 6
    shift = (pos & 63).astype(_U64)
    top = (words[at] << shift) | (words[at + 1] >> (_64 - shift))
    return top >> (_64 - np.asarray(widths).astype(_U64))


def gather_bits(words: np.ndarray, positions: np.ndarray, widths: np.ndarray | int) -> np.ndarray:
    """Read a `width`-bit MSB-first field at each bit position, as uint64.

    `words` is a uint8 array with at least 9 zero bytes past the last field (`padded`).
    Widths are 0..64.
    """
    pos = np.asarray(positions, dtype=np.int64)
    if pos.size == 0:
        return np.zeros(0, dtype=_U64)
    return gather_words(be_words(words), pos, widths)


def scatter_words(
    words: np.ndarray, positions: np.ndarray, widths: np.ndarray | int, values: np.ndarray
) -> None:
    """Add each value's low `width` bits MSB-first at its bit position into `words` (uint64).

    Fields must not overlap each other or bits already set; values must fit their width; a
    field may end in the last word. Any order of fields.
    """
    pos = np.asarray(positions, dtype=np.int64)
    if pos.size == 0:
        return
    top = np.asarray(values).astype(_U64, copy=False) << (
        _64 - np.asarray(widths).astype(_U64, copy=False)
    )
    at = pos >> 6
    shift = (pos & 63).astype(_U64)
    np.add.at(words, at, top >> shift)
    spill = top << (_64 - shift)
    at += 1
    np.add.at(words, at, spill)


def scatter_bits(
    positions: np.ndarray, widths: np.ndarray | int, values: np.ndarray, nbytes: int
) -> np.ndarray:
    """Write each value's low `width` bits MSB-first at its bit position; uint8[nbytes].

    Fields must not overlap. Bytes no field touches are zero. Values must fit their width.
    """
    words = np.zeros((nbytes + 7) // 8 + 1, dtype=_U64)
    scatter_words(words, positions, widths, values)
    return words.astype(_BE).view(np.uint8)[:nbytes].copy()


def pack_fixed(values: np.ndarray, width: int) -> bytes:
    """Pack every value in `width` bits MSB-first (ceil(n*width/8) bytes, zero padded)."""
    n = values.size
    nbytes = (n * width + 7) // 8
    if width == 0 or n == 0:
        return bytes(nbytes)
    v = values.astype(_U64, copy=False)
    if width % 8 == 0:
        k = width // 8
        return v.astype(_BE).view(np.uint8).reshape(n, 8)[:, 8 - k :].tobytes()
    words = np.zeros((n * width) // 64 + 2, dtype=_U64)
    scatter_words(words, np.arange(0, n * width, width, dtype=np.int64), width, v)
    return words_to_bytes(words, nbytes)


def unpack_fixed(buf: np.ndarray, byte_offset: int, width: int, count: int) -> np.ndarray:
    """Unpack `count` `width`-bit MSB-first values starting at `byte_offset` (uint64).

    `buf` is uint8 with at least 9 readable bytes past the packed data (`padded`).
    """
    if width == 0 or count == 0:
        return np.zeros(count, dtype=_U64)
    if width % 8 == 0:
        k = width // 8
        raw = buf[byte_offset : byte_offset + count * k].reshape(count, k)
        full = np.zeros((count, 8), dtype=np.uint8)
        full[:, 8 - k :] = raw
        return full.view(_BE).reshape(-1).astype(_U64)
    positions = byte_offset * 8 + np.arange(count, dtype=np.int64) * width
    return gather_bits(buf, positions, width)
