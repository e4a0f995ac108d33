"""Decoding GORILLA v2 streams of any writer (format: see `gorilla.py`).

Records have data-dependent lengths, so their boundaries are found in order, but not bit by
bit: the stream is expanded to one byte per bit once, and the boundaries are found a run at
a time with C-speed byte scans (`bytes.find` on strided slices). Runs are what writers make:

* a *stride run*: consecutive ``10`` records under one window lie `2 + significant` bits
  apart, so their control bits are every stride-th byte of the expansion; the run ends at the
  first ``0`` or ``11`` control on that lattice (found a doubling chunk at a time);
* a *zero run*: consecutive ``0`` records are consecutive zero bits, up to the next 1 bit;
* *dense mode*, where short runs of both kinds alternate (held values): a regular expression
  for a whole ``10`` record of the current stride replaces each by one byte over a span of
  the expansion, in one C pass; the records of the span are the bytes up to the first one
  it could not replace (a ``11`` record, or a record cut by the span's end);
* a ``11`` record is read on its own (its header gives the next window).

A page of the official writers' random-walk doubles has a few dozen runs per thousand values;
our writer keeps changing data in long stride runs. The payloads of all records are then read
in one vectorised gather, shifted into place and XOR-accumulated.
"""

from __future__ import annotations

import functools
import re

import numpy as np

from .bitpack import SCRATCH, be_words, gather_words
from .errors import corrupt

__all__ = ["FIELD_BITS", "decode_gorilla"]

FIELD_BITS = {32: 5, 64: 6}  # bits of the leading-zero and significant-bit fields
_FIRST_CHUNK = 32  # records of a stride run scanned at once, doubled while the run goes on
_DENSE_SPAN = 512  # least bits read at once in dense mode (adapted to the records found)


def decode_gorilla(buf: bytes, bits: int, count: int) -> np.ndarray:
    """`count` values as uint32/uint64 bit patterns (the caller views them as its dtype)."""
    udt = np.uint32 if bits == 32 else np.uint64
    if count == 0:
        return np.zeros(0, dtype=udt)
    nbits = len(buf) * 8
    if nbits < bits + count - 1:
        raise corrupt(len(buf), f"GORILLA stream of {len(buf)} bytes cannot hold {count} values")
    words = be_words(buf)
    xors = np.zeros(count, dtype=np.uint64)
    xors[0] = words[0] >> np.uint64(64 - bits)
    if count > 1:
        _fill(xors[1:], words, bits, *_scan(buf, bits, count - 1))
    out = np.bitwise_xor.accumulate(xors, out=xors)
    return out.astype(udt, copy=False)


