"""FLOAT/DOUBLE over an integer encoder (Java `FloatEncoder`; TS_2DIFF, RLE, RLBE). Lossy.

Each value is scaled to an integer, ``round(v * 10**mpn)`` with Java's Math.round
(floor(x + 0.5)); `mpn` is the series property ``max_point_number`` (default 2). So a value
keeps `mpn` decimal places. Page layouts (cpp/docs/ts2diff-float-double-wire-format.md):

* form 1, every value scaled: ``uvar mpn`` + integer stream;
* form 2, a scaled value overflows int32/int64: ``uvar 0x7FFFFFFF, uvar count,
  scaledBitmap[count/8+1]`` + form 1; unscaled values are stored as round(v);
* form 3, a value itself overflows or is NaN: ``uvar 0x7FFFFFFE, uvar count, scaledBitmap,
  rawBitmap`` + form 1; raw values are stored as their IEEE bits (lossless).

Bitmaps are LSB-first, bit set = scaled / raw.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from .errors import corrupt
from .varint import read_uvar, uvar

__all__ = ["DEFAULT_MAX_POINT_NUMBER", "decode_scaled", "encode_scaled", "max_point_number"]

DEFAULT_MAX_POINT_NUMBER = 2  # TSFileConfig.floatPrecision
FLAG_SCALED_OVERFLOW = 0x7FFFFFFF
FLAG_RAW_OVERFLOW = 0x7FFFFFFE
# (scaled value upper bound, value itself upper bound); lower bounds are -2**31 / -2**63
_BOUNDS = {32: (2.0**31 - 1, 2.0**31), 64: (2.0**63, 2.0**63)}


def max_point_number(props: Mapping[str, str] | None) -> int:
    """The ``max_point_number`` property (default 2; negative counts as 0)."""
    raw = (props or {}).get("max_point_number")
    if raw is None:
        return DEFAULT_MAX_POINT_NUMBER
    try:
        mpn = int(str(raw).strip())
    except ValueError:
        raise ValueError(f"max_point_number must be an integer, got {raw!r}") from None
    return max(0, mpn)


def _scale(mpn: int) -> float:
    return 1.0 if mpn <= 0 else (10.0**mpn if mpn <= 308 else float("inf"))


def _java_round(x: np.ndarray, bits: int) -> np.ndarray:
    """Math.round, floor(x + 0.5), saturating at the int32/int64 range (as the C++ writer)."""
    limit = 2.0 ** (bits - 1)
    r = np.floor(x + 0.5)
    big = r >= limit
    small = r < -limit
    out = np.where(big | small | np.isnan(r), 0.0, r).astype(np.int64)
    out[big] = 2 ** (bits - 1) - 1
    out[small] = -(2 ** (bits - 1))
    return out


def encode_scaled(
    values: np.ndarray, bits: int, mpn: int, integer_encoder: Callable[[np.ndarray], bytes]
) -> bytes:
    """Scale FLOAT (`bits`=32) or DOUBLE values and encode them with `integer_encoder`."""
    fdt, idt = (np.float32, np.int32) if bits == 32 else (np.float64, np.int64)
    v = np.ascontiguousarray(values, dtype=fdt)
    n = v.size
    if n == 0:
        return b""
    wide = v.astype(np.float64)
    scaled_hi, value_hi = _BOUNDS[bits]
    lo = -(2.0 ** (bits - 1))
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = wide * _scale(mpn)
        scaled_over = (scaled > scaled_hi) | (scaled < lo)
        value_over = (wide > value_hi) | (wide < lo)
        raw = np.isnan(wide) | (scaled_over & value_over)
        scaled_ok = ~scaled_over & ~raw
        ints = np.where(scaled_ok, _java_round(scaled, bits), _java_round(wide, bits))
    out = ints.astype(idt)
    if raw.any():
        out[raw] = v[raw].view(idt)  # the IEEE bits
    body = uvar(mpn) + integer_encoder(out)
    if scaled_ok.all():
        return body
    tag = FLAG_RAW_OVERFLOW if raw.any() else FLAG_SCALED_OVERFLOW
    parts = [uvar(tag), uvar(n), _bitmap(scaled_ok)]
    if raw.any():
        parts.append(_bitmap(raw))
    return b"".join(parts) + body


def _bitmap(flags: np.ndarray) -> bytes:
    """LSB-first bitmap of `flags`, len(flags)//8 + 1 bytes (Java BitMap)."""
    size = flags.size // 8 + 1
    padded = np.zeros(size * 8, dtype=np.bool_)
    padded[: flags.size] = flags
    return np.packbits(padded, bitorder="little").tobytes()


def decode_scaled(
    buf: bytes,
    bits: int,
    count: int,
    integer_decoder: Callable[[bytes, int], np.ndarray],
) -> np.ndarray:
    """`count` FLOAT/DOUBLE values from a scaled stream (any of the three forms)."""
    fdt, idt = (np.float32, np.int32) if bits == 32 else (np.float64, np.int64)
    if count == 0:
        return np.zeros(0, dtype=fdt)
    tag, pos = read_uvar(buf, 0)
    scaled_bm = raw_bm = None
    if tag in (FLAG_SCALED_OVERFLOW, FLAG_RAW_OVERFLOW):
        page_count, pos = read_uvar(buf, pos)
        if page_count == 0 or page_count < count:
            raise corrupt(pos, f"float page of {page_count} values, {count} expected")
        nbm = 2 if tag == FLAG_RAW_OVERFLOW else 1
        bm_len = page_count // 8 + 1
        if pos + nbm * bm_len > len(buf):
            raise corrupt(pos, f"float page bitmaps need {nbm * bm_len} bytes")
        scaled_bm = _unbitmap(buf, pos, count)
        pos += bm_len
        if nbm == 2:
            raw_bm = _unbitmap(buf, pos, count)
            pos += bm_len
        mpn, pos = read_uvar(buf, pos)
    else:
        mpn = tag
    ints = integer_decoder(buf[pos:], count).astype(idt, copy=False)
    mpv = _scale(mpn)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        if scaled_bm is None:
            out = (ints.astype(np.float64) / mpv).astype(fdt)
        else:
            divisor = np.where(scaled_bm, mpv, 1.0)
            out = (ints.astype(np.float64) / divisor).astype(fdt)
    if raw_bm is not None and raw_bm.any():
        out[raw_bm] = ints[raw_bm].view(fdt)
    return out


def _unbitmap(buf: bytes, pos: int, count: int) -> np.ndarray:
    raw = np.frombuffer(buf, dtype=np.uint8, count=count // 8 + 1, offset=pos)
    return np.unpackbits(raw, bitorder="little")[:count].astype(np.bool_)
