"""Bad input: every decoder, given mangled streams and arbitrary counts, raises
CorruptFileError or returns exactly `count` values — no other exception, no hang, no huge
allocation."""

from __future__ import annotations

import time
import tracemalloc

import numpy as np
import pytest
from test_codec_readonly import _official, _values
from tsfile_page_walker import chunks

from pipecore_storage.errors import CorruptFileError
from pipecore_storage.tsfile.compression import decompress
from pipecore_storage.tsfile.encoding import (
    decode,
    decode_times,
    encodable,
    encode,
    encode_times,
    read_uvar,
    readable,
)
from pipecore_storage.types import CompressionType
from pipecore_storage.types import TSDataType as T
from pipecore_storage.types import TSEncoding as E

TYPES = [t for t in T if t not in (T.VECTOR, T.UNKNOWN)]
# streams we write ourselves, and those we only read (CHIMP, SPRINTZ, RLBE, IoTDB 2.x's ZIGZAG
# for DATE/TIMESTAMP): the codec module says which
OURS = [(t, e) for t in TYPES for e in E if readable(t, e) and encodable(t, e)]
THEIRS = [(t, e) for t in TYPES for e in E if readable(t, e) and not encodable(t, e)]


def _samples(data_type: T) -> list[np.ndarray]:
    rng = np.random.default_rng(int(data_type))
    n = 40
    if data_type is T.BOOLEAN:
        return [rng.integers(0, 2, n).astype(bool), np.ones(n, bool)]
    if data_type.is_binary:
        words = ["", "a", "温度", "x" * 70]
        items = [words[i % 4] for i in rng.integers(0, 4, n)]
        if data_type is T.BLOB:
            items = [w.encode() for w in items]
        out = np.empty(n, dtype=object)
        out[:] = items
        return [out]
    dtype = data_type.numpy_dtype
    walk = np.cumsum(rng.integers(-30, 30, n)).astype(dtype)
    noise = (
        rng.integers(-(2**20), 2**20, n).astype(dtype)
        if dtype.kind == "i"
        else rng.normal(size=n).astype(dtype)
    )
    return [walk, noise, np.repeat(walk[:4], 10)]


def _mutants(raw: bytes, rng: np.random.Generator, k: int) -> list[bytes]:
    out = [b"", raw[:1], raw[: len(raw) // 2], raw[:-1], raw + b"\xff\x00\x80"]
    for _ in range(k):
        b = bytearray(raw)
        if not b:
            break
        for _ in range(int(rng.integers(1, 4))):
            i = int(rng.integers(0, len(b)))
            if rng.random() < 0.5:
                b[i] ^= 1 << int(rng.integers(0, 8))
            else:
                b[i] = int(rng.integers(0, 256))
        cut = int(rng.integers(len(b) // 2, len(b) + 1))
        out.append(bytes(b[:cut]))
    out.append(bytes(rng.integers(0, 256, 64, dtype=np.uint8)))
    return out


def _check(raw: bytes, data_type: T, encoding: E, count: int) -> None:
    try:
        values = decode(raw, data_type, encoding, count)
    except CorruptFileError:
        return
    assert values.shape == (count,)
    assert values.dtype == data_type.numpy_dtype


def _fuzz(streams: list[tuple[bytes, int]], data_type: T, encoding: E, seed: int) -> int:
    rng = np.random.default_rng(seed)
    cases = 0
    for raw, n in streams:
        for bad in _mutants(raw, rng, 60):
            for count in (n, max(0, n - 3), n + 5, int(rng.integers(0, 3 * n + 2)), 10**12):
                started = time.perf_counter()
                _check(bad, data_type, encoding, count)
                assert time.perf_counter() - started < 1.0, (bad.hex(), count)
                cases += 1
    return cases


@pytest.mark.parametrize(
    ("data_type", "encoding"), OURS, ids=[f"{t.name}-{e.name}" for t, e in OURS]
)
def test_fuzz_our_streams(data_type: T, encoding: E) -> None:
    streams = [(encode(v, data_type, encoding), v.size) for v in _samples(data_type)]
    assert _fuzz(streams, data_type, encoding, int(data_type) * 31 + int(encoding)) >= 300


@pytest.fixture(scope="module")
def official_streams(tmp_path_factory: pytest.TempPathFactory) -> dict:
    pytest.importorskip("tsfile", reason="the official writer makes the CHIMP/SPRINTZ/RLBE pages")
    out: dict = {}
    for data_type, encoding in THEIRS:
        if data_type in (T.DATE, T.TIMESTAMP):
            continue  # same streams as INT32 / INT64
        path = tmp_path_factory.mktemp("fuzz") / f"{data_type.name}-{encoding.name}.tsfile"
        _official(path, data_type, encoding, _values(data_type, 120))
        for *_, pages in chunks(path):
            for body in pages:
                tlen, pos = read_uvar(body, 0)
                count = decode_times(body[pos : pos + tlen]).size
                out.setdefault((data_type, encoding), []).append((body[pos + tlen :], count))
    return out


@pytest.mark.parametrize(
    ("data_type", "encoding"),
    [c for c in THEIRS if c[0] not in (T.DATE, T.TIMESTAMP)],
    ids=lambda x: x.name,
)
def test_fuzz_official_streams(official_streams: dict, data_type: T, encoding: E) -> None:
    streams = official_streams[(data_type, encoding)][:1]
    assert _fuzz(streams, data_type, encoding, int(encoding) * 7 + int(data_type)) > 300


def test_fuzz_times() -> None:
    rng = np.random.default_rng(3)
    raw = encode_times(np.cumsum(rng.integers(0, 1000, 300)))
    for bad in _mutants(raw, rng, 300):
        for count in (None, 300, 10**12):
            try:
                times = decode_times(bad, count)
            except CorruptFileError:
                continue
            assert times.dtype == np.int64 and (count is None or times.size == count)


@pytest.mark.parametrize(
    "kind", [c for c in CompressionType if c.value in (0, 1, 2, 7, 8, 9)], ids=lambda k: k.name
)
def test_fuzz_decompress(kind: CompressionType) -> None:
    from pipecore_storage.tsfile.compression import compress

    rng = np.random.default_rng(int(kind))
    page = encode_times(np.arange(0, 50_000, 7))
    raw = compress(kind, page)
    for bad in _mutants(raw, rng, 100):
        for size in (len(page), len(page) + 1, int(rng.integers(0, 2 * len(page)))):
            try:
                out = decompress(kind, bad, size)
            except CorruptFileError:
                continue
            assert len(out) == size


def test_huge_counts_allocate_nothing_big() -> None:
    tracemalloc.start()
    try:
        for data_type, encoding in OURS + THEIRS:
            for raw in (b"", b"\x00" * 64, bytes(range(256))):
                _check(raw, data_type, encoding, 10**9)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024 * 1024
