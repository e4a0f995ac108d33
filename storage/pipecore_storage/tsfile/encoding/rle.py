"""RLE (Java `RleEncoder`: IntRleEncoder / LongRleEncoder), the bit-packing hybrid.

Stream: one or more blocks ``uvar blockLen, u8 bitWidth, runs...``. A run is either
``uvar(count << 1) + value`` (repeat run; the value in ceil(bitWidth/8) bytes, little-endian
for int32, big-endian for int64 as Java writes it) or ``u8 (groups << 1 | 1), u8 lastCount,
groups * bitWidth bytes`` (bit-packed groups of 8 values, MSB-first).

The encoder cuts runs exactly as Java does (a repeat run needs 8 equal values starting at a
group boundary; at most 0x7FFF per run, 63 groups per bit-packed run). For int64 it only
writes repeat runs whose value fits one byte: the C++ reader takes int64 run values as
little-endian and Java writes them big-endian, so only one-byte values read the same in both.
"""

from __future__ import annotations

import numpy as np

from .bitpack import bit_length, gather_bits, pack_fixed, padded
from .errors import corrupt
from .varint import read_uvar, uvar

__all__ = ["decode_rle", "encode_rle"]

MIN_REPEAT = 8  # TSFileConfig.RLE_MIN_REPEATED_NUM
MAX_REPEAT = 0x7FFF  # TSFileConfig.RLE_MAX_REPEATED_NUM
MAX_GROUPS = 63  # TSFileConfig.RLE_MAX_BIT_PACKED_NUM


def encode_rle(values: np.ndarray, bits: int) -> bytes:
    """One RLE block of int32 (`bits`=32; booleans as 0/1) or int64 values."""
    sdt, udt = (np.int32, np.uint32) if bits == 32 else (np.int64, np.uint64)
    v = np.ascontiguousarray(values).astype(sdt, copy=False)
    n = v.size
    if n == 0:
        return uvar(0)
    u = v.view(udt)
    width = max(1, int(bit_length(np.array([u.max()]))[0]))
    allow_runs = bits == 32 or width <= 8
    segments = _segments(v, allow_runs)
    group_values = _group_values(v, segments)
    packed = pack_fixed(group_values, width)
    vbytes = (width + 7) // 8
    parts = [bytes((width,))]
    group = 0
    for seg in segments:
        if seg[0] == "R":
            _, start, count = seg
            value = int(u[start])
            parts.append(uvar(count << 1))
            if bits == 32:
                parts.append(value.to_bytes(8, "little")[:vbytes])
            else:
                parts.append(value.to_bytes(8, "big")[8 - vbytes :])
        else:
            _, start, ngroups, last = seg
            parts.append(bytes(((ngroups << 1) | 1, last)))
            parts.append(packed[group * width : (group + ngroups) * width])
            group += ngroups
    block = b"".join(parts)
    return uvar(len(block)) + block


