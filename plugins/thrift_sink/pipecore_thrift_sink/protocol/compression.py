"""The compressed wrapper (type 300): the whole inner request, through one or more compressors.

Body: byte k, k × (byte compressor index, i32 length of the data before that stage), then
the compressed bytes. The data fed to the first stage is the inner request's payload
(version byte + i16 type + body). Decompression is bounded: every declared length is checked
against `max_length` (``pipe_receiver_req_decompressed_max_length_in_bytes``, 1 GiB) and
every stage must produce exactly its declared length — no stage may produce more.
"""

from __future__ import annotations

import enum
import gzip
import io
import lzma
import zlib
from collections.abc import Iterable, Sequence

import lz4.block
import snappy
import zstandard

from pipecore_storage.errors import PipecoreError

from .errors import PipeProtocolError
from .io import BodyReader, BodyWriter
from .request import PipeRequestType, PipeTransferRequest

__all__ = [
    "DEFAULT_DECOMPRESSED_MAX_LENGTH",
    "DEFAULT_ZSTD_LEVEL",
    "PipeCompressor",
    "UnknownCompressorError",
    "compress",
    "compress_request",
    "declared_decompressed_size",
    "decompress",
    "decompress_request",
    "parse_compressors",
]

DEFAULT_DECOMPRESSED_MAX_LENGTH = 1 << 30  # pipe_receiver_req_decompressed_max_length_in_bytes
DEFAULT_ZSTD_LEVEL = 3  # Zstd.defaultCompressionLevel()
MAX_COMPRESSORS = 127


class PipeCompressor(enum.IntEnum):
    """Compressor indices on the wire (`PipeCompressor.PipeCompressionType`)."""

    SNAPPY = 0
    GZIP = 1
    LZ4 = 2
    ZSTD = 3
    LZMA2 = 4

    @property
    def option_name(self) -> str:
        """The ``sink.compressor`` spelling: snappy, gzip, lz4, zstd, lzma2."""
        return self.name.lower()


class UnknownCompressorError(PipecoreError, ValueError):
    """A compressor name (``sink.compressor``) pipecore does not know. `name` is the name."""

    def __init__(self, name: str) -> None:
        self.name = name
        known = ", ".join(c.option_name for c in PipeCompressor)
        super().__init__(f"unknown compressor {name!r}; expected one of {known}")


def parse_compressors(value: str | Iterable[str]) -> tuple[PipeCompressor, ...]:
    """``"snappy,lz4"`` (the sink option) → compressors in that order; "" → none."""
    names = value.split(",") if isinstance(value, str) else list(value)
    out = []
    for raw in names:
        name = raw.strip().lower()
        if not name:
            continue
        try:
            out.append(PipeCompressor[name.upper()])
        except KeyError:
            raise UnknownCompressorError(raw.strip()) from None
    if len(out) > MAX_COMPRESSORS:
        raise ValueError(f"at most {MAX_COMPRESSORS} compressors, got {len(out)}")
    return tuple(out)


def compress(kind: PipeCompressor, data: bytes, zstd_level: int = DEFAULT_ZSTD_LEVEL) -> bytes:
    if kind is PipeCompressor.SNAPPY:
        return bytes(snappy.compress(data))
    if kind is PipeCompressor.GZIP:
        return gzip.compress(data, compresslevel=6, mtime=0)
    if kind is PipeCompressor.LZ4:
        return bytes(lz4.block.compress(data, store_size=False))
    if kind is PipeCompressor.ZSTD:
        return zstandard.ZstdCompressor(level=zstd_level).compress(data)
    return lzma.compress(data, format=lzma.FORMAT_XZ)


def decompress(kind: PipeCompressor, data: bytes, length: int) -> bytes:
    """Undo one stage; the result must be exactly `length` bytes (never more is produced)."""
    try:
        out = _decompress(kind, data, length)
    except PipeProtocolError:
        raise
    except Exception as exc:  # each library has its own error types
        raise PipeProtocolError(
            f"{kind.option_name} data is corrupt: {exc}", "compressed"
        ) from None
    if len(out) != length:
        raise PipeProtocolError(
            f"{kind.option_name} stage produced {len(out)}+ bytes, {length} were declared",
            "compressed",
        )
    return out


