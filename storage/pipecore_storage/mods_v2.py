"""IoTDB 2.x's binary modification file (``<tsfile>.mods2``), read into `Deletion`s.

A plain concatenation of records, no header (tsfile-format.md §5; checked against the files a
real IoTDB 2.0 DataNode writes after DELETE)::

    u8 modType            0x01 TREE_DELETION, 0x00 TABLE_DELETION
    i64 startTime, i64 endTime
    TREE_DELETION body:   vstr pathPattern   (zigzag-varint length + UTF-8)

A table-model deletion cannot hold for a tree-model file: one is refused with
`CorruptFileError`. A record cut short at the end (an interrupted append) is ignored, as a
torn last line of a text ``.mods`` is.
"""

from __future__ import annotations

from pathlib import Path

from .errors import CorruptFileError
from .mods import Deletion
from .tsfile._bytes import ByteReader, i64_bytes, vstr_bytes

__all__ = ["SUFFIX_V2", "TABLE_DELETION", "TREE_DELETION", "encode_mods_v2", "parse_mods_v2"]

SUFFIX_V2 = ".mods2"
TABLE_DELETION = 0x00
TREE_DELETION = 0x01


def parse_mods_v2(path: Path | None, raw: bytes) -> list[Deletion]:
    out: list[Deletion] = []
    reader = ByteReader(raw, path)
    while reader.remaining:
        start = reader.pos
        kind = reader.u8("modType")
        if kind == TABLE_DELETION:
            raise CorruptFileError(
                path, start, "a table-model deletion (TABLE_DELETION) in a tree-model mods file"
            )
        if kind != TREE_DELETION:
            raise CorruptFileError(path, start, f"unknown modification type {kind}")
        try:
            lo = reader.i64("startTime")
            hi = reader.i64("endTime")
            pattern = reader.vstr("path pattern")
        except CorruptFileError:
            break  # cut short: an append that never finished
        if pattern is None:
            raise CorruptFileError(path, start, "a tree deletion without a path pattern")
        out.append(Deletion(pattern, lo, hi, 0))
    return out


def encode_mods_v2(deletions: list[Deletion]) -> bytes:
    """The ``.mods2`` bytes of tree deletions (IoTDB 2.x's layout)."""
    return b"".join(
        bytes((TREE_DELETION,)) + i64_bytes(d.start) + i64_bytes(d.end) + vstr_bytes(d.pattern)
        for d in deletions
    )
