"""Bytes of write-ahead-log entries: inserts (whole tablets), deletions, dropped databases.

An entry body starts with its kind byte. Numbers are little-endian; strings are ``u16 length``
plus UTF-8 (``0xFFFF`` = None). Columns are written with numpy ``tobytes`` (one copy per
column, no per-value work) except TEXT/STRING/BLOB values, which are ``int32`` lengths plus
the concatenated bytes. Null masks are bit-packed (``numpy.packbits``).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import attrs
import numpy as np

from .origin import Origin
from .tablet import MeasurementSchema, Tablet
from .types import CompressionType, TSDataType, TSEncoding, decode_text, encode_text

__all__ = [
    "KIND_BATCH",
    "KIND_DELETE",
    "KIND_DELETE_DATABASE",
    "KIND_INSERT",
    "DeleteDatabaseEntry",
    "DeleteEntry",
    "InsertEntry",
    "decode_entry",
    "encode_batch",
    "encode_delete",
    "encode_delete_database",
    "encode_insert",
    "insert_parts",
    "split_batch",
]

KIND_INSERT = 1
KIND_DELETE = 2
KIND_DELETE_DATABASE = 3
KIND_BATCH = 4  # several entries written (and recovered) all or nothing

_U8 = struct.Struct("<B")
_U16 = struct.Struct("<H")
_HEAD = struct.Struct("<BBIH")  # kind, flags, rows, columns
_COL = struct.Struct("<BBBB")  # type, encoding, compression, props count
_RANGE = struct.Struct("<qq")
_LE_TYPES: dict[TSDataType, np.dtype] = {
    t: t.numpy_dtype.newbyteorder("<")
    for t in TSDataType
    if t not in (TSDataType.VECTOR, TSDataType.UNKNOWN) and not t.is_binary
}
_NONE = 0xFFFF


@attrs.frozen
class InsertEntry:
    tablet: Tablet
    origin: Origin


@attrs.frozen
class DeleteEntry:
    pattern: str
    start: int
    end: int
    origin: Origin


@attrs.frozen
class DeleteDatabaseEntry:
    database: str


def _str(text: str | None) -> bytes:
    if text is None:
        return _U16.pack(_NONE)
    raw = encode_text(text)
    if len(raw) >= _NONE:
        raise ValueError(f"name too long for the write-ahead log: {text[:40]!r}...")
    return _U16.pack(len(raw)) + raw


class _Reader:
    __slots__ = ("buf", "pos")

    def __init__(self, buf: memoryview) -> None:
        self.buf = buf
        self.pos = 0

    def take(self, n: int) -> memoryview:
        if self.pos + n > len(self.buf):
            raise ValueError(f"entry truncated at byte {self.pos} (wanted {n} more)")
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, st: struct.Struct) -> tuple:
        return st.unpack(self.take(st.size))

    def text(self) -> str | None:
        (n,) = self.unpack(_U16)
        return None if n == _NONE else decode_text(self.take(n))

    def name(self) -> str:
        text = self.text()
        if text is None:
            raise ValueError(f"missing name at byte {self.pos}")
        return text


def _origin_flags(origin: Origin) -> int:
    return (2 if origin.generated_by_pipe else 0) | (4 if origin.lineage else 0)


def _lineage(origin: Origin) -> list[bytes]:
    """The lineage after the cluster id (only when flag 4 says so: older WALs have none)."""
    return [_str(",".join(origin.lineage))] if origin.lineage else []


def _read_origin(r: _Reader, flags: int, cluster: str | None) -> Origin:
    lineage: tuple[str, ...] = ()
    if flags & 4:
        lineage = tuple((r.text() or "").split(","))
    return Origin(bool(flags & 2), cluster, lineage)


# ---------------------------------------------------------------------- insert
def encode_insert(tablet: Tablet, origin: Origin) -> bytes:
    return b"".join(insert_parts(tablet, origin))


def insert_parts(tablet: Tablet, origin: Origin) -> list[bytes | memoryview]:
    """The body of `encode_insert` as buffers in order: the header and names, then views of
    the tablet's own arrays (native little-endian columns are not copied)."""
    rows = tablet.row_count
    flags = (1 if tablet.aligned else 0) | _origin_flags(origin)
    head = [
        _HEAD.pack(KIND_INSERT, flags, rows, len(tablet.schemas)),
        _str(origin.cluster_id),
        *_lineage(origin),
        _str(tablet.device),
    ]
    head += map(_schema_bytes, tablet.schemas)
    parts: list[bytes | memoryview] = [b"".join(head), _le_view(tablet.timestamps, _LE_I8)]
    for s, col, mask in zip(tablet.schemas, tablet.columns, tablet.null_masks, strict=True):
        if mask is None:
            parts.append(b"\x00")
        else:
            parts += [b"\x01", np.packbits(mask).data]
        le = _LE_TYPES.get(s.data_type)
        if le is not None:
            parts.append(_le_view(col, le))
        else:
            parts += _encode_values(s.data_type, col)
    return parts


