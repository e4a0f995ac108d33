"""GORILLA (v2: Java `GorillaEncoderV2` and its Int/Long/SinglePrecision/DoublePrecision
subclasses) for INT32/DATE, INT64/TIMESTAMP, FLOAT and DOUBLE.

Bit stream, MSB-first: the first value's raw bits, then per value the XOR with the previous
one: ``0`` (XOR zero), ``10`` + significant bits in the stored window, or ``11`` + leading
zeros (5/6 bits) + significant bits - 1 (5/6 bits) + the significant bits (new window). The
page ends with the ENDING value encoded the same way (Integer/Long.MIN_VALUE, the canonical
float/double NaN), then zero padding up to and including one more byte boundary.

Our encoder picks a window per block of `BLOCK` records (`_windows`) and writes repeated
values as ``0`` records in runs of `MIN_ZERO_RUN` or more or in blocks where they are
frequent, shorter runs among changing values as ``10`` + zero bits (`_zero_records`), which
keeps the records of changing data on one stride for the decoder and for LZ4. The decoder
(`gorilla_decode.py`) reads any valid stream.
"""

from __future__ import annotations

import numpy as np

from .bitpack import SCRATCH, bit_length, scatter_top, words_to_bytes
from .errors import UnencodableValuesError
from .gorilla_decode import FIELD_BITS, decode_gorilla

__all__ = ["BLOCK", "decode_gorilla", "encode_gorilla", "gorilla_ending"]

BLOCK = 128  # records per window block
SHRINK_BITS = 4  # a block narrower than the window by this many bits gets its own window
DENSE_ZEROS = 4  # a block with at least 1/DENSE_ZEROS repeats writes every repeat as '0'
MIN_ZERO_RUN = 8  # elsewhere only runs of this many repeats are written as '0' records
_ENDING = {32: 0x80000000, 64: 0x8000000000000000}  # Integer / Long.MIN_VALUE
_ENDING_FLOAT = {32: 0x7FC00000, 64: 0x7FF8000000000000}  # canonical NaN
_U64 = np.uint64


def gorilla_ending(bits: int, is_float: bool) -> int:
    """The ENDING marker's bit pattern for a 32/64-bit int or float stream."""
    return (_ENDING_FLOAT if is_float else _ENDING)[bits]