def _segments(v: np.ndarray, allow_runs: bool) -> list[tuple]:
    """Java's cut of the values into repeat runs and bit-packed runs (<= 63 groups)."""
    n = v.size
    intervals = _repeat_intervals(v) if allow_runs else []
    segments: list[tuple] = []
    pos = 0
    k = 0
    while pos < n:
        found = None
        while k < len(intervals):
            s, e, run_end = intervals[k]
            if e < pos:
                k += 1
                continue
            j = pos + -(-(max(s, pos) - pos) // 8) * 8
            if j <= e:
                found = (j, run_end)
                break
            k += 1
        stop = found[0] if found else n
        _add_groups(segments, pos, stop - pos)
        if not found:
            break
        j, run_end = found
        count = min(run_end - j, MAX_REPEAT)
        segments.append(("R", j, count))
        pos = j + count
    return segments


def _repeat_intervals(v: np.ndarray) -> list[tuple[int, int, int]]:
    """(first, last, end) of the positions where 8 equal values start, per equal run."""
    n = v.size
    if n < MIN_REPEAT:
        return []
    change = np.flatnonzero(v[1:] != v[:-1]) + 1
    starts = np.concatenate(([0], change))
    ends = np.concatenate((change, [n]))
    long = ends - starts >= MIN_REPEAT
    s, e = starts[long], ends[long]
    return list(zip(s.tolist(), (e - MIN_REPEAT).tolist(), e.tolist(), strict=True))


def _add_groups(segments: list[tuple], start: int, count: int) -> None:
    ngroups_total = -(-count // 8)
    for first in range(0, ngroups_total, MAX_GROUPS):
        ngroups = min(MAX_GROUPS, ngroups_total - first)
        covered = min(count - first * 8, ngroups * 8)
        last = covered - (ngroups - 1) * 8
        segments.append(("P", start + first * 8, ngroups, last))


def _group_values(v: np.ndarray, segments: list[tuple]) -> np.ndarray:
    """The values of every bit-packed group, each group padded to 8 with zeros."""
    packed = [seg for seg in segments if seg[0] == "P"]
    total = sum(seg[2] for seg in packed) * 8
    out = np.zeros(total, dtype=v.dtype)
    at = 0
    for _, start, ngroups, last in packed:
        count = (ngroups - 1) * 8 + last
        out[at : at + count] = v[start : start + count]
        at += ngroups * 8
    return out.view(np.uint32 if v.dtype == np.int32 else np.uint64)


def decode_rle(buf: bytes, bits: int, count: int, pos: int = 0) -> tuple[np.ndarray, int]:
    """Decode `count` values from the RLE stream at `pos`; (int32/int64 values, end)."""
    sdt = np.int32 if bits == 32 else np.int64
    size = len(buf)
    # per run: (kind 0 repeat / 1 packed, values taken, repeat value / byte offset, width)
    kinds: list[int] = []
    takes: list[int] = []
    args: list[int] = []
    widths: list[int] = []
    got = 0
    while got < count:
        if pos >= size:
            raise corrupt(pos, f"RLE stream ends after {got} of {count} values")
        block_len, body = read_uvar(buf, pos)
        end = body + block_len
        if end > size:
            raise corrupt(pos, f"RLE block of {block_len} bytes overruns the stream")
        pos = end
        if block_len == 0:
            continue
        width = buf[body]
        if width == 0 or width > bits:
            raise corrupt(body, f"RLE bit width {width} (max {bits})")
        got = _parse_block(
            buf, body + 1, end, width, bits, count - got, got, (kinds, takes, args, widths)
        )
    return _expand(buf, kinds, takes, args, widths, sdt, count), pos


def _parse_block(buf, at, end, width, bits, need, got, out) -> int:
    kinds, takes, args, widths = out
    vbytes = (width + 7) // 8
    while at < end and need > 0:
        header, at = read_uvar(buf, at)
        if header & 1:
            ngroups = header >> 1
            if at >= end:
                raise corrupt(at, "RLE bit-packed run without its value count")
            last = buf[at]
            at += 1
            if ngroups == 0 or last > 8:
                raise corrupt(at - 2, f"RLE bit-packed run of {ngroups} groups, last {last}")
            nbytes = ngroups * width
            if at + nbytes > end:
                raise corrupt(at, f"RLE bit-packed run needs {nbytes} bytes, {end - at} left")
            n = min((ngroups - 1) * 8 + last, need)
            kinds.append(1)
            args.append(at)
            at += nbytes
        else:
            n = header >> 1
            if n == 0 or n > MAX_REPEAT:
                raise corrupt(at - 1, f"RLE repeat run of {n} values (1..{MAX_REPEAT})")
            if at + vbytes > end:
                raise corrupt(at, "RLE repeat run without its value")
            raw = buf[at : at + vbytes]
            at += vbytes
            value = int.from_bytes(raw, "little" if bits == 32 else "big")
            if bits == 32 and value >= 1 << 31:
                value -= 1 << 32
            elif bits == 64 and value >= 1 << 63:
                value -= 1 << 64
            n = min(n, need)
            kinds.append(0)
            args.append(value)
        takes.append(n)
        widths.append(width)
        need -= n
        got += n
    return got


def _expand(buf, kinds, takes, args, widths, sdt, count) -> np.ndarray:
    if count == 0:
        return np.zeros(0, dtype=sdt)
    kind = np.array(kinds, dtype=np.int8)
    take = np.array(takes, dtype=np.int64)
    if not kind.any():  # only repeat runs
        return np.repeat(np.array(args, dtype=np.int64), take).astype(sdt)
    arg = np.array(args, dtype=np.int64)
    width = np.array(widths, dtype=np.int64)
    seg = np.repeat(np.arange(kind.size), take)
    starts = np.cumsum(take) - take
    local = np.arange(count, dtype=np.int64) - starts[seg]
    packed = kind[seg] == 1
    out = np.repeat(arg, take)
    sel_seg = seg[packed]
    positions = arg[sel_seg] * 8 + local[packed] * width[sel_seg]
    out[packed] = gather_bits(padded(buf), positions, width[sel_seg]).view(np.int64)
    return out.astype(sdt)