_LE_I8 = np.dtype("<i8")
_SCHEMA_BYTES: dict[int, tuple[MeasurementSchema, bytes]] = {}


def _schema_bytes(s: MeasurementSchema) -> bytes:
    """A column's name, type, encoding, compression and props (kept per schema object:
    clients repeat the same schemas tablet after tablet)."""
    hit = _SCHEMA_BYTES.get(id(s))
    if hit is not None and hit[0] is s:
        return hit[1]
    raw = b"".join(
        [
            _str(s.name),
            _COL.pack(s.data_type, s.encoding, s.compression, len(s.props)),
            *[_str(k) + _str(v) for k, v in s.props],
        ]
    )
    if len(_SCHEMA_BYTES) >= 4096:
        _SCHEMA_BYTES.clear()
    _SCHEMA_BYTES[id(s)] = (s, raw)  # the schema is kept: its id is not reused meanwhile
    return raw


def _le_view(arr: np.ndarray, dtype: np.dtype) -> memoryview:
    """The array's bytes as `dtype` (little-endian): a view when it already is one."""
    if arr.dtype == dtype and arr.flags.c_contiguous:
        return arr.data.cast("B")
    return np.ascontiguousarray(arr, dtype=dtype).data.cast("B")


def _encode_values(data_type: TSDataType, col: np.ndarray) -> list[bytes | memoryview]:
    if not data_type.is_binary:
        return [_le_view(col, _LE_TYPES[data_type])]
    raw = [bytes(v) for v in col] if data_type == TSDataType.BLOB else list(map(encode_text, col))
    lengths = np.fromiter(map(len, raw), dtype="<i4", count=len(raw))
    return [lengths.data, b"".join(raw)]


