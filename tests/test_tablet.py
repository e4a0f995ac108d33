"""The Tablet and MeasurementSchema value types shared by every part of pipecore."""

from __future__ import annotations

import numpy as np
import pytest

from pipecore_storage import MeasurementSchema, Tablet, TSDataType, TSEncoding
from pipecore_storage.types import CompressionType, decode_text, encode_text


def _schemas() -> list[MeasurementSchema]:
    return [
        MeasurementSchema("s1", "INT32"),
        MeasurementSchema("s2", TSDataType.TEXT, "plain", "snappy"),
        MeasurementSchema("s3", TSDataType.DOUBLE),
    ]


def test_schema_defaults_follow_the_official_writer() -> None:
    s = MeasurementSchema("b", "boolean")
    assert (s.data_type, s.encoding, s.compression) == (
        TSDataType.BOOLEAN,
        TSEncoding.PLAIN,
        CompressionType.LZ4,
    )
    assert MeasurementSchema("x", "double").encoding == TSEncoding.GORILLA


def test_schema_rejects_bad_names_with_the_field() -> None:
    with pytest.raises(ValueError, match="unknown data type 'INT33'"):
        MeasurementSchema("s", "INT33")
    with pytest.raises(ValueError, match="unknown encoding"):
        MeasurementSchema("s", "INT32", encoding="ZIPPY")
    with pytest.raises(ValueError, match="VECTOR"):
        MeasurementSchema("s", "VECTOR")


def test_from_rows_builds_columns_and_masks() -> None:
    t = Tablet.from_rows(
        "root.sg.d1", _schemas(), [(3, [1, "a", None]), (1, [None, "b", 2.5]), (2, [7, None, 1.0])]
    )
    assert t.row_count == 3 and t.point_count() == 6
    assert t.columns[0].dtype == np.int32 and t.columns[1].dtype == object
    assert t.null_mask(0).tolist() == [False, True, False]
    rows = list(t.sorted().iter_rows())
    assert rows == [(1, [None, "b", 2.5]), (2, [7, None, 1.0]), (3, [1, "a", None])]


def test_sorted_keeps_the_last_write_for_equal_times() -> None:
    t = Tablet.from_rows("root.d", _schemas()[:1], [(5, [1]), (4, [2]), (5, [3])])
    assert list(t.sorted().iter_rows()) == [(4, [2]), (5, [3])]


def test_between_select_and_equals() -> None:
    t = Tablet.from_rows("root.d", _schemas(), [(i, [i, str(i), i / 2]) for i in range(10)])
    sub = t.between(2, 4).select(["s3", "s1"])
    assert sub.timestamps.tolist() == [2, 3, 4]
    assert sub.measurements == ["s3", "s1"]
    assert t.equals(t.take(np.arange(10)))
    assert not t.equals(t.slice(0, 9))


def test_shape_errors_name_the_column() -> None:
    with pytest.raises(ValueError, match=r"root.d.s1: expected 2 values"):
        Tablet("root.d", _schemas()[:1], np.array([1, 2]), [np.array([1, 2, 3], np.int32)])


def test_text_codec_is_lossless_for_non_utf8_bytes() -> None:
    raw = b"\xff\xfeok\xe4\xb8\xad"
    assert encode_text(decode_text(raw)) == raw