def _decompress(kind: PipeCompressor, data: bytes, length: int) -> bytes:
    if kind is PipeCompressor.SNAPPY:
        declared = _snappy_length(data)
        if declared != length:
            raise PipeProtocolError(
                f"snappy block holds {declared} bytes, {length} were declared", "compressed"
            )
        return bytes(snappy.uncompress(data))
    if kind is PipeCompressor.GZIP:
        d = zlib.decompressobj(wbits=31)
        out = d.decompress(data, length + 1)
        if not d.eof and len(out) <= length:
            raise PipeProtocolError("gzip stream is truncated", "compressed")
        return out
    if kind is PipeCompressor.LZ4:
        return b"" if length == 0 and data == b"\x00" else lz4.block.decompress(data, length)
    if kind is PipeCompressor.ZSTD:
        with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)) as reader:
            return reader.read(length + 1)
    d2 = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
    out = d2.decompress(data, length + 1)
    if not d2.eof and len(out) <= length:
        raise PipeProtocolError("xz stream is truncated", "compressed")
    return out


def _snappy_length(data: bytes) -> int:
    """The uncompressed length a raw snappy block declares (its leading varint)."""
    value = shift = 0
    for i, byte in enumerate(data[:5]):
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value
        shift += 7
        if i == 4:
            break
    raise PipeProtocolError("snappy block has no valid length header", "compressed")


def compress_request(
    request: PipeTransferRequest,
    compressors: Sequence[PipeCompressor],
    zstd_level: int = DEFAULT_ZSTD_LEVEL,
) -> PipeTransferRequest:
    """The type-300 request wrapping `request`, compressed by each compressor in order."""
    if len(compressors) > MAX_COMPRESSORS:
        raise ValueError(f"at most {MAX_COMPRESSORS} compressors")
    data = request.to_payload()
    w = BodyWriter()
    w.byte(len(compressors))
    for kind in compressors:
        w.byte(int(kind))
        w.i32(len(data))
        data = compress(kind, data, zstd_level)
    w.raw(data)
    return PipeTransferRequest(request.version, PipeRequestType.TRANSFER_COMPRESSED, w.getvalue())


def declared_decompressed_size(body: bytes) -> int:
    """What decompressing a type-300 body would allocate, from its header alone (the sum of
    the declared stage lengths); PipeProtocolError when the header is malformed."""
    r = BodyReader(body)
    k = r.byte("compressed.compressorCount")
    if k < 0:
        raise r.error("compressed.compressorCount", f"negative count {k}", 0)
    total = 0
    for i in range(k):
        r.byte(f"compressed.compressors[{i}]")
        at = r.pos
        length = r.i32(f"compressed.compressors[{i}].length")
        if length < 0:
            raise r.error(f"compressed.compressors[{i}].length", f"negative length {length}", at)
        total += length
    return total


def decompress_request(
    body: bytes, max_length: int = DEFAULT_DECOMPRESSED_MAX_LENGTH
) -> PipeTransferRequest:
    """The inner request of a type-300 body (which may itself be any type, even 300)."""
    r = BodyReader(body)
    at = r.pos
    k = r.byte("compressed.compressorCount")
    if k < 0:
        raise r.error("compressed.compressorCount", f"negative count {k}", at)
    stages = []
    for i in range(k):
        where = f"compressed.compressors[{i}]"
        at = r.pos
        index = r.byte(where)
        try:
            kind = PipeCompressor(index)
        except ValueError:
            raise r.error(where, f"unknown compressor index {index}", at) from None
        at = r.pos
        length = r.i32(f"{where}.length")
        if not 0 <= length <= max_length:
            raise r.error(
                f"{where}.length", f"declared length {length} outside 0..{max_length}", at
            )
        stages.append((kind, length))
    data = r.take(r.remaining, "compressed.data")
    for kind, length in reversed(stages):
        data = decompress(kind, data, length)
    return PipeTransferRequest.from_payload(data)
