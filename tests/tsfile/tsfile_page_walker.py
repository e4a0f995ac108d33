"""A tiny test-local TsFile page walker (tsfile-format.md §1) for the codec tests: it finds
the pages of non-aligned chunks so value streams can be cut out of official files. The file
layer proper lives in pipecore_storage.tsfile."""

from __future__ import annotations

import struct
from pathlib import Path

from pipecore_storage.tsfile.compression import decompress
from pipecore_storage.tsfile.encoding import read_svar, read_uvar
from pipecore_storage.types import CompressionType, TSDataType, TSEncoding

_STATS_TAIL = {
    TSDataType.BOOLEAN: 10,
    TSDataType.INT32: 24,
    TSDataType.DATE: 24,
    TSDataType.INT64: 40,
    TSDataType.TIMESTAMP: 40,
    TSDataType.FLOAT: 24,
    TSDataType.DOUBLE: 40,
    TSDataType.BLOB: 0,
    TSDataType.VECTOR: 0,
}


def _skip_stats(data: bytes, pos: int, dtype: TSDataType) -> int:
    _, pos = read_uvar(data, pos)
    pos += 16
    if dtype in _STATS_TAIL:
        return pos + _STATS_TAIL[dtype]
    for _ in range(2 if dtype is TSDataType.TEXT else 4):
        (n,) = struct.unpack_from(">i", data, pos)
        pos += 4 + n
    return pos


def chunks(path: Path):
    """(device, measurement, type, encoding, compression, [page body...]) per chunk."""
    data = path.read_bytes()
    pos, device = 7, None
    while True:
        marker = data[pos]
        pos += 1
        if marker == 0x00:
            nseg, pos = read_uvar(data, pos)
            segs = []
            for _ in range(nseg):
                n, pos = read_svar(data, pos)
                segs.append(data[pos : pos + n].decode())
                pos += n
            device = ".".join(segs)
        elif marker == 0x04:
            pos += 16
        elif marker & 0x3F in (0x01, 0x05):
            n, pos = read_svar(data, pos)
            name = data[pos : pos + n].decode()
            pos += n
            size, pos = read_uvar(data, pos)
            dtype, comp, enc = data[pos], data[pos + 1], data[pos + 2]
            pos += 3
            end = pos + size
            pages = []
            while pos < end:
                usize, pos = read_uvar(data, pos)
                if usize == 0:
                    pages.append(b"")
                    continue
                csize, pos = read_uvar(data, pos)
                if marker & 0x3F == 0x01:
                    pos = _skip_stats(data, pos, TSDataType(dtype))
                body = decompress(CompressionType(comp), data[pos : pos + csize], usize)
                pages.append(body)
                pos += csize
            yield device, name, TSDataType(dtype), TSEncoding(enc), marker, pages
        else:
            assert marker == 0x02
            return
