"""GORILLA (v2: Java `GorillaEncoderV2` and its Int/Long/SinglePrecision/DoublePrecision
subclasses) for INT32/DATE, INT64/TIMESTAMP, FLOAT and DOUBLE.

Bit stream, MSB-first: the first value's raw bits, then per value the XOR with the previous
one: ``0`` (XOR zero), ``10`` + significant bits in the stored window, or ``11`` + leading
zeros (5/6 bits) + significant bits - 1 (5/6 bits) + the significant bits (new window). The
page ends with the ENDING value encoded the same way (Integer/Long.MIN_VALUE, the canonical
float/double NaN), then zero padding up to and including one more byte boundary.

Our encoder writes a stream any Gorilla decoder reads, shaped for fast decoding: one ``11``
record that sets a window wide enough for every XOR of the page, then only ``10`` records
(a zero XOR is ``10`` + zero bits). Every record after the first then has the same length,
so decoding is a few vector operations. A constant page is all ``0`` records. Streams of
any other shape (the official writers') go through a general, slower decoder.
"""

from __future__ import annotations

import numpy as np

from .bitpack import gather_bits, padded, scatter_words, words_to_bytes
from .bitreader import BitReader
from .errors import UnencodableValuesError, corrupt

__all__ = ["decode_gorilla", "encode_gorilla", "gorilla_ending"]

