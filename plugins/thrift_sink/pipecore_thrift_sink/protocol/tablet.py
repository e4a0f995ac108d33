"""The tsfile `Tablet` wire format (type 3 bodies, batch items), vectorised with numpy.

Layout (tsfile 1.0/1.1 ``Tablet.serialize``): device String, i32 rowSize, schemas
(flag, i32 count, per schema flag + MeasurementSchema), times (flag, rowSize × i64), bitmaps
(flag, per column flag + i32 size + Binary bytes, LSB-first, set bit = null), values (flag,
per column flag + rowSize values). A type-3 body adds one isAligned byte.

tsfile 2.x (IoTDB 2.x) writes one more byte after each schema: its column category
(`Tablet.ColumnCategory` ordinal: TAG 0, FIELD 1, ATTRIBUTE 2; a tree-model tablet has FIELD
everywhere). `write_tablet`/`read_tablet` take ``categories=True`` for that layout.
"""

from __future__ import annotations

import struct

import numpy as np

from pipecore_storage.tablet import MeasurementSchema, Tablet
from pipecore_storage.types import TSDataType

from .errors import PipeProtocolError
from .io import BodyReader, BodyWriter

__all__ = [
    "decode_tablet_raw",
    "encode_tablet_raw",
    "pack_bitmap",
    "read_measurement_schema",
    "read_tablet",
    "unpack_bitmap",
    "write_measurement_schema",
    "write_tablet",
]

# big-endian wire dtype of each fixed-width type (BOOLEAN is one byte, 1 = true)
WIRE_DTYPES: dict[TSDataType, str] = {
    TSDataType.INT32: ">i4",
    TSDataType.DATE: ">i4",
    TSDataType.INT64: ">i8",
    TSDataType.TIMESTAMP: ">i8",
    TSDataType.FLOAT: ">f4",
    TSDataType.DOUBLE: ">f8",
}
_I32 = struct.Struct(">i")
_LEN_PREFIX = struct.Struct(">bi")  # notNull flag + i32 length of a text cell


# ---------------------------------------------------------------- schemas


def write_measurement_schema(w: BodyWriter, schema: MeasurementSchema) -> None:
    w.string(schema.name)
    w.byte(int(schema.data_type))
    w.byte(int(schema.encoding))
    w.byte(int(schema.compression))
    w.i32(len(schema.props))
    for key, value in schema.props:
        w.string(key)
        w.string(value)


# Decoded schemas by their exact wire bytes: a stream repeats the same few schemas in every
# tablet, and MeasurementSchema is frozen, so sharing them is safe. Bounded by clearing.
_SCHEMA_CACHE: dict[bytes, MeasurementSchema] = {}
_SCHEMA_CACHE_LIMIT = 8192


def read_measurement_schema(r: BodyReader, field: str) -> MeasurementSchema:
    at = r.pos
    key = _schema_span(r.data, at, r.end)
    if key is not None:
        cached = _SCHEMA_CACHE.get(key)
        if cached is not None:
            r.pos = at + len(key)
            return cached
    name = r.required_string(f"{field}.measurementId")
    data_type = r.byte(f"{field}.type")
    encoding = r.byte(f"{field}.encoding")
    compressor = r.byte(f"{field}.compressor")
    n = r.count(f"{field}.props", 8)
    props = {}
    for i in range(n):
        prop = r.required_string(f"{field}.props[{i}].key")
        props[prop] = r.string(f"{field}.props[{prop}]") or ""
    schema = make_schema(name, data_type, encoding, compressor, props, field, r.base + at)
    if key is not None:
        if len(_SCHEMA_CACHE) >= _SCHEMA_CACHE_LIMIT:
            _SCHEMA_CACHE.clear()
        _SCHEMA_CACHE[key] = schema
    return schema


def _schema_span(data: bytes, pos: int, end: int) -> bytes | None:
    """The bytes of a schema without props starting at `pos` (None if it has props/is short)."""
    if pos + 4 > end:
        return None
    n = _I32.unpack_from(data, pos)[0]
    stop = pos + 4 + n + 3 + 4
    if n < 0 or stop > end or data[stop - 4 : stop] != b"\0\0\0\0":
        return None
    return data[pos:stop]


def make_schema(
    name: str,
    data_type: int,
    encoding: int | None,
    compressor: int | None,
    props: dict[str, str] | None,
    field: str,
    offset: int,
) -> MeasurementSchema:
    try:
        return MeasurementSchema(name, data_type, encoding, compressor, props)
    except ValueError as exc:
        raise PipeProtocolError(str(exc), field, offset) from None


def data_type_of(code: int, field: str, offset: int) -> TSDataType:
    try:
        dt = TSDataType(code)
        dt.numpy_dtype  # noqa: B018 - VECTOR/UNKNOWN hold no values
    except ValueError:
        raise PipeProtocolError(f"{code} is not a data type of a series", field, offset) from None
    return dt