def encode_gorilla(values: np.ndarray, bits: int, is_float: bool) -> bytes:
    """Encode int32/int64 (or float32/float64 with `is_float`) values; flushed.

    Raises UnencodableValuesError when a value equals the ENDING marker (it would end the page
    early in the official readers).
    """
    udt = np.uint32 if bits == 32 else np.uint64
    u = np.ascontiguousarray(values).view(udt)
    n = u.size
    if n == 0:
        return b""
    ending = gorilla_ending(bits, is_float)
    _refuse_marker(u, ending, bits, is_float)
    u64 = u.astype(_U64, copy=False)
    x = np.bitwise_xor(u64[1:], u64[:-1], out=SCRATCH.take("g.x", n - 1, _U64))
    # first value, records (at most 2 + 2f + bits each), ENDING record, padding
    words = np.zeros(((n + 1) * (bits + 14)) // 64 + 3, dtype=_U64)
    words[0] = u64[0] << _U64(64 - bits)
    at, window = _write_records(words, x, bits)
    end = _ending_record(words, int(u64[-1]) ^ ending, window, bits, at)
    return words_to_bytes(words, end // 8 + 1)


def _refuse_marker(u: np.ndarray, ending: int, bits: int, is_float: bool) -> None:
    hits = u == u.dtype.type(ending)
    if hits.any():
        kind = ("FLOAT" if bits == 32 else "DOUBLE") if is_float else f"INT{bits}"
        what = "NaN" if is_float else f"{-(1 << (bits - 1))} (MIN_VALUE)"
        raise UnencodableValuesError(
            "GORILLA",
            kind,
            f"value {what} at index {int(np.argmax(hits))} is the page-ending marker",
        )


def _write_records(words: np.ndarray, x: np.ndarray, bits: int) -> tuple[int, tuple | None]:
    """Write the records of values 1..n-1 after the first value; (end, last window)."""
    m = x.size
    nonzero = x != 0
    live = int(np.count_nonzero(nonzero))
    if not live:  # a constant page: all '0' records
        return bits + m, None
    zero_record = _zero_records(nonzero) if live < m else None
    starts, lead, trail = _windows(x, nonzero, bits)
    sig = bits - lead - trail
    f = FIELD_BITS[bits]
    # per record from the first window on (before it there are only '0' records)
    first = int(starts[0])
    heads = starts - first
    counts = np.diff(np.append(heads, m - first))
    length = np.repeat(sig + 2, counts)
    length[heads] += 2 * f
    zero = None if zero_record is None else zero_record[first:]
    if zero is not None:
        length[zero] = 1
    pos = np.cumsum(length, out=SCRATCH.take("g.pos", m - first, np.int64))
    end = int(pos[-1]) + bits + first
    pos -= length
    pos += bits + first
    _write_headers(words, pos[heads], lead, sig, f)
    pos[heads] += 2 + 2 * f  # the payload field of a '11' record follows its header
    # the payload top-aligned is x << lead (bits beyond the window are zero); a '10' record
    # of up to 62 significant bits is one field '10' + payload, others have the payload
    # alone (after the '11' header or the '10' bits)
    top = np.left_shift(
        x[first:],
        np.repeat(lead + (64 - bits), counts).view(_U64),
        out=SCRATCH.take("g.top", m - first, _U64),
    )
    heads_top = top[heads]
    top >>= _U64(2)
    top |= _U64(1 << 63)
    top[heads] = heads_top
    if zero is not None:
        top[zero] = 0
    if sig.max() > 62:  # 63- and 64-bit '10' records: the '10' bits as a field of their own
        split = np.repeat(sig > 62, counts)
        split[heads] = False
        if zero is not None:
            split &= ~zero
        at = pos[split]
        top[split] = np.left_shift(
            x[first:][split], np.repeat(lead + (64 - bits), counts)[split].view(_U64)
        )
        pos[split] += 2
        scatter_top(words, at, np.full(at.size, 1 << 63, dtype=_U64))
    scatter_top(words, pos, top)
    return end, (int(lead[-1]), int(trail[-1]))


def _zero_records(nonzero: np.ndarray) -> np.ndarray:
    """Which zero XORs become '0' records (the others are '10' + zero bits).

    A repeat is a '0' record when it is one of a run of MIN_ZERO_RUN or more, when its block
    repeats often (1 in DENSE_ZEROS or more) or when no window is set yet. Short runs of
    repeats in changing data cost a stride each instead: the records stay on one stride,
    which keeps the decoder's runs long and LZ4's matches aligned.
    """
    zero = ~nonzero
    m = zero.size
    edges = np.diff(zero.view(np.int8), prepend=0, append=0)
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    short = (ends - starts < MIN_ZERO_RUN) & (starts > 0)  # (no window before a change)
    if not short.any():
        return zero
    block_starts = np.arange(0, m, BLOCK)
    repeats = np.add.reduceat(zero, block_starts, dtype=np.int64) * DENSE_ZEROS
    sizes = np.minimum(BLOCK, m - block_starts)
    dense = np.repeat(repeats >= sizes, sizes)
    mark = np.zeros(m + 1, dtype=np.int64)
    np.add.at(mark, starts[short], 1)
    np.add.at(mark, ends[short], -1)
    return zero & ~((np.cumsum(mark[:-1]) > 0) & ~dense)


def _windows(x: np.ndarray, nonzero: np.ndarray, bits: int) -> tuple[np.ndarray, ...]:
    """Where windows switch (record indexes) and the windows' leading and trailing zeros.

    Per block of BLOCK records: a block whose XORs do not fit the current window widens it
    to cover both; a block whose XORs fit a window SHRINK_BITS or more narrower switches to
    its own. A switch happens at the block's first non-zero XOR.
    """
    m = x.size
    block_starts = np.arange(0, m, BLOCK)
    either = np.bitwise_or.reduceat(x, block_starts)
    live = np.flatnonzero(either)
    either = either[live]
    leads = (bits - bit_length(either)).tolist()
    trails = (bit_length(either & (~either + _U64(1))) - 1).tolist()
    switches, out_lead, out_trail = [0], [leads[0]], [trails[0]]
    cur_lead, cur_trail = leads[0], trails[0]
    for k in range(1, len(leads)):
        lead, trail = leads[k], trails[k]
        if lead < cur_lead or trail < cur_trail:
            cur_lead, cur_trail = min(lead, cur_lead), min(trail, cur_trail)
        elif lead + trail - cur_lead - cur_trail >= SHRINK_BITS:
            cur_lead, cur_trail = lead, trail
        else:
            continue
        switches.append(k)
        out_lead.append(cur_lead)
        out_trail.append(cur_trail)
    # the switch is at the first non-zero XOR of its block
    blocks = live[switches]
    padded = np.zeros(block_starts.size * BLOCK, dtype=bool)
    padded[:m] = nonzero
    firsts = blocks * BLOCK + np.argmax(padded.reshape(-1, BLOCK)[blocks], axis=1)
    return (
        firsts,
        np.array(out_lead, dtype=np.int64),
        np.array(out_trail, dtype=np.int64),
    )


def _write_headers(words: np.ndarray, pos: np.ndarray, lead, sig, f: int) -> None:
    header = (0b11 << (2 * f)) | (lead << f) | (sig - 1)
    scatter_top(words, pos, header.astype(_U64) << _U64(64 - 2 - 2 * f))


def _ending_record(words: np.ndarray, xor: int, window: tuple | None, bits: int, at: int) -> int:
    """Write the ENDING record (the marker XOR the last value) the Java way; its end."""
    f = FIELD_BITS[bits]
    lead = bits - xor.bit_length()
    trail = (xor & -xor).bit_length() - 1
    if window is not None and lead >= window[0] and trail >= window[1]:
        sig = bits - window[0] - window[1]
        width, value = 2 + sig, (0b10 << sig) | (xor >> window[1])
    else:
        sig = bits - lead - trail
        header = (0b11 << (2 * f)) | (lead << f) | (sig - 1)
        width, value = 2 + 2 * f + sig, (header << sig) | (xor >> trail)
    # at most 78 bits: OR them into the (zero) words they span
    k, off = at >> 6, at & 63
    span = value << (192 - off - width)
    for i in range(3):
        part = (span >> (128 - 64 * i)) & 0xFFFFFFFFFFFFFFFF
        if part:
            words[k + i] |= _U64(part)
    return at + width
