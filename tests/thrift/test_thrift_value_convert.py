"""The receiver's type conversion (`value_convert`) against IoTDB's ValueConverter: a table of
IoTDB's answers (TypeConversionSemanticCase of IoTDB's ITs, Java's cast and toString rules, and
cells a real IoTDB 2.0.1 receiver wrote: tests/interop/test_iotdb_type_conversion.py), and the
laws the rules imply, checked with hypothesis."""

from __future__ import annotations

import datetime
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipecore_storage.types import TSDataType as T
from pipecore_thrift_sink.convert import convert_column
from pipecore_thrift_sink.value_convert import convert_values

_DTYPE_INPUT = {T.TEXT: object, T.STRING: object, T.BLOB: object}

# (source, target, given, IoTDB's answer)
TABLE = [
    (T.BOOLEAN, T.INT32, [True, False], [1, 0]),
    (T.BOOLEAN, T.DOUBLE, [True, False], [1.0, 0.0]),
    (T.BOOLEAN, T.TEXT, [True, False], ["true", "false"]),
    (T.BOOLEAN, T.BLOB, [True, False], [b"true", b"false"]),
    (T.BOOLEAN, T.DATE, [True, False], [19700102, 19700101]),
    (T.BOOLEAN, T.TIMESTAMP, [True, False], [1, 0]),
    (T.INT32, T.BOOLEAN, [0, 2, -1], [False, True, True]),
    (T.INT32, T.DATE, [19700102, 20240229, 42], [19700102, 20240229, 19700101]),
    (T.INT32, T.DATE, [20230229, 20241301, -19700101], [19700101] * 3),
    (T.INT32, T.TEXT, [-3, 2147483647], ["-3", "2147483647"]),
    (T.INT64, T.INT32, [2147483648, -2147483649, 42], [-2147483648, 2147483647, 42]),
    (T.INT64, T.DATE, [19700102, 2147483648, 19700103], [19700102, 19700101, 19700103]),
    (T.INT64, T.FLOAT, [16777217], [16777216.0]),
    (T.FLOAT, T.INT32, [2.9, -2.9, 0.0], [2, -2, 0]),
    (T.FLOAT, T.BOOLEAN, [0.0, 0.1, -0.1], [False, True, True]),
    (T.FLOAT, T.DATE, [19700102.9, 42.9], [19700102, 19700101]),
    (T.FLOAT, T.TEXT, [1.5e10, 0.1, 1e-5, 100.0], ["1.5E10", "0.1", "1.0E-5", "100.0"]),
    (T.DOUBLE, T.INT64, [3.9, -3.9, 0.0, math.nan, 1e300], [3, -3, 0, 0, 2**63 - 1]),
    (T.DOUBLE, T.INT32, [-1e10, math.inf], [-(2**31), 2**31 - 1]),
    (T.DOUBLE, T.TIMESTAMP, [1.9, 86400000.9, 0.0], [1, 86400000, 0]),
    (T.DOUBLE, T.STRING, [1e7, 9999999.0, 0.001, -0.0], ["1.0E7", "9999999.0", "0.001", "-0.0"]),
    (T.DOUBLE, T.FLOAT, [1e39], [math.inf]),
    (T.TEXT, T.INT32, ["123.9", "bad", "-123.9", " 7 ", "1e3", "5f"], [123, 0, -123, 7, 1000, 5]),
    (
        T.STRING,
        T.INT64,
        ["456.9", "bad", "-456.9", "NaN", "Infinity"],
        [456, 0, -456, 0, 2**63 - 1],
    ),
    (T.BLOB, T.FLOAT, [b"7.5", b"bad", b"-7.5"], [7.5, 0.0, -7.5]),
    (T.TEXT, T.DOUBLE, ["8.25", "bad", "-8.25", "inf", "1_0"], [8.25, 0.0, -8.25, 0.0, 0.0]),
    (T.TEXT, T.BOOLEAN, ["true", "1", "TrUe", " true"], [True, False, True, False]),
    (T.STRING, T.BOOLEAN, ["TRUE", "false", "yes"], [True, False, False]),
    (T.BLOB, T.BOOLEAN, [b"true", b"FALSE", b"0"], [True, False, False]),
    (
        T.TEXT,
        T.TIMESTAMP,
        ["86400000", "1970-01-02T00:00:00.000", "bad", "", "1.5", "1970-01-02T08:00:00+08:00"],
        [86400000, 86400000, 0, 0, 0, 86400000],
    ),
    (  # IoTDB 2.0.1: a datetime's date needs two-digit month and day; " 7 " is no long
        T.TEXT,
        T.TIMESTAMP,
        ["2024-2-3", "2024/02/29", " 2024-02-29 ", "2024-01-02 03:04:05", " 7 ", "now"],
        [0, 1709164800000, 1709164800000, 1704164645000, 0, 0],
    ),
    (  # the SMART resolver's clamp, as for DATE; an offset and a year below 1000 are kept
        T.STRING,
        T.TIMESTAMP,
        ["2024-02-30", "2023-04-31T01:00:00", "0999-12-31", "2024-01-02T03:04:05+08:00"],
        [1709164800000, 1682816400000, -30610310400000, 1704135845000],
    ),
    (
        T.STRING,
        T.TIMESTAMP,
        ["1970-01-03T00:00:00.000", "bad", "86400000"],
        [172800000, 0, 86400000],
    ),
    (T.BLOB, T.TIMESTAMP, [b"bad", b"1", b"1970-01-02T00:00:00.000"], [0, 1, 86400000]),
    (
        T.TEXT,
        T.DATE,
        ["19700102", "1970-01-04", "bad", "2024/02/29", ""],
        [19700102, 19700104, 19700101, 19700101, 19700101],
    ),
    (  # IoTDB 2.0.1: only yyyy-MM-dd (trimmed) or a yyyymmdd number; no datetimes
        T.TEXT,
        T.DATE,
        ["2024.02.29", "2024-2-3", " 2024-02-29 ", "2024-01-02T03:04:05.006Z", "20240230", " 7 "],
        [19700101, 19700101, 20240229, 19700101, 19700101, 19700101],
    ),
    (  # LocalDate.parse's SMART resolver clamps a day 29-31 to the month's last; 1000-9999
        T.STRING,
        T.DATE,
        ["2024-02-30", "2023-02-31", "2023-04-31", "2023-04-32", "0999-12-31", "2023-13-01"],
        [20240229, 20230228, 20230430, 19700101, 19700101, 19700101],
    ),
    (T.STRING, T.DATE, ["1970-01-03", "19700105", "20230229"], [19700103, 19700105, 19700101]),
    (T.BLOB, T.DATE, [b"bad", b"1970-01-06", b"19700108"], [19700101, 19700106, 19700108]),
    (T.TEXT, T.BLOB, ["héllo"], ["héllo".encode()]),
    (T.BLOB, T.STRING, [b"abc"], ["abc"]),
    (T.TIMESTAMP, T.DATE, [0, 86399999, 86400000, -1], [19700101, 19700101, 19700102, 19691231]),
    (T.TIMESTAMP, T.TEXT, [86400000], ["86400000"]),
    (T.TIMESTAMP, T.BOOLEAN, [0, -1, 1], [False, True, True]),
    (T.DATE, T.TIMESTAMP, [19700101, 19700102, 19700103], [0, 86400000, 172800000]),
    (T.DATE, T.BOOLEAN, [19700101, 19700102, 19691231], [False, True, True]),
    (T.DATE, T.TEXT, [20230105, 19691231], ["20230105", "19691231"]),  # 2.0.1: the int
    (T.DATE, T.BLOB, [10000101], [b"10000101"]),
    (T.DATE, T.INT64, [20230105], [20230105]),
]


