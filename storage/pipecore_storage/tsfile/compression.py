"""Page compression of TsFile: UNCOMPRESSED, SNAPPY, GZIP, LZ4, ZSTD, LZMA2.

Framings (tsfile-format.md §4): SNAPPY is a raw Snappy block, GZIP one gzip member, LZ4 a raw
LZ4 block without size prefix, ZSTD a zstd frame, LZMA2 an .xz container. LZO (C++ only) and
SDT/PAA/PLA are neither written nor read.

Decompression is bounded: the output may never exceed the page header's uncompressed size,
which itself may not exceed `MAX_PAGE_SIZE`; any mismatch is a `CorruptFileError`.

`compress` and `decompress` may be called from any number of threads at once: the codecs
that keep state between calls (ZSTD's compressor and decompressor objects, which zstandard
does not allow two threads to use at the same time) are held per thread.
"""

from __future__ import annotations

import io
import lzma
import threading
import zlib

import lz4.block
import snappy
import zstandard

from ..errors import CorruptFileError, UnsupportedFormatError
from ..types import CompressionType

__all__ = ["MAX_PAGE_SIZE", "compress", "decompress", "readable", "writable"]

MAX_PAGE_SIZE = 512 * 1024 * 1024  # a declared uncompressed page size above this is corrupt
GZIP_LEVEL = 6  # java.util.zip.Deflater.DEFAULT_COMPRESSION
ZSTD_LEVEL = 3  # zstd's default; Java uses level 22, every level reads the same
LZMA_PRESET = 6  # XZ for Java's LZMA2Options default
_LZMA_MEMLIMIT = 256 * 1024 * 1024
_SUPPORTED = frozenset(
    {
        CompressionType.UNCOMPRESSED,
        CompressionType.SNAPPY,
        CompressionType.GZIP,
        CompressionType.LZ4,
        CompressionType.ZSTD,
        CompressionType.LZMA2,
    }
)


class _Codecs(threading.local):
    """The stateful codec objects of one thread (created on its first use of them)."""

    def __init__(self) -> None:
        self.zstd_c = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
        self.zstd_d = zstandard.ZstdDecompressor()


_PER_THREAD = _Codecs()


def writable(kind: CompressionType) -> bool:
    """Whether `compress` supports `kind` (everything both Java and C++ read)."""
    return kind in _SUPPORTED


def readable(kind: CompressionType) -> bool:
    return kind in _SUPPORTED


def compress(kind: CompressionType, data: bytes | memoryview) -> bytes:
    """Compress one page body with `kind` (UnsupportedFormatError for LZO, SDT, PAA, PLA)."""
    kind = CompressionType(kind)
    if kind is CompressionType.UNCOMPRESSED:
        return bytes(data)
    if kind is CompressionType.LZ4:
        return lz4.block.compress(data, store_size=False)
    if kind is CompressionType.SNAPPY:
        return snappy.compress(bytes(data))
    if kind is CompressionType.ZSTD:
        return _PER_THREAD.zstd_c.compress(data)
    if kind is CompressionType.GZIP:
        packer = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
        return packer.compress(data) + packer.flush()
    if kind is CompressionType.LZMA2:
        return lzma.compress(data, format=lzma.FORMAT_XZ, preset=LZMA_PRESET)
    raise UnsupportedFormatError(f"cannot write pages compressed with {kind.name}: {_why(kind)}")


def decompress(kind: CompressionType, data: bytes | memoryview, uncompressed_size: int) -> bytes:
    """Decompress one page body to exactly `uncompressed_size` bytes.

    Raises CorruptFileError (path None, offset None: the caller adds both) when the data does
    not decompress to that size, and UnsupportedFormatError for LZO, SDT, PAA and PLA.
    """
    kind = CompressionType(kind)
    size = uncompressed_size
    if size < 0 or size > MAX_PAGE_SIZE:
        raise _corrupt(kind, f"declared uncompressed size {size} out of range")
    decoder = _DECODERS.get(kind)
    if decoder is None:
        raise UnsupportedFormatError(f"cannot read pages compressed with {kind.name}: {_why(kind)}")
    try:
        out = decoder(data, size)
    except CorruptFileError:
        raise
    except (
        lz4.block.LZ4BlockError,
        snappy.UncompressError,
        zstandard.ZstdError,
        lzma.LZMAError,
        zlib.error,
        EOFError,
        ValueError,
    ) as exc:
        raise _corrupt(kind, f"{type(exc).__name__}: {exc}") from exc
    if len(out) != size:
        raise _corrupt(kind, f"decompressed to {len(out)} bytes, header says {size}")
    return out


def _why(kind: CompressionType) -> str:
    if kind is CompressionType.LZO:
        return "LZO is C++-only and the Java TsFile cannot read it"
    return "not a page compression of TsFile"


def _corrupt(kind: CompressionType, reason: str) -> CorruptFileError:
    return CorruptFileError(None, None, f"{kind.name} page: {reason}")


def _plain(data: bytes | memoryview, size: int) -> bytes:
    return bytes(data)


def _lz4(data: bytes | memoryview, size: int) -> bytes:
    return lz4.block.decompress(data, uncompressed_size=size)


def _snappy(data: bytes | memoryview, size: int) -> bytes:
    raw = bytes(data)
    declared = _snappy_length(raw)
    if declared != size:
        raise _corrupt(CompressionType.SNAPPY, f"block declares {declared} bytes, header {size}")
    return snappy.uncompress(raw)


def _snappy_length(raw: bytes) -> int:
    value = shift = 0
    for b in raw[:5]:
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value
        shift += 7
    raise _corrupt(CompressionType.SNAPPY, "bad length preamble")


def _gzip(data: bytes | memoryview, size: int) -> bytes:
    unpacker = zlib.decompressobj(31)
    out = unpacker.decompress(data, size + 1)
    if not unpacker.eof and len(out) <= size:
        raise _corrupt(CompressionType.GZIP, "truncated gzip member")
    return out


def _zstd(data: bytes | memoryview, size: int) -> bytes:
    reader = _PER_THREAD.zstd_d.stream_reader(io.BytesIO(bytes(data)), read_across_frames=False)
    with reader:
        return reader.read(size + 1)


def _lzma(data: bytes | memoryview, size: int) -> bytes:
    unpacker = lzma.LZMADecompressor(format=lzma.FORMAT_XZ, memlimit=_LZMA_MEMLIMIT)
    out = unpacker.decompress(bytes(data), max_length=size + 1)
    if not unpacker.eof and len(out) <= size:
        raise _corrupt(CompressionType.LZMA2, "truncated xz stream")
    return out


_DECODERS = {
    CompressionType.UNCOMPRESSED: _plain,
    CompressionType.SNAPPY: _snappy,
    CompressionType.GZIP: _gzip,
    CompressionType.LZ4: _lz4,
    CompressionType.ZSTD: _zstd,
    CompressionType.LZMA2: _lzma,
}
