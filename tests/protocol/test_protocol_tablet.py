"""Tablet raw bodies (type 3): exact bytes from the reference layout, and round trips."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from strategies import tablets

from pipecore_storage import MeasurementSchema, Tablet
from pipecore_storage.types import CompressionType, TSDataType, TSEncoding
from pipecore_thrift_sink.protocol import PipeProtocolError, decode_tablet_raw, encode_tablet_raw


def s(text: str | bytes) -> bytes:
    data = text.encode() if isinstance(text, str) else text
    return struct.pack(">i", len(data)) + data


def schema_bytes(name, dt, enc, comp, props=()):
    out = s(name) + bytes([dt, enc, comp]) + struct.pack(">i", len(props))
    for k, v in props:
        out += s(k) + s(v)
    return out


def reference_body() -> bytes:
    """root.sg.d1, 3 rows, s1 INT32 (row 1 null), s2 TEXT, s3 DOUBLE — by §3.4, by hand."""
    body = s("root.sg.d1") + struct.pack(">i", 3)
    body += b"\x01" + struct.pack(">i", 3)
    body += b"\x01" + schema_bytes("s1", 1, 2, 1)  # INT32 RLE SNAPPY
    body += b"\x01" + schema_bytes("s2", 5, 0, 7, [("k", "v")])  # TEXT PLAIN LZ4
    body += b"\x01" + schema_bytes("s3", 4, 8, 0)  # DOUBLE GORILLA UNCOMPRESSED
    body += b"\x01" + struct.pack(">qqq", 10, 20, 30)
    # bitmaps: only s1 has one; capacity 3 -> 3/8+1 = 1 byte; row 1 null -> bit 1
    body += b"\x01" + b"\x01" + struct.pack(">i", 3) + s(b"\x02") + b"\x00" + b"\x00"
    body += b"\x01"
    body += b"\x01" + struct.pack(">iii", 7, 0, -9)
    body += b"\x01" + b"\x01" + s("a") + b"\x01" + s("\u00e9t\u00e9") + b"\x01" + s("")
    body += b"\x01" + struct.pack(">ddd", 1.5, -0.25, 1e300)
    return body + b"\x01"  # isAligned


def reference_tablet() -> Tablet:
    schemas = [
        MeasurementSchema("s1", "INT32", "RLE", "SNAPPY"),
        MeasurementSchema("s2", "TEXT", "PLAIN", "LZ4", {"k": "v"}),
        MeasurementSchema("s3", "DOUBLE", "GORILLA", "UNCOMPRESSED"),
    ]
    columns = [
        np.array([7, 0, -9], np.int32),
        np.array(["a", "\u00e9t\u00e9", ""], dtype=object),
        np.array([1.5, -0.25, 1e300]),
    ]
    masks = [np.array([False, True, False]), None, None]
    return Tablet("root.sg.d1", schemas, [10, 20, 30], columns, masks, aligned=True)


def test_encoder_writes_the_reference_layout_byte_for_byte():
    assert encode_tablet_raw(reference_tablet()) == reference_body()


def test_decoder_reads_the_reference_layout():
    tablet = decode_tablet_raw(reference_body())
    assert tablet.equals(reference_tablet())
    assert tablet.aligned is True
    assert tablet.schemas[1].props_dict == {"k": "v"}
    assert tablet.schemas[0].encoding is TSEncoding.RLE
    assert tablet.schemas[2].compression is CompressionType.UNCOMPRESSED


def test_java_shaped_bitmap_with_capacity_larger_than_rows():
    """Java writes the bitmap's capacity (maxRowNumber, here 1024) and size/8+1 bytes."""
    bitmap = bytearray(1024 // 8 + 1)
    bitmap[0] = 0b00000101  # rows 0 and 2 null
    body = s("root.a") + struct.pack(">i", 3) + b"\x01" + struct.pack(">i", 1)
    body += b"\x01" + schema_bytes("x", 2, 4, 7)
    body += b"\x01" + struct.pack(">qqq", 1, 2, 3)
    body += b"\x01\x01" + struct.pack(">i", 1024) + s(bytes(bitmap))
    body += b"\x01\x01" + struct.pack(">qqq", 0, 42, 0) + b"\x00"
    tablet = decode_tablet_raw(body)
    assert list(tablet.iter_rows()) == [(1, [None]), (2, [42]), (3, [None])]
    assert tablet.aligned is False


def test_text_cells_without_value_are_empty_not_null_unless_the_bitmap_says_so():
    body = s("root.a") + struct.pack(">i", 2) + b"\x01" + struct.pack(">i", 1)
    body += b"\x01" + schema_bytes("t", 11, 0, 0)  # STRING
    body += b"\x01" + struct.pack(">qq", 5, 6)
    body += b"\x00"  # no bitmaps
    body += b"\x01\x01" + b"\x00" + b"\x01" + s("z") + b"\x00"
    tablet = decode_tablet_raw(body)
    assert list(tablet.iter_rows()) == [(5, [""]), (6, ["z"])]


def test_absent_value_column_is_all_null():
    body = s("root.a") + struct.pack(">i", 2) + b"\x01" + struct.pack(">i", 2)
    body += b"\x01" + schema_bytes("a", 0, 0, 0) + b"\x01" + schema_bytes("b", 9, 0, 0)
    body += b"\x01" + struct.pack(">qq", 1, 2) + b"\x00"
    body += b"\x01" + b"\x00" + b"\x01" + struct.pack(">ii", 20240101, 20241231)
    body += b"\x00"
    tablet = decode_tablet_raw(body)
    assert list(tablet.iter_rows()) == [(1, [None, 20240101]), (2, [None, 20241231])]


def test_every_data_type_encodes_as_the_reference_says():
    types = [t for t in TSDataType if t not in (TSDataType.VECTOR, TSDataType.UNKNOWN)]
    values = {
        TSDataType.BOOLEAN: (True, b"\x01"),
        TSDataType.INT32: (-2, struct.pack(">i", -2)),
        TSDataType.INT64: (2**40, struct.pack(">q", 2**40)),
        TSDataType.FLOAT: (0.5, struct.pack(">f", 0.5)),
        TSDataType.DOUBLE: (-3.25, struct.pack(">d", -3.25)),
        TSDataType.TEXT: ("x", b"\x01" + s("x")),
        TSDataType.TIMESTAMP: (-5, struct.pack(">q", -5)),
        TSDataType.DATE: (19700101, struct.pack(">i", 19700101)),
        TSDataType.BLOB: (b"\x00\xff", b"\x01" + s(b"\x00\xff")),
        TSDataType.STRING: ("y", b"\x01" + s("y")),
    }
    for dt in types:
        schema = MeasurementSchema("m", dt, "PLAIN", "UNCOMPRESSED")
        value, wire = values[dt]
        tablet = Tablet.from_rows("root.d", [schema], [(9, [value])])
        body = encode_tablet_raw(tablet)
        # values part: flag 1, column flag 1, the value, then isAligned
        assert body.endswith(b"\x01\x01" + wire + b"\x00"), dt
        assert list(decode_tablet_raw(body).iter_rows()) == [(9, [value])], dt


@settings(max_examples=150, deadline=None)
@given(tablets())
def test_round_trip_every_type_with_nulls(tablet):
    decoded = decode_tablet_raw(encode_tablet_raw(tablet))
    assert decoded.equals(tablet)
    assert decoded.aligned == tablet.aligned
    assert decoded.schemas == tablet.schemas
    assert encode_tablet_raw(decoded) == encode_tablet_raw(tablet)


def test_empty_tablet_round_trips():
    schemas = [MeasurementSchema("a", "TEXT"), MeasurementSchema("b", "INT64")]
    tablet = Tablet.empty("root.e", schemas)
    decoded = decode_tablet_raw(encode_tablet_raw(tablet))
    assert decoded.row_count == 0 and decoded.measurements == ["a", "b"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (s("root.a") + struct.pack(">i", -1), "tablet.rowSize"),
        (s("root.a") + struct.pack(">i", 5) + b"\x00" + b"\x01" + struct.pack(">q", 1), "times"),
        (s("root.a") + struct.pack(">i", 0) + b"\x01" + struct.pack(">i", 2**30), "schemaCount"),
        (struct.pack(">i", 2**31 - 1) + b"abc", "deviceId"),
    ],
)
def test_malformed_bodies_name_the_field(body, field):
    with pytest.raises(PipeProtocolError, match=field) as info:
        decode_tablet_raw(body)
    assert info.value.offset is not None


def test_unknown_data_type_is_refused():
    body = s("root.a") + struct.pack(">i", 0) + b"\x01" + struct.pack(">i", 1)
    body += b"\x01" + schema_bytes("v", 6, 0, 0)  # VECTOR
    with pytest.raises(PipeProtocolError, match=r"VECTOR|data type"):
        decode_tablet_raw(body + b"\x01\x00\x00\x01\x01\x00")


def test_trailing_bytes_are_refused():
    with pytest.raises(PipeProtocolError, match="trailing"):
        decode_tablet_raw(reference_body() + b"\x00")