def _column(kind: T, values: list) -> np.ndarray:
    if kind.is_binary:
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out
    return np.array(values, dtype=kind.numpy_dtype)


@pytest.mark.parametrize(
    ("source", "target", "given_values", "answer"),
    TABLE,
    ids=[f"{s.name}-{t.name}-{i}" for i, (s, t, _, _) in enumerate(TABLE)],
)
def test_iotdb_answers(source: T, target: T, given_values: list, answer: list) -> None:
    got = convert_values(_column(source, given_values), source, target)
    assert got.dtype == target.numpy_dtype
    assert got.tolist() == answer


def test_nulls_stay_null_and_nothing_new_is_null() -> None:
    column = np.array(["1", None, "bad"], dtype=object)
    mask = np.array([False, True, False])
    out, out_mask = convert_column(column, mask, T.TEXT, T.INT32)
    assert out_mask is mask and out[0] == 1 and out[2] == 0
    out, out_mask = convert_column(np.array([1.5, 2.5]), None, T.DOUBLE, T.TEXT)
    assert out_mask is None and out.tolist() == ["1.5", "2.5"]


_TYPES = [
    T.BOOLEAN,
    T.INT32,
    T.INT64,
    T.FLOAT,
    T.DOUBLE,
    T.TEXT,
    T.TIMESTAMP,
    T.DATE,
    T.BLOB,
    T.STRING,
]
_VALUES = {
    T.BOOLEAN: st.booleans(),
    T.INT32: st.integers(-(2**31), 2**31 - 1),
    T.INT64: st.integers(-(2**63), 2**63 - 1),
    T.TIMESTAMP: st.integers(-(2**40), 2**40),
    T.FLOAT: st.floats(width=32),
    T.DOUBLE: st.floats(),
    T.DATE: st.dates(datetime.date(1000, 1, 1)).map(
        lambda d: d.year * 10000 + d.month * 100 + d.day
    ),
    T.TEXT: st.text(max_size=12),
    T.STRING: st.text(alphabet="0123456789.-eE ", max_size=8),
    T.BLOB: st.binary(max_size=8),
}