def _scan(buf: bytes, bits: int, m: int) -> tuple[list[int], list[int], list]:
    """Find the record kinds of records 0..m-1 (values 1..m).

    Returns the '0' runs as a flat list (first record, length, ...), the '11' records as a
    flat list (record, leading zeros, significant bits, ...) and the spans read in dense mode
    as (first record, kinds) with a byte per record, b"A" for '10' and 0 for '0'; every other
    record is a '10' record of the window last set. Raises EncodingError when the stream ends
    inside a record or is malformed.
    """
    f = FIELD_BITS[bits]
    head_bits = 2 * f
    fmask = (1 << f) - 1
    nbits = len(buf) * 8
    end = nbits + 80  # zero flags up to `end` (past the longest record); stale after it
    flags, view = SCRATCH.take_bytearray("d.flags", end)
    view[:nbits] = np.unpackbits(np.frombuffer(buf, dtype=np.uint8))  # a byte per bit
    view[nbits:end] = 0
    find = flags.find
    whole = memoryview(flags)
    zeros: list[int] = []
    windows: list[int] = []
    spans: list[tuple[int, bytes]] = []
    p = bits
    i = 0
    stride = 0
    chunk = _FIRST_CHUNK
    dense = False  # '0' records are frequent: read spans with a regular expression
    budget = _DENSE_SPAN
    while i < m and p < nbits:
        if not flags[p]:  # a run of '0' records
            j = find(1, p, min(p + m - i, end))
            z = m - i if j < 0 else j - p
            zeros += (i, z)
            p += z
            i += z
            continue
        if flags[p + 1]:  # '11': a new window
            q = p + 2
            byte = q >> 3
            three = int.from_bytes(buf[byte : byte + 3].ljust(3, b"\0"), "big")
            head = three >> (24 - (q & 7) - head_bits)
            lead = (head >> f) & fmask
            sig = (head & fmask) + 1
            if lead + sig > bits:
                raise corrupt(
                    p // 8, f"GORILLA window of {lead} leading and {sig} significant bits"
                )
            windows += (i, lead, sig)
            stride = 2 + sig
            p = q + head_bits + sig
            i += 1
            continue
        if not stride:
            raise corrupt(p // 8, "GORILLA '10' record before any window")
        if dense:
            span = min(p + budget, end)
            kinds = _ten_record(stride).sub(b"A", whole[p:span])
            k = kinds.find(1)  # the first record that is not '0' or a whole '10' record
            k = min(len(kinds) if k < 0 else k, m - i)
            if k == 0:  # a '10' record longer than the span
                dense = span < end
                budget *= 2
                continue
            tens = kinds.count(b"A", 0, k)
            spans.append((i, kinds[:k]))
            used = k + tens * (stride - 1)
            p += used
            i += k
            # stay while repeats are frequent and windows do not change every few records
            dense = 4 * (k - tens) >= k and (k >= 64 or p >= nbits or not flags[p + 1])
            budget = 2 * budget if used > budget // 2 else max(_DENSE_SPAN, 2 * used)
            continue
        # stride runs: control bits '1','0' every `stride` bits, up to a '0' or '11' record;
        # the '0' runs between stride runs of one window are taken in passing
        short = 0
        while True:
            left = m - i
            k = 1
            if left > 1 and flags[p + stride] and not flags[p + stride + 1]:
                k = 2  # longer than one: scan on, a chunk at a time
                while k < left:
                    c = min(chunk, left - k)
                    q = p + k * stride
                    span = min(q + c * stride, end - 1)
                    ones = flags[q:span:stride]
                    a = ones.find(0)
                    b = flags[q + 1 : span + 1 : stride].find(1)
                    stop = len(ones) if a < 0 else a
                    if 0 <= b < stop:
                        stop = b
                    k += stop
                    if stop < c:
                        break
                    chunk = 2 * c
                chunk = max(_FIRST_CHUNK, k)  # runs tend to be alike
            p += k * stride
            i += k
            if i == m or p >= nbits or flags[p]:
                break
            j = find(1, p, min(p + m - i, end))  # '0' records up to the next 1 bit
            z = m - i if j < 0 else j - p
            zeros += (i, z)
            p += z
            i += z
            if i == m or p >= nbits or flags[p + 1]:  # not a '10' record next
                break
            short = short + 1 if k < 4 and z < 16 else 0
            if short == 8:  # short runs of both kinds: switch to dense mode
                dense = True
                break
    if i < m or p > nbits:
        raise corrupt(nbits // 8, "GORILLA stream ends inside a value")
    return zeros, windows, spans


@functools.cache
def _ten_record(stride: int) -> re.Pattern[bytes]:
    """A whole '10' record of `stride` bits in the byte-per-bit expansion."""
    return re.compile(rb"\x01\x00.{%d}" % (stride - 2), re.DOTALL)


def _fill(
    xors: np.ndarray,
    words: np.ndarray,
    bits: int,
    zeros: list[int],
    windows: list[int],
    spans: list[tuple[int, bytes]],
) -> None:
    """Put the (shifted) XOR of every record into `xors`, given the record kinds."""
    m = xors.size
    if not windows:  # no window ever set: every record is a '0' record
        return
    f = FIELD_BITS[bits]
    win = np.array(windows, dtype=np.int64).reshape(-1, 3)
    starts, lead, sig = win[:, 0], win[:, 1], win[:, 2]
    first = int(starts[0])  # records before the first window are '0' records
    heads = starts - first
    counts = np.diff(np.append(heads, m - first))
    rsig = np.repeat(sig, counts)
    length = np.add(rsig, 2, out=SCRATCH.take("d.len", m - first, np.int64))
    length[heads] += 2 * f
    zero = _zero_mask(zeros, first, m) if zeros else None
    if spans:
        zero = np.zeros(m - first, dtype=bool) if zero is None else zero
        for start, kinds in spans:
            zero[start - first : start - first + len(kinds)] = np.frombuffer(kinds, np.uint8) == 0
    if zero is not None:
        length[zero] = 1
    pos = np.cumsum(length, out=SCRATCH.take("d.pos", m - first, np.int64))
    pos -= length
    pos += bits + 2 + first  # the payloads: after '10' ...
    pos[heads] += 2 * f  # ... or after '11' and the window
    rtrail = np.repeat(bits - lead - sig, counts)
    out = xors[first:]
    if zero is not None:
        live = ~zero
        pos, rsig, rtrail = pos[live], rsig[live], rtrail[live]
    payload = gather_words(words, pos, rsig)
    payload <<= rtrail.astype(np.uint64)
    if zero is None:
        out[:] = payload
    else:
        out[live] = payload


def _zero_mask(zeros: list[int], first: int, m: int) -> np.ndarray:
    """Records first..m-1 that are '0' records, from the flat (start, length) run list."""
    runs = np.array(zeros, dtype=np.int64).reshape(-1, 2)
    run_start = runs[:, 0]
    run_end = run_start + runs[:, 1]
    keep = run_end > first  # runs before the first window lie entirely before it
    run_start, run_end = run_start[keep] - first, run_end[keep] - first
    # alternating lengths: records before run 0, run 0, between runs 0 and 1, run 1, ...
    bounds = np.empty(2 * run_start.size + 2, dtype=np.int64)
    bounds[0] = 0
    bounds[1:-1:2] = run_start
    bounds[2:-1:2] = run_end
    bounds[-1] = m - first
    flags = np.zeros(bounds.size - 1, dtype=bool)
    flags[1::2] = True
    return np.repeat(flags, np.diff(bounds))
