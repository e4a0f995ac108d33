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

import threading

import numpy as np

__all__ = [
    "be_words",
    "bit_length",
    "gather_bits",
    "gather_words",
    "pack_fixed",
    "padded",
    "scatter_bits",
    "scatter_top",
    "scatter_words",
    "unpack_fixed",
    "words_to_bytes",
]

_U64 = np.uint64
_64 = np.uint64(64)
_BE = np.dtype(">u8")
_SCRATCH_LIMIT = 1 << 20  # elements; larger work arrays are not kept


class Scratch(threading.local):
    """Work arrays kept per thread and reused from page to page.

    Fresh multi-page temporaries are costly: freeing them lets malloc hand the pages back to
    the system and the next page faults them in again (a third of the encoding time in
    measurements). Hot paths take their temporaries from here instead. A taken array is only
    valid until the same name is taken again by the same thread; never return one.
    """

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.buffers: dict[str, tuple[bytearray, np.ndarray]] = {}

    def take(self, name: str, n: int, dtype: type | np.dtype) -> np.ndarray:
        """An uninitialised array of `n` elements (`name` always has the same dtype)."""
        have = self.arrays.get(name)
        if have is not None and have.size >= n:
            return have[:n]
        if n > _SCRATCH_LIMIT:
            return np.empty(n, dtype)
        fresh = np.empty(max(n, 1024) * 2, dtype)
        self.arrays[name] = fresh
        return fresh[:n]

    def take_bytearray(self, name: str, n: int) -> tuple[bytearray, np.ndarray]:
        """A bytearray of at least `n` bytes (stale contents) and a uint8 view of it."""
        have = self.buffers.get(name)
        if have is not None and len(have[0]) >= n:
            return have
        buf = bytearray(max(n, 1024) * 2)
        pair = (buf, np.frombuffer(buf, dtype=np.uint8))
        if n <= _SCRATCH_LIMIT:
            self.buffers[name] = pair
        return pair


SCRATCH = Scratch()


def _settle_allocator() -> None:
    """Free one 4 MiB block, so that glibc's malloc keeps freed memory of page-sized arrays.

    glibc hands the top of its heap back to the system once more than 128 KiB of it is free,
    and the next page of values faults those pages in again, which costs a decoder about as
    much as its own work. Freeing a block served by mmap raises that limit to twice the
    block's size (the dynamic mmap threshold, mallopt(3)), which any process that frees a
    large array gets sooner or later; doing it at import makes codec speed not depend on
    that history. Elsewhere (musl, macOS, Windows) this is one short-lived allocation.
    """
    np.empty(4 << 20, dtype=np.uint8)


_settle_allocator()


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
    n = pos.size
    at = np.right_shift(pos, 6, out=SCRATCH.take("g.at", n, np.int64))
    tmp = np.bitwise_and(pos, 63, out=SCRATCH.take("g.tmp", n, np.int64))
    shift = tmp.view(_U64)
    out = np.take(words, at)
    np.left_shift(out, shift, out=out)
    at += 1
    part = np.take(words, at, out=SCRATCH.take("g.part", n, _U64))
    np.subtract(64, tmp, out=tmp)
    np.bitwise_or(out, np.right_shift(part, shift, out=part), out=out)
    if np.ndim(widths) == 0:
        return np.right_shift(out, _U64(64 - int(widths)), out=out)
    np.subtract(64, widths, out=tmp)
    return np.right_shift(out, shift, out=out)


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

    Fields must not overlap each other or bits already set, and values must fit their width.
    `words` needs one word past the word where the last field ends. Any order of fields.
    """
    pos = np.asarray(positions, dtype=np.int64)
    n = pos.size
    if n == 0:
        return
    v = np.asarray(values)
    if v.dtype.kind == "i":
        v = v.view(f"u{v.dtype.itemsize}")
    top = SCRATCH.take("s.top", n, _U64)
    tmp = SCRATCH.take("s.tmp", n, np.int64)
    if np.ndim(widths) == 0:
        np.left_shift(v, _U64(64 - int(widths)), out=top)
    else:
        np.subtract(64, widths, out=tmp)
        np.left_shift(v, tmp.view(_U64), out=top)
    scatter_top(words, pos, top)


def scatter_top(words: np.ndarray, positions: np.ndarray, top: np.ndarray) -> None:
    """`scatter_words` for fields given top-aligned (the field's first bit as bit 63 of a
    uint64, the bits after the field zero), which needs no widths."""
    pos = np.asarray(positions, dtype=np.int64)
    n = pos.size
    at = np.right_shift(pos, 6, out=SCRATCH.take("s.at", n, np.int64))
    tmp = np.bitwise_and(pos, 63, out=SCRATCH.take("s.shift", n, np.int64))
    shift = tmp.view(_U64)
    part = np.right_shift(top, shift, out=SCRATCH.take("s.part", n, _U64))
    np.add.at(words, at, part)
    np.subtract(64, tmp, out=tmp)
    np.left_shift(top, shift, out=part)
    at += 1
    np.add.at(words, at, part)


def scatter_bits(
    positions: np.ndarray, widths: np.ndarray | int, values: np.ndarray, nbytes: int
) -> np.ndarray:
    """Write each value's low `width` bits MSB-first at its bit position; uint8[nbytes].

    Fields must not overlap. Bytes no field touches are zero. Values must fit their width.
    """
    pos = np.asarray(positions, dtype=np.int64)
    last = int(pos.max()) >> 6 if pos.size else 0  # width-0 fields may sit past the end
    words = np.zeros(max((nbytes + 7) // 8, last + 1) + 1, dtype=_U64)
    scatter_words(words, pos, widths, values)
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