# bits -> (value bits, leading-zero field bits, significant-bits field bits)
_FIELDS = {32: 5, 64: 6}
_ENDING = {32: 0x80000000, 64: 0x8000000000000000}  # Integer / Long.MIN_VALUE
_ENDING_FLOAT = {32: 0x7FC00000, 64: 0x7FF8000000000000}  # canonical NaN


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
    u64 = u.astype(np.uint64)
    x = u64[1:] ^ u64[:-1]
    either = int(np.bitwise_or.reduce(x)) if n > 1 else 0
    # first value, the records of values 1..n-1, the ENDING record, padding to one more byte
    size = (n + 1) * (bits + 14)
    words = np.zeros(size // 64 + 2, dtype=np.uint64)
    words[0] = u64[0] << np.uint64(64 - bits)
    window = None
    at = bits
    if either:
        lead = bits - either.bit_length()
        trail = (either & -either).bit_length() - 1
        window = (lead, trail)
        at = _window_records(words, x, bits, lead, trail)
    else:
        at += n - 1  # '0' records: zero bits
    for p, w, v in _record(int(u64[-1]) ^ ending, window, bits, at):
        scatter_words(words, np.array([p]), w, np.array([v], np.uint64))
        at = p + w
    return words_to_bytes(words, at // 8 + 1)


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


def _window_records(words: np.ndarray, x: np.ndarray, bits: int, lead: int, trail: int) -> int:
    """Write records 1..n-1: one '11' record setting the window, then '10' records; their end."""
    f = _FIELDS[bits]
    sig = bits - lead - trail
    payload = x >> np.uint64(trail)
    header = (0b11 << (2 * f)) | (lead << f) | (sig - 1)
    p = bits
    first = p + 2 + 2 * f + sig
    scatter_words(
        words,
        np.array([p, p + 2 + 2 * f]),
        np.array([2 + 2 * f, sig]),
        np.array([header, int(payload[0])], dtype=np.uint64),
    )
    stride = 2 + sig
    m = x.size - 1
    starts = np.arange(first, first + m * stride, stride, dtype=np.int64)
    if stride <= 64:
        payload[1:] |= np.uint64(2 << sig)
        scatter_words(words, starts, stride, payload[1:])
    else:
        scatter_words(words, starts, 2, np.full(m, 2, np.uint64))
        scatter_words(words, starts + 2, sig, payload[1:])
    return first + m * stride


def _record(
    xor: int, window: tuple[int, int] | None, bits: int, at: int
) -> list[tuple[int, int, int]]:
    """(position, width, value) fields of one non-zero-XOR record written the Java way."""
    f = _FIELDS[bits]
    lead = bits - xor.bit_length()
    trail = (xor & -xor).bit_length() - 1
    if window is not None and lead >= window[0] and trail >= window[1]:
        sig = bits - window[0] - window[1]
        return [(at, 2, 0b10), (at + 2, sig, xor >> window[1])]
    sig = bits - lead - trail
    header = (0b11 << (2 * f)) | (lead << f) | (sig - 1)
    return [(at, 2 + 2 * f, header), (at + 2 + 2 * f, sig, xor >> trail)]


def decode_gorilla(buf: bytes, bits: int, count: int) -> np.ndarray:
    """`count` values as uint32/uint64 bit patterns (the caller views them as its dtype)."""
    udt = np.uint32 if bits == 32 else np.uint64
    if count == 0:
        return np.zeros(0, dtype=udt)
    nbits = len(buf) * 8
    if nbits < bits + count - 1:
        raise corrupt(len(buf), f"GORILLA stream of {len(buf)} bytes cannot hold {count} values")
    words = padded(buf)
    fast = _decode_regular(words, nbits, bits, count)
    if fast is not None:
        return fast.astype(udt)
    return _decode_general(buf, bits, count).astype(udt)


def _decode_regular(words: np.ndarray, nbits: int, bits: int, count: int) -> np.ndarray | None:
    """Decode a stream of our writer's shape (see the module doc), or None if it is not one."""
    first = gather_bits(words, np.array([0]), bits)
    if count == 1:
        return first
    f = _FIELDS[bits]
    p = bits
    if int(gather_bits(words, np.array([p]), 1)[0]) == 0:  # constant page?
        zeros = np.unpackbits(words[p // 8 : (p + count - 1 + 7) // 8 + 1])
        if not zeros[p % 8 : p % 8 + count - 1].any():
            return np.repeat(first, count)
        return None
    head = int(gather_bits(words, np.array([p]), 2 + 2 * f)[0])
    if head >> (2 * f) != 0b11:
        return None
    lead = (head >> f) & ((1 << f) - 1)
    sig = (head & ((1 << f) - 1)) + 1
    trail = bits - lead - sig
    if trail < 0:
        raise corrupt(p // 8, f"GORILLA window of {lead} leading and {sig} significant bits")
    stride = 2 + sig
    p1 = p + 2 + 2 * f + sig  # record 2
    last_end = p1 + (count - 2) * stride
    if last_end > nbits:
        return None
    starts = p1 + np.arange(count - 2, dtype=np.int64) * stride
    if stride <= 64:
        fields = gather_bits(words, starts, stride)
        if count > 2 and np.any(fields >> np.uint64(sig) != 2):
            return None
        payload = fields & np.uint64((1 << sig) - 1)
    else:
        ctrl = gather_bits(words, starts, 2)
        if np.any(ctrl != 2):
            return None
        payload = gather_bits(words, starts + 2, sig)
    xors = np.empty(count, dtype=np.uint64)
    xors[0] = first[0]
    xors[1] = gather_bits(words, np.array([p + 2 + 2 * f]), sig)[0]
    xors[2:] = payload
    xors[1:] <<= np.uint64(trail)
    return np.bitwise_xor.accumulate(xors)


def _decode_general(buf: bytes, bits: int, count: int) -> np.ndarray:
    """Record-by-record decoding of any valid stream (official writers use every path)."""
    f = _FIELDS[bits]
    fmask = (1 << f) - 1
    reader = BitReader(buf, "GORILLA")
    read = reader.read
    value = read(bits)
    out = [value]
    append = out.append
    lead = trail = -1  # no window yet
    sig = 0
    for _ in range(count - 1):
        if not read(1):
            append(value)
            continue
        if read(1):
            head = read(2 * f)
            lead, sig = head >> f, (head & fmask) + 1
            trail = bits - lead - sig
            if trail < 0:
                raise corrupt(reader.pos // 8, f"GORILLA window of {lead}+{sig} bits")
        elif lead < 0:
            raise corrupt(reader.pos // 8, "GORILLA '10' record before any window")
        value ^= read(sig) << trail
        append(value)
    return np.array(out, dtype=np.uint64)
