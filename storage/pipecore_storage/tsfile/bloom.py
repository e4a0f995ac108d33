"""The series bloom filter of TsFileMetadata (tsfile-format.md §1.7).

Java's ``Murmur128Hash`` (Murmur3 x64-128 with a Java-specific signed tail and the two
halves summed) computed for many keys at once with numpy uint64 arithmetic, and the
``BloomFilter`` sizing, seeds and ``BitSet.toByteArray`` layout of the official writers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["BloomFilter", "murmur128_hash"]

_SEEDS = (5, 7, 11, 19, 31, 37, 43, 59)
_MIN_BITS = 256
_MAX_HASHES = 8
_MIN_ERROR, _MAX_ERROR = 0.01, 0.1
_C1 = np.uint64(0x87C37B91114253D5)
_C2 = np.uint64(0x4CF5AD432745937F)
_M5 = np.uint64(5)
_N1 = np.uint64(0x52DCE729)
_N2 = np.uint64(0x38495AB5)
_F1 = np.uint64(0xFF51AFD7ED558CCD)
_F2 = np.uint64(0xC4CEB9FE1A85EC53)


def _rotl(v: np.ndarray, n: int) -> np.ndarray:
    return (v << np.uint64(n)) | (v >> np.uint64(64 - n))


def _fmix(k: np.ndarray) -> np.ndarray:
    k = k ^ (k >> np.uint64(33))
    k = k * _F1
    k = k ^ (k >> np.uint64(33))
    k = k * _F2
    return k ^ (k >> np.uint64(33))


def _mix_k1(k1: np.ndarray) -> np.ndarray:
    return _rotl(k1 * _C1, 31) * _C2


def _mix_k2(k2: np.ndarray) -> np.ndarray:
    return _rotl(k2 * _C2, 33) * _C1


def murmur128_hash(keys: Sequence[bytes], seed: int) -> np.ndarray:
    """Java ``(int) Murmur128Hash.innerHash(key, 0, len, seed)`` for each key, as int32."""
    n = len(keys)
    if n == 0:
        return np.empty(0, np.int32)
    lengths = np.fromiter((len(k) for k in keys), dtype=np.int64, count=n)
    width = int(lengths.max()) + 16
    buf = np.zeros((n, width), dtype=np.uint8)
    for i, k in enumerate(keys):
        buf[i, : len(k)] = np.frombuffer(k, np.uint8)
    with np.errstate(over="ignore"):
        return _hash_rows(buf, lengths, seed)


def _hash_rows(buf: np.ndarray, lengths: np.ndarray, seed: int) -> np.ndarray:
    n = buf.shape[0]
    h1 = np.full(n, seed, dtype=np.int64).view(np.uint64)
    h2 = h1.copy()
    words = buf[:, : (buf.shape[1] // 8) * 8].copy().view("<u8")  # little-endian blocks
    nblocks = lengths >> 4
    for i in range(int(nblocks.max())):
        live = nblocks > i
        k1 = _mix_k1(words[:, 2 * i])
        k2 = _mix_k2(words[:, 2 * i + 1])
        n1 = _rotl(h1 ^ k1, 27) + h2
        n1 = n1 * _M5 + _N1
        n2 = _rotl(h2 ^ k2, 31) + n1
        n2 = n2 * _M5 + _N2
        h1 = np.where(live, n1, h1)
        h2 = np.where(live, n2, h2)
    h1, h2 = _tail(buf, lengths, nblocks, h1, h2)
    ln = lengths.view(np.uint64)
    h1 = h1 ^ ln
    h2 = h2 ^ ln
    h1 = h1 + h2
    h2 = h2 + h1
    h1 = _fmix(h1)
    h2 = _fmix(h2)
    h1 = h1 + h2
    h2 = h2 + h1
    return (h1 + h2).astype(np.uint32).view(np.int32)


def _tail(buf, lengths, nblocks, h1, h2):
    rows = np.arange(buf.shape[0])
    base = nblocks * 16
    rem = lengths & 15
    signed = buf.view(np.int8)
    k1 = np.zeros(buf.shape[0], np.uint64)
    k2 = np.zeros(buf.shape[0], np.uint64)
    for j in range(15):
        # Java sign-extends each tail byte: ((long) key[i]) << shift
        byte = signed[rows, np.minimum(base + j, buf.shape[1] - 1)].astype(np.int64)
        byte = np.where(rem > j, byte, 0).view(np.uint64)
        if j < 8:
            k1 ^= byte << np.uint64(8 * j)
        else:
            k2 ^= byte << np.uint64(8 * (j - 8))
    h2 = np.where(rem > 8, h2 ^ _mix_k2(k2), h2)
    h1 = np.where(rem > 0, h1 ^ _mix_k1(k1), h1)
    return h1, h2


class BloomFilter:
    """A bloom filter over series paths ``device + "." + measurement``."""

    __slots__ = ("bits", "hash_count", "size")

    def __init__(self, size: int, hash_count: int, bits: np.ndarray | None = None) -> None:
        self.size = size
        self.hash_count = min(hash_count, _MAX_HASHES)
        self.bits = np.zeros(size, np.bool_) if bits is None else bits

    @classmethod
    def for_entries(cls, count: int, error_rate: float = 0.05) -> BloomFilter:
        """An empty filter sized as ``BloomFilter.getEmptyBloomFilter(errorRate, count)``."""
        err = min(max(error_rate, _MIN_ERROR), _MAX_ERROR)
        ln2 = math.log(2)
        size = int(-count * math.log(err) / ln2 / ln2) + 1
        hashes = int(-math.log(err) / ln2) + 1
        return cls(max(_MIN_BITS, size), min(_MAX_HASHES, hashes))

    @classmethod
    def from_bytes(cls, data: bytes, size: int, hash_count: int) -> BloomFilter:
        bits = np.unpackbits(np.frombuffer(data, np.uint8), bitorder="little")
        full = np.zeros(max(size, bits.shape[0]), np.bool_)
        full[: bits.shape[0]] = bits.astype(np.bool_)
        return cls(size, hash_count, full)

    def _positions(self, keys: Sequence[str]) -> np.ndarray:
        raw = [k.encode("utf-8", "surrogateescape") for k in keys]
        out = []
        for seed in _SEEDS[: self.hash_count]:
            h = murmur128_hash(raw, seed).astype(np.int64)
            h[h == -(2**31)] = 0
            out.append(np.abs(h) % self.size)
        return np.stack(out) if out else np.empty((0, len(keys)), np.int64)

    def add_all(self, keys: Sequence[str]) -> None:
        if keys:
            self.bits[self._positions(keys).ravel()] = True

    def contains(self, key: str) -> bool:
        if self.size <= 0:
            return True
        pos = self._positions([key])[:, 0]
        return bool(np.all(pos < self.bits.shape[0]) and self.bits[pos].all())

    def serialize(self) -> bytes:
        """``BitSet.toByteArray()``: little-endian bit order, trailing zero bytes trimmed."""
        return np.packbits(self.bits, bitorder="little").tobytes().rstrip(b"\x00")
