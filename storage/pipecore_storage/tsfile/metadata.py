"""The index area: TimeseriesMetadata, MetadataIndexNode and TsFileMetadata (§1.6).

Parsing (`read_*`) for v3 and v4 files, serialisation for the writer, and the construction of
the metadata index tree exactly as Java's ``TsFileIOWriter`` / ``MetadataIndexConstructor``
lay it out (max degree 256 by default, leaf entries every `max_degree` series, internal levels
when a level has more than `max_degree` children).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

import attrs

from ..types import TSDataType
from ._bytes import ByteReader, i64_bytes, svar_bytes, uvar_bytes, vstr_bytes
from .bloom import BloomFilter
from .constants import CHUNK_TYPE_MASK, ENCRYPT_PROPERTIES, VERSION_V3, MetadataIndexNodeType
from .device_id import DeviceID, read_device_id, utf16_key
from .statistics import Statistics

__all__ = [
    "ChunkMetadata",
    "ColumnSchema",
    "MetadataIndexNode",
    "TimeseriesMetadata",
    "TsFileMetadata",
    "build_index",
]

_NodeType = MetadataIndexNodeType


@attrs.define(slots=True)
class ChunkMetadata:
    """Where a chunk starts (its marker byte) and its statistics."""

    offset: int
    statistics: Statistics


@attrs.define(slots=True)
class TimeseriesMetadata:
    """One series of one device in the file: its type, statistics and chunks."""

    measurement: str
    data_type: TSDataType
    statistics: Statistics
    chunks: list[ChunkMetadata]
    mask: int = 0  # 0x80 aligned time column, 0x40 aligned value column

    def serialize(self) -> bytes:
        multi = len(self.chunks) > 1
        body = b"".join(
            i64_bytes(c.offset) + (c.statistics.serialize() if multi else b"") for c in self.chunks
        )
        return b"".join(
            (
                bytes(((1 if multi else 0) | self.mask,)),
                vstr_bytes(self.measurement),
                bytes((self.data_type,)),
                uvar_bytes(len(body)),
                self.statistics.serialize(),
                body,
            )
        )

    @classmethod
    def read(cls, r: ByteReader) -> TimeseriesMetadata:
        start = r.pos
        kind = r.u8("timeseries metadata type")
        name = r.vstr("measurement id")
        if name is None:
            raise r.error("null measurement id", start)
        data_type = _data_type(r, r.u8("data type"))
        size = r.length("chunk metadata list size")
        stats = Statistics.deserialize(r, data_type)
        body = r.sub(size, "chunk metadata list")
        with_stats = bool(kind & CHUNK_TYPE_MASK)
        chunks: list[ChunkMetadata] = []
        while body.remaining:
            offset = body.i64("chunk offset")
            cstats = Statistics.deserialize(body, data_type) if with_stats else stats
            chunks.append(ChunkMetadata(offset, cstats))
        if not chunks:
            raise r.error(f"series {name!r} has no chunk", start)
        return cls(name, data_type, stats, chunks, kind & 0xC0)


def _data_type(r: ByteReader, value: int) -> TSDataType:
    try:
        dt = TSDataType(value)
    except ValueError:
        raise r.error(f"unknown data type {value}", r.pos - 1) from None
    if dt == TSDataType.UNKNOWN:
        raise r.error("data type UNKNOWN", r.pos - 1)
    return dt


@attrs.define(slots=True)
class MetadataIndexNode:
    """A node of the index tree; child i covers ``[entries[i][1], entries[i+1][1] or end)``."""

    node_type: MetadataIndexNodeType
    # (key, offset): the keys of device-level nodes are DeviceIDs, of measurement-level ones names
    entries: list[tuple[DeviceID | str, int]] = attrs.field(factory=list)
    end_offset: int = 0
    at: int = attrs.field(default=0, eq=False)  # file offset it was read from

    def serialize(self, version: int) -> bytes:
        parts = [uvar_bytes(len(self.entries))]
        for key, offset in self.entries:
            parts.append(key.serialize(version) if isinstance(key, DeviceID) else vstr_bytes(key))
            parts.append(i64_bytes(offset))
        parts.append(i64_bytes(self.end_offset))
        parts.append(bytes((self.node_type,)))
        return b"".join(parts)

    @classmethod
    def read(
        cls, r: ByteReader, version: int, device_level: bool, allow_empty: bool = False
    ) -> MetadataIndexNode:
        start = r.pos
        n = r.uvar("index node child count")
        if (n == 0 and not allow_empty) or n > r.remaining // 9:
            raise r.error(f"index node has an invalid child count {n}", start)
        entries: list[tuple[DeviceID | str, int]] = []
        for _ in range(n):
            key: DeviceID | str | None
            if device_level:
                key = read_device_id(r, version)
            else:
                key = r.vstr("index entry name")
                if key is None:
                    raise r.error("null index entry name")
            entries.append((key, r.i64("index entry offset")))
        end = r.i64("index node end offset")
        pos = r.pos
        try:
            node_type = _NodeType(r.u8("index node type"))
        except ValueError:
            raise r.error("unknown index node type", pos) from None
        if node_type.is_device_level != device_level:
            raise r.error(f"unexpected {node_type.name} node here", pos)
        return cls(node_type, entries, end, r.base + start)

    def ranges(self) -> list[tuple[DeviceID | str, int, int]]:
        """(key, start, end) of every child."""
        offs = [o for _, o in self.entries] + [self.end_offset]
        return [(k, offs[i], offs[i + 1]) for i, (k, _) in enumerate(self.entries)]


@attrs.frozen
class ColumnSchema:
    """A column of a table-model TableSchema (read only; category 0 TAG, 1 FIELD, 2 ATTRIBUTE)."""

    name: str
    data_type: TSDataType
    encoding: int
    compression: int
    category: int


@attrs.define(slots=True)
class TsFileMetadata:
    roots: dict[str, MetadataIndexNode]  # table name ("" in v3) -> device-level root
    meta_offset: int
    bloom_filter: BloomFilter | None = None
    table_schemas: dict[str, list[ColumnSchema]] = attrs.field(factory=dict)
    properties: dict[str, str | None] = attrs.field(factory=dict)

    @classmethod
    def read(cls, r: ByteReader, version: int) -> TsFileMetadata:
        if version == VERSION_V3:
            root = MetadataIndexNode.read(r, version, True, allow_empty=True)
            meta = cls({"": root} if root.entries else {}, r.i64("meta offset"))
            meta.bloom_filter = _read_bloom(r)
            return meta
        roots: dict[str, MetadataIndexNode] = {}
        for _ in range(_count(r, "table count")):
            name = r.vstr("table name") or ""
            roots[name] = MetadataIndexNode.read(r, version, True)
        schemas = {}
        for _ in range(_count(r, "table schema count")):
            name = r.vstr("table name") or ""
            schemas[name] = _read_table_schema(r)
        meta = cls(roots, r.i64("meta offset"), None, schemas)
        meta.bloom_filter = _read_bloom(r)
        if r.remaining:
            n = r.svar("property count")
            for _ in range(max(n, 0)):
                if not r.remaining:
                    break  # Java writes zigzag but reads unsigned: tolerate both
                key = r.vstr("property key")
                meta.properties[key or ""] = r.vstr("property value")
        return meta

    def serialize(self, version: int) -> bytes:
        bloom = _bloom_bytes(self.bloom_filter)
        if version == VERSION_V3:
            root = self.roots.get("") or MetadataIndexNode(_NodeType.LEAF_DEVICE, [], 0)
            return root.serialize(version) + i64_bytes(self.meta_offset) + bloom
        parts = [uvar_bytes(len(self.roots))]
        for name in sorted(self.roots, key=utf16_key):
            parts += [vstr_bytes(name), self.roots[name].serialize(version)]
        parts += [uvar_bytes(0), i64_bytes(self.meta_offset), bloom]
        props = list(self.properties.items()) or list(ENCRYPT_PROPERTIES)
        parts.append(svar_bytes(len(props)))
        parts += [vstr_bytes(k) + vstr_bytes(v) for k, v in props]
        return b"".join(parts)


def _count(r: ByteReader, what: str) -> int:
    start = r.pos
    n = r.uvar(what)
    if n > r.remaining:
        raise r.error(f"{what} {n} exceeds the bytes left", start)
    return n


def _read_bloom(r: ByteReader) -> BloomFilter | None:
    if not r.remaining:
        return None
    n = r.length("bloom filter length")
    if n == 0:
        return None
    data = r.take(n, "bloom filter")
    size = r.uvar("bloom filter size")
    hashes = r.uvar("bloom filter hash count")
    if size == 0 or size > 8 * n + 64 * 1024 * 1024:
        raise r.error(f"bloom filter size {size} does not fit its {n} bytes")
    if size < 8 * len(data.rstrip(b"\x00")) - 8:
        raise r.error(f"bloom filter size {size} is smaller than its bits")
    return BloomFilter.from_bytes(data, size, hashes)


def _bloom_bytes(bloom: BloomFilter | None) -> bytes:
    if bloom is None:
        return b"\x00"
    raw = bloom.serialize()
    if not raw:
        return b"\x00"
    return uvar_bytes(len(raw)) + raw + uvar_bytes(bloom.size) + uvar_bytes(bloom.hash_count)


def _read_table_schema(r: ByteReader) -> list[ColumnSchema]:
    columns = []
    for _ in range(_count(r, "table column count")):
        name = r.istr("column name") or ""
        data_type = _data_type(r, r.u8("column type"))
        encoding, compression = r.u8("column encoding"), r.u8("column compression")
        props = r.i32("column property count")
        if props < 0 or props > r.remaining:
            raise r.error(f"invalid column property count {props}")
        for _ in range(props):
            r.istr("column property key")
            r.istr("column property value")
        columns.append(ColumnSchema(name, data_type, encoding, compression, r.i32("category")))
    return columns


# ---------------------------------------------------------------------- index construction
def build_index(
    devices: Iterable[tuple[DeviceID, list[TimeseriesMetadata]]],
    start: int,
    version: int,
    max_degree: int = 256,
) -> tuple[bytes, dict[str, MetadataIndexNode]]:
    """Serialise every TimeseriesMetadata and the index nodes, starting at file offset `start`.

    `devices` must come in DeviceID order, each with its series sorted (time column first).
    Returns the bytes to write and the device-level root of each table (which belong in
    TsFileMetadata, not in these bytes).
    """
    out = _Out(start)
    measurement_roots: list[tuple[DeviceID, MetadataIndexNode]] = []
    for device, series in devices:
        queue: deque[MetadataIndexNode] = deque()
        node = MetadataIndexNode(_NodeType.LEAF_MEASUREMENT)
        for i, tsm in enumerate(series):
            if i % max_degree == 0:
                if len(node.entries) >= max_degree:
                    node.end_offset = out.pos
                    queue.append(node)
                    node = MetadataIndexNode(_NodeType.LEAF_MEASUREMENT)
                node.entries.append((tsm.measurement, out.pos))
            out.write(tsm.serialize())
        node.end_offset = out.pos
        queue.append(node)
        root = _generate_root(queue, out, _NodeType.INTERNAL_MEASUREMENT, version, max_degree)
        measurement_roots.append((device, root))
    tables: dict[str, list[tuple[DeviceID, MetadataIndexNode]]] = {}
    for device, root in measurement_roots:
        table = "" if version == VERSION_V3 else device.table_name
        tables.setdefault(table, []).append((device, root))
    roots = {}
    for table in sorted(tables, key=utf16_key):
        roots[table] = _device_level(tables[table], out, version, max_degree)
    if version == VERSION_V3 and not roots:  # a v3 file always has a (possibly empty) root
        roots[""] = MetadataIndexNode(_NodeType.LEAF_DEVICE, [], out.pos)
    return bytes(out.buf), roots


class _Out:
    __slots__ = ("buf", "start")

    def __init__(self, start: int) -> None:
        self.start = start
        self.buf = bytearray()

    @property
    def pos(self) -> int:
        return self.start + len(self.buf)

    def write(self, data: bytes) -> None:
        self.buf += data


def _device_level(
    devices: list[tuple[DeviceID, MetadataIndexNode]], out: _Out, version: int, max_degree: int
) -> MetadataIndexNode:
    if len(devices) <= max_degree:
        node = MetadataIndexNode(_NodeType.LEAF_DEVICE)
        for device, mroot in devices:
            node.entries.append((device, out.pos))
            out.write(mroot.serialize(version))
        node.end_offset = out.pos
        return node
    queue: deque[MetadataIndexNode] = deque()
    node = MetadataIndexNode(_NodeType.LEAF_DEVICE)
    for device, mroot in devices:
        if len(node.entries) >= max_degree:
            node.end_offset = out.pos
            queue.append(node)
            node = MetadataIndexNode(_NodeType.LEAF_DEVICE)
        node.entries.append((device, out.pos))
        out.write(mroot.serialize(version))
    node.end_offset = out.pos
    queue.append(node)
    root = _generate_root(queue, out, _NodeType.INTERNAL_DEVICE, version, max_degree)
    root.end_offset = out.pos
    return root


def _generate_root(
    queue: deque[MetadataIndexNode],
    out: _Out,
    node_type: MetadataIndexNodeType,
    version: int,
    max_degree: int,
) -> MetadataIndexNode:
    """Java ``generateRootNode``: wrap the queued nodes level by level until one is left."""
    size = len(queue)
    current = MetadataIndexNode(node_type)
    while size != 1:
        for _ in range(size):
            child = queue.popleft()
            if len(current.entries) >= max_degree:
                current.end_offset = out.pos
                queue.append(current)
                current = MetadataIndexNode(node_type)
            current.entries.append((child.entries[0][0], out.pos))
            out.write(child.serialize(version))
        current.end_offset = out.pos
        queue.append(current)
        current = MetadataIndexNode(node_type)
        size = len(queue)
    return queue.popleft()