#: what a null DATE slot holds on the wire (YYYYMMDD; IoTDB refuses 0)
NULL_DATE = 19700101


# ---------------------------------------------------------------- bitmaps


def pack_bitmap(mask: np.ndarray, nbytes: int) -> bytes:
    """A null mask as IoTDB's BitMap bytes (bit i in byte i//8, LSB first), `nbytes` long."""
    packed = np.packbits(mask, bitorder="little").tobytes()
    return packed + bytes(nbytes - len(packed))


def unpack_bitmap(data: bytes | memoryview, rows: int) -> np.ndarray:
    raw = np.frombuffer(data, dtype=np.uint8, count=(rows + 7) // 8)
    return np.unpackbits(raw, count=rows, bitorder="little").view(np.bool_)


# ---------------------------------------------------------------- columns


def column_bytes(data_type: TSDataType, column: np.ndarray) -> bytes:
    """A fixed-width column in wire order (big-endian; BOOLEAN as 0/1 bytes)."""
    if data_type is TSDataType.BOOLEAN:
        return column.view(np.uint8).tobytes()
    return column.astype(WIRE_DTYPES[data_type], copy=False).tobytes()


def binary_values(data_type: TSDataType, column: np.ndarray) -> list[bytes]:
    if data_type is TSDataType.BLOB:
        return [bytes(v) for v in column]
    return [v.encode("utf-8", "surrogateescape") for v in column]


def _write_text_column(
    w: BodyWriter, data_type: TSDataType, column: np.ndarray, mask: np.ndarray | None
) -> None:
    values = binary_values(data_type, column)
    pack = _LEN_PREFIX.pack
    if mask is None:
        w.raw(b"".join([pack(1, len(v)) + v for v in values]))
    else:
        w.raw(
            b"".join(
                [
                    b"\x00" if null else pack(1, len(v)) + v
                    for v, null in zip(values, mask.tolist(), strict=True)
                ]
            )
        )


def read_fixed_column(r: BodyReader, data_type: TSDataType, rows: int, field: str) -> np.ndarray:
    if data_type is TSDataType.BOOLEAN:
        return r.array("u1", rows, field) == 1
    return r.array(WIRE_DTYPES[data_type], rows, field).astype(data_type.numpy_dtype)


def _read_text_column(r: BodyReader, data_type: TSDataType, rows: int, field: str) -> np.ndarray:
    data, pos, end = r.data, r.pos, r.end
    blob = data_type is TSDataType.BLOB
    empty = b"" if blob else ""
    unpack = _I32.unpack_from
    values: list[object] = []
    append = values.append
    i = 0
    try:
        for i in range(rows):
            if data[pos] != 1:
                pos += 1
                append(empty)
                continue
            n = unpack(data, pos + 1)[0]
            start = pos + 5
            pos = start + n
            if n < 0 or pos > end:
                raise r.error(
                    f"{field}[{i}]", f"value length {n} with {end - start} bytes left", start - 4
                )
            raw = data[start:pos]
            append(raw if blob else raw.decode("utf-8", "surrogateescape"))
    except (IndexError, struct.error):
        raise r.error(f"{field}[{i}]", "body ends inside a text column", min(pos, end)) from None
    r.pos = pos
    out = np.empty(rows, dtype=object)
    out[:] = values
    return out


def placeholder_column(data_type: TSDataType, rows: int) -> np.ndarray:
    if data_type.is_binary:
        out = np.empty(rows, dtype=object)
        out[:] = b"" if data_type is TSDataType.BLOB else ""
        return out
    return np.zeros(rows, dtype=data_type.numpy_dtype)


# ---------------------------------------------------------------- tablets


COLUMN_CATEGORY_FIELD = 1


def write_tablet(w: BodyWriter, tablet: Tablet, categories: bool = False) -> None:
    """`Tablet.serialize` of tsfile 1.x (without the isAligned byte of a type-3 body); of
    tsfile 2.x with `categories` (a FIELD category byte after each schema)."""
    rows = tablet.row_count
    w.string(tablet.device)
    w.i32(rows)
    w.bool(True)
    w.i32(len(tablet.schemas))
    for schema in tablet.schemas:
        w.bool(True)
        write_measurement_schema(w, schema)
        if categories:
            w.byte(COLUMN_CATEGORY_FIELD)
    w.bool(True)
    w.raw(tablet.timestamps.astype(">i8").tobytes())
    if any(m is not None for m in tablet.null_masks):
        w.bool(True)
        for mask in tablet.null_masks:
            if mask is None:
                w.bool(False)
                continue
            w.bool(True)
            w.i32(rows)
            w.binary(pack_bitmap(mask, rows // 8 + 1))
    else:
        w.bool(False)
    w.bool(True)
    for schema, column, mask in zip(tablet.schemas, tablet.columns, tablet.null_masks, strict=True):
        w.bool(True)
        if schema.data_type.is_binary:
            _write_text_column(w, schema.data_type, column, mask)
        elif schema.data_type is TSDataType.DATE and mask is not None and mask.any():
            # IoTDB's Tablet.deserialize checks every DATE slot, null or not: a null slot
            # holds a valid date (1970-01-01), never 0 ("Invalid date format")
            w.raw(column_bytes(schema.data_type, np.where(mask, NULL_DATE, column)))
        else:
            w.raw(column_bytes(schema.data_type, column))


def read_tablet(
    r: BodyReader, field: str = "tablet", aligned: bool = False, categories: bool = False
) -> Tablet:
    """Read one `Tablet.serialize` at the reader's position (tsfile 2.x's with `categories`).

    A 2.x tablet whose columns are not all FIELDs is a table-model tablet: refused."""
    start = r.base + r.pos
    device = r.required_string(f"{field}.deviceId")
    rows = r.i32(f"{field}.rowSize")
    if rows < 0:
        raise r.error(f"{field}.rowSize", f"negative row count {rows}", r.pos - 4)
    schemas = _read_schemas(r, field, categories)
    if r.bool(f"{field}.times"):
        times = r.array(">i8", rows, f"{field}.times").astype(np.int64)
    elif rows:
        raise r.error(f"{field}.times", f"{rows} rows but no timestamps")
    else:
        times = np.empty(0, np.int64)
    masks = _read_bitmaps(r, field, len(schemas), rows)
    columns: list[np.ndarray] = []
    if r.bool(f"{field}.values"):
        for i, schema in enumerate(schemas):
            where = f"{field}.values[{schema.name}]"
            if not r.bool(where):
                columns.append(placeholder_column(schema.data_type, rows))
                masks[i] = np.ones(rows, np.bool_)
            elif schema.data_type.is_binary:
                columns.append(_read_text_column(r, schema.data_type, rows, where))
            else:
                columns.append(read_fixed_column(r, schema.data_type, rows, where))
    else:
        columns = [placeholder_column(s.data_type, rows) for s in schemas]
        masks = [np.ones(rows, np.bool_) for _ in schemas]
    try:
        return Tablet(device, schemas, times, columns, masks, aligned)
    except ValueError as exc:
        raise PipeProtocolError(str(exc), field, start) from None


def _read_schemas(r: BodyReader, field: str, categories: bool) -> list[MeasurementSchema]:
    if not r.bool(f"{field}.schemas"):
        return []
    n = r.count(f"{field}.schemaCount")
    schemas = []
    for i in range(n):
        if not r.bool(f"{field}.schemas[{i}]"):
            raise r.error(f"{field}.schemas[{i}]", "a column without a measurement schema")
        schemas.append(read_measurement_schema(r, f"{field}.schemas[{i}]"))
        if categories:
            at = r.pos
            category = r.byte(f"{field}.columnCategories[{i}]")
            if category != COLUMN_CATEGORY_FIELD:
                raise r.error(
                    f"{field}.columnCategories[{i}]",
                    f"column category {category} (TAG 0 / ATTRIBUTE 2): table-model tablets "
                    "are not supported, only tree-model ones (FIELD 1)",
                    at,
                )
    return schemas


def _read_bitmaps(r: BodyReader, field: str, columns: int, rows: int) -> list[np.ndarray | None]:
    masks: list[np.ndarray | None] = [None] * columns
    if not r.bool(f"{field}.bitmaps"):
        return masks
    for i in range(columns):
        where = f"{field}.bitmaps[{i}]"
        if not r.bool(where):
            continue
        at = r.pos
        size = r.i32(f"{where}.size")
        data = r.binary(where)
        if size < rows or len(data) * 8 < rows:
            raise r.error(where, f"a bitmap of {size} bits / {len(data)} bytes for {rows} rows", at)
        masks[i] = unpack_bitmap(data, rows)
    return masks


def encode_tablet_raw(tablet: Tablet) -> bytes:
    """A type-3 (TRANSFER_TABLET_RAW) body: the tablet, then the isAligned byte."""
    w = BodyWriter()
    write_tablet(w, tablet)
    w.bool(tablet.aligned)
    return w.getvalue()


def decode_tablet_raw(body: bytes) -> Tablet:
    """A type-3 body as a `Tablet` (rows as sent: not sorted, duplicates kept)."""
    r = BodyReader(body)
    tablet = read_tablet(r)
    tablet.aligned = r.bool("tablet.isAligned")
    r.expect_end("tablet raw body")
    return tablet