def _decode_insert(r: _Reader) -> InsertEntry:
    _kind, flags, rows, ncols = r.unpack(_HEAD)
    cluster = r.text()
    origin = _read_origin(r, flags, cluster)
    device = r.name()
    schemas = []
    for _ in range(ncols):
        name = r.name()
        dt, enc, comp, nprops = r.unpack(_COL)
        props = {r.name(): r.name() for _ in range(nprops)}
        schemas.append(
            MeasurementSchema(name, TSDataType(dt), TSEncoding(enc), CompressionType(comp), props)
        )
    times = np.frombuffer(r.take(8 * rows), dtype="<i8").astype(np.int64, copy=False)
    columns: list[np.ndarray] = []
    masks: list[np.ndarray | None] = []
    for s in schemas:
        (has_mask,) = r.unpack(_U8)
        if has_mask:
            packed = np.frombuffer(r.take((rows + 7) // 8), dtype=np.uint8)
            masks.append(np.unpackbits(packed, count=rows).astype(np.bool_))
        else:
            masks.append(None)
        columns.append(_decode_values(r, s.data_type, rows))
    tablet = Tablet(device, schemas, times, columns, masks, bool(flags & 1))
    return InsertEntry(tablet, origin)


def _decode_values(r: _Reader, data_type: TSDataType, rows: int) -> np.ndarray:
    if not data_type.is_binary:
        dtype = data_type.numpy_dtype
        raw = r.take(dtype.itemsize * rows)
        return np.frombuffer(raw, dtype=dtype.newbyteorder("<")).astype(dtype, copy=False)
    lengths = np.frombuffer(r.take(4 * rows), dtype="<i4")
    if rows and int(lengths.min()) < 0:
        raise ValueError("negative value length")
    blob = bytes(r.take(int(lengths.sum())))
    ends = np.cumsum(lengths).tolist()
    starts = [0, *ends[:-1]] if ends else []
    out = np.empty(rows, dtype=object)
    if data_type == TSDataType.BLOB:
        out[:] = [blob[a:b] for a, b in zip(starts, ends, strict=True)]
    else:
        out[:] = [decode_text(blob[a:b]) for a, b in zip(starts, ends, strict=True)]
    return out


# ---------------------------------------------------------------------- deletions
def encode_delete(pattern: str, start: int, end: int, origin: Origin) -> bytes:
    return b"".join(
        [
            _U8.pack(KIND_DELETE),
            _U8.pack(_origin_flags(origin)),
            _str(origin.cluster_id),
            *_lineage(origin),
            _str(pattern),
            _RANGE.pack(start, end),
        ]
    )


def encode_delete_database(database: str) -> bytes:
    return _U8.pack(KIND_DELETE_DATABASE) + _str(database)


def decode_entry(body: bytes | memoryview) -> InsertEntry | DeleteEntry | DeleteDatabaseEntry:
    """Decode an entry body; ValueError when it is malformed."""
    r = _Reader(memoryview(body))
    kind = body[0]
    try:
        if kind == KIND_INSERT:
            entry: InsertEntry | DeleteEntry | DeleteDatabaseEntry = _decode_insert(r)
        elif kind == KIND_DELETE:
            r.take(1)
            (flags,) = r.unpack(_U8)
            cluster = r.text()
            origin = _read_origin(r, flags, cluster)
            pattern = r.text()
            start, end = r.unpack(_RANGE)
            entry = DeleteEntry(pattern or "", start, end, origin)
        elif kind == KIND_DELETE_DATABASE:
            r.take(1)
            entry = DeleteDatabaseEntry(r.text() or "")
        else:
            raise ValueError(f"unknown entry kind {kind}")
    except (struct.error, UnicodeDecodeError) as exc:
        raise ValueError(str(exc)) from exc
    if r.pos != len(r.buf):
        raise ValueError(f"{len(r.buf) - r.pos} trailing bytes after the entry")
    return entry


def encode_many(tablets: Sequence[Tablet], origin: Origin) -> list[bytes]:
    return [encode_insert(t, origin) for t in tablets]


# ---------------------------------------------------------------------- batches
_BATCH_ITEM = struct.Struct("<QI")  # seq, body length


def encode_batch(seqs: Sequence[int], bodies: Sequence[bytes]) -> bytes:
    """One entry holding several (a multi-row statement): a torn write or a crash leaves all
    of them or none, never the first rows of a statement that was refused."""
    parts: list[bytes] = [_U8.pack(KIND_BATCH), struct.pack("<I", len(bodies))]
    for seq, body in zip(seqs, bodies, strict=True):
        parts += [_BATCH_ITEM.pack(seq, len(body)), body]
    return b"".join(parts)


def split_batch(body: bytes | memoryview) -> list[tuple[int, memoryview]]:
    """The (seq, body) entries of a batch entry; ValueError when it is malformed."""
    view = memoryview(body)
    if len(view) < 5 or view[0] != KIND_BATCH:
        raise ValueError("not a batch entry")
    (count,) = struct.unpack_from("<I", view, 1)
    pos, out = 5, []
    for _ in range(count):
        if pos + _BATCH_ITEM.size > len(view):
            raise ValueError("batch entry truncated")
        seq, n = _BATCH_ITEM.unpack_from(view, pos)
        pos += _BATCH_ITEM.size
        if pos + n > len(view):
            raise ValueError("batch entry truncated")
        out.append((seq, view[pos : pos + n]))
        pos += n
    if pos != len(view):
        raise ValueError(f"{len(view) - pos} trailing bytes after the batch")
    return out
