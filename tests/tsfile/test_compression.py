"""Page compression: framings, round trips and bounded decompression (tsfile-format.md §4)."""

from __future__ import annotations

import gzip
import lzma
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import lz4.block
import pytest
import snappy
from hypothesis import given, settings
from hypothesis import strategies as st

from pipecore_storage.errors import CorruptFileError, UnsupportedFormatError
from pipecore_storage.tsfile.compression import MAX_PAGE_SIZE, compress, decompress
from pipecore_storage.types import CompressionType as C

KINDS = [C.UNCOMPRESSED, C.SNAPPY, C.GZIP, C.LZ4, C.ZSTD, C.LZMA2]
PAGE = b"".join(i.to_bytes(8, "big") for i in range(1000)) + os.urandom(100)


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_round_trip(kind: C) -> None:
    for data in (b"", b"x", PAGE):
        packed = compress(kind, data)
        assert decompress(kind, packed, len(data)) == data
        assert decompress(kind, memoryview(packed), len(data)) == data


@given(st.binary(max_size=3000), st.sampled_from(KINDS))
@settings(max_examples=60)
def test_round_trip_property(data: bytes, kind: C) -> None:
    assert decompress(kind, compress(kind, data), len(data)) == data


def test_framings_match_the_format() -> None:
    assert compress(C.GZIP, PAGE)[:3] == b"\x1f\x8b\x08"
    assert gzip.decompress(compress(C.GZIP, PAGE)) == PAGE
    assert compress(C.ZSTD, PAGE)[:4] == bytes.fromhex("28b52ffd")
    assert compress(C.LZMA2, PAGE)[:6] == bytes.fromhex("fd377a585a00")
    assert lzma.decompress(compress(C.LZMA2, PAGE)) == PAGE
    sn = compress(C.SNAPPY, PAGE)
    assert sn[:2] == bytes([(len(PAGE) & 0x7F) | 0x80, len(PAGE) >> 7])  # raw block preamble
    assert snappy.uncompress(sn) == PAGE
    raw_lz4 = compress(C.LZ4, PAGE)
    assert raw_lz4 != lz4.block.compress(PAGE)  # no 4-byte size prefix
    assert lz4.block.decompress(raw_lz4, uncompressed_size=len(PAGE)) == PAGE


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_wrong_sizes_and_garbage_are_corrupt(kind: C) -> None:
    packed = compress(kind, PAGE)
    for size in (len(PAGE) - 1, len(PAGE) + 1, 0):
        with pytest.raises(CorruptFileError):
            decompress(kind, packed, size)
    if kind is not C.UNCOMPRESSED:
        for bad in (packed[: len(packed) // 2], b"\xff" * 40, b""):
            with pytest.raises(CorruptFileError):
                decompress(kind, bad, len(PAGE))


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_decompression_is_bounded(kind: C) -> None:
    bomb = compress(kind, bytes(20_000_000))  # 20 MB of zeros, a few KB packed
    with pytest.raises(CorruptFileError):
        decompress(kind, bomb, 1000)
    with pytest.raises(CorruptFileError, match="out of range"):
        decompress(kind, b"", MAX_PAGE_SIZE + 1)


@pytest.mark.parametrize("kind", [C.LZO, C.SDT, C.PAA, C.PLA], ids=lambda k: k.name)
def test_unsupported_kinds_are_named(kind: C) -> None:
    with pytest.raises(UnsupportedFormatError, match=kind.name):
        compress(kind, b"abc")
    with pytest.raises(UnsupportedFormatError, match=kind.name):
        decompress(kind, b"abc", 3)


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_threads_compress_and_decompress_at_once(kind: C) -> None:
    """The writer compresses pages on several threads, readers may decompress on several:
    no codec object may be shared between threads running at the same time."""
    pages = [os.urandom(2000) + bytes(i % 251 for i in range(n * 997 % 60_000)) for n in range(24)]
    expected = [compress(kind, p) for p in pages]
    start = threading.Barrier(8)

    def work(seed: int) -> list[bool]:
        start.wait()
        ok = []
        for k in range(60):
            i = (seed * 7 + k) % len(pages)
            packed = compress(kind, pages[i])
            ok.append(packed == expected[i])
            ok.append(decompress(kind, packed, len(pages[i])) == pages[i])
        return ok

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(work, range(8)))
    assert all(all(r) for r in results)