@settings(max_examples=60, deadline=None)
@given(data=st.data(), source=st.sampled_from(_TYPES), target=st.sampled_from(_TYPES))
def test_column_is_its_cells(data, source: T, target: T) -> None:
    """Vectorised: a column converts as its cells do one by one (the rule is per value)."""
    values = data.draw(st.lists(_VALUES[source], min_size=1, max_size=6))
    whole = convert_values(_column(source, values), source, target)
    for i, value in enumerate(values):
        alone = convert_values(_column(source, [value]), source, target)
        same = whole[i] == alone[0] or (
            isinstance(alone[0], float | np.floating)
            and math.isnan(alone[0])
            and math.isnan(whole[i])
        )
        assert same, (value, whole[i], alone[0])


@given(st.lists(st.floats(), min_size=1, max_size=8))
def test_double_to_int_is_javas_cast(values: list[float]) -> None:
    got = convert_values(np.array(values), T.DOUBLE, T.INT64).tolist()
    for value, out in zip(values, got, strict=True):
        want = (
            0
            if math.isnan(value)
            else max(
                -(2**63),
                min(
                    2**63 - 1,
                    int(value) if math.isfinite(value) else (2**63 if value > 0 else -(2**63)),
                ),
            )
        )
        assert out == want


@given(st.lists(st.floats(allow_nan=False), min_size=1, max_size=8))
def test_double_text_round_trip(values: list[float]) -> None:
    """Double.toString gives the shortest digits: parsing them back gives the double."""
    text = convert_values(np.array(values), T.DOUBLE, T.TEXT)
    back = convert_values(text, T.TEXT, T.DOUBLE)
    assert back.tolist() == values or all(a == b for a, b in zip(back, values, strict=True))


@given(st.lists(st.integers(-(2**53), 2**53), min_size=1, max_size=8))
def test_int64_text_round_trip(values: list[int]) -> None:
    """(long) Double.parseDouble(Long.toString(v)) is v while v fits a double exactly."""
    text = convert_values(np.array(values, np.int64), T.INT64, T.STRING)
    assert convert_values(text, T.STRING, T.INT64).tolist() == values


@given(st.lists(_VALUES[T.DATE], min_size=1, max_size=8))
def test_date_timestamp_round_trip(days: list[int]) -> None:
    """DATE → TIMESTAMP is the UTC midnight, TIMESTAMP → DATE its UTC day: a round trip, and
    the texts agree with Python's calendar."""
    column = np.array(days, np.int32)
    ms = convert_values(column, T.DATE, T.TIMESTAMP)
    assert convert_values(ms, T.TIMESTAMP, T.DATE).tolist() == days
    epoch = datetime.date(1970, 1, 1)
    for day, millis, text in zip(
        days, ms.tolist(), convert_values(column, T.DATE, T.TEXT), strict=True
    ):
        date = datetime.date(day // 10000, day // 100 % 100, day % 100)
        assert millis == (date - epoch).days * 86_400_000
        assert text == date.strftime("%Y%m%d")
