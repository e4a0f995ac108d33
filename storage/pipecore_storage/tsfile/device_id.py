"""Device identifiers: v3 full paths and v4 segment arrays (tsfile-format.md §1.2).

In the Python API a device is its path string (``root.sg1.d1``; for table-model files the
segments joined with dots, ``sensors.north.a1``). `DeviceID` holds the segments the file
stores and knows how to serialise and order them.
"""

from __future__ import annotations

import attrs

from ._bytes import ByteReader, uvar_bytes, vstr_bytes
from .constants import VERSION_V3

__all__ = ["DeviceID", "read_device_id", "utf16_key"]

_TABLE_NAME_SEGMENTS = 3  # DEFAULT_SEGMENT_NUM_FOR_TABLE_NAME


def utf16_key(s: str) -> bytes:
    """A sort key ordering strings like Java's ``String.compareTo`` (UTF-16 code units)."""
    return s.encode("utf-16-be", "surrogatepass")


def _split_tree_path(path: str) -> tuple[str, ...]:
    nodes = path.split(".")
    n = len(nodes)
    if n == 1:
        return (path,)
    if n <= _TABLE_NAME_SEGMENTS:
        return (".".join(nodes[: n - 1]), nodes[n - 1])
    return (".".join(nodes[:_TABLE_NAME_SEGMENTS]), *nodes[_TABLE_NAME_SEGMENTS:])


@attrs.frozen
class DeviceID:
    """The segments of a device id; segment 0 is the table name (v4) or the whole path (v3)."""

    segments: tuple[str | None, ...]

    @classmethod
    def from_path(cls, path: str, version: int = 4) -> DeviceID:
        """A tree-model device path split as the official writers split it."""
        if version == VERSION_V3:
            return cls((path,))
        return cls(_split_tree_path(path))

    @property
    def table_name(self) -> str:
        return self.segments[0] or ""

    def __str__(self) -> str:
        return ".".join("null" if s is None else s for s in self.segments)

    def sort_key(self) -> tuple:
        """Segment-wise order; a null segment first, a prefix before its extensions."""
        return tuple((0, b"") if s is None else (1, utf16_key(s)) for s in self.segments)

    def serialize(self, version: int) -> bytes:
        if version == VERSION_V3:
            return vstr_bytes(str(self))
        segs = list(self.segments)
        while segs and segs[-1] is None:
            segs.pop()
        return uvar_bytes(len(segs)) + b"".join(vstr_bytes(s) for s in segs)


def read_device_id(reader: ByteReader, version: int) -> DeviceID:
    if version == VERSION_V3:
        path = reader.vstr("device id")
        if path is None:
            raise reader.error("null device id")
        return DeviceID((path,))
    start = reader.pos
    n = reader.uvar("device id segment count")
    if n == 0 or n > reader.remaining:
        raise reader.error(f"device id has an invalid segment count {n}", start)
    return DeviceID(tuple(reader.vstr("device id segment") for _ in range(n)))
