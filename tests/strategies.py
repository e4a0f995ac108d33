"""Hypothesis strategies shared by the whole test suite (one module, as STYLE.md asks)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pipecore_storage.tablet import MeasurementSchema, Tablet
from pipecore_storage.types import (
    CompressionType,
    TSDataType,
    TSEncoding,
    decode_text,
)

# --- TsFile value arrays (codecs) -------------------------------------------------------------
_INT_EXTREMES = {
    np.dtype(np.int32): [-(2**31), 2**31 - 1, 0, -1, 1],
    np.dtype(np.int64): [-(2**63), 2**63 - 1, 0, -1, 1, 2**31, -(2**31) - 1],
}


def _int_elements(dtype: np.dtype) -> st.SearchStrategy[int]:
    info = np.iinfo(dtype)
    return st.one_of(
        st.integers(info.min, info.max),
        st.sampled_from(_INT_EXTREMES[dtype]),
        st.integers(-1000, 1000),
    )


def _float_elements(width: int) -> st.SearchStrategy[float]:
    return st.one_of(
        st.floats(width=width, allow_nan=True, allow_infinity=True, allow_subnormal=True),
        st.sampled_from([0.0, -0.0, float("inf"), float("-inf"), float("nan"), 1.5, -2.25]),
    )


def _object_array(items: list) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def value_arrays(
    data_type: TSDataType, max_size: int = 300, *, smooth: bool = False
) -> st.SearchStrategy[np.ndarray]:
    """Arrays of non-null values of `data_type` in the numpy layout of pipecore_storage.types.

    Includes extremes (int min/max, +-inf, NaN, -0.0), empty strings, non-ASCII text and
    empty arrays. `smooth` biases numeric arrays towards runs and slowly changing values (the
    shapes that exercise RLE runs and small delta widths).
    """
    dtype = data_type.numpy_dtype
    size = st.integers(0, max_size)
    if data_type is TSDataType.BOOLEAN:
        return hnp.arrays(np.bool_, size)
    if data_type.is_binary:
        if data_type is TSDataType.BLOB:
            item = st.binary(max_size=40)
        else:
            item = st.one_of(
                st.text(max_size=20), st.sampled_from(["", "é", "温度", "\x00", "a" * 70])
            )
        return st.lists(item, max_size=max_size).map(_object_array)
    if dtype.kind == "i":
        elements = _int_elements(dtype)
    else:
        elements = _float_elements(32 if dtype.itemsize == 4 else 64)
    plain = hnp.arrays(dtype, size, elements=elements)
    if not smooth:
        return plain
    runs = st.lists(st.tuples(elements, st.integers(1, 40)), max_size=12).map(
        lambda rs: (
            np.repeat(np.array([v for v, _ in rs], dtype=dtype), [n for _, n in rs])
            if rs
            else np.zeros(0, dtype=dtype)
        )
    )
    return st.one_of(plain, runs)


# ---------------------------------------------------------------- tablets (wire codecs, rpc)
VALUE_TYPES = [t for t in TSDataType if t not in (TSDataType.VECTOR, TSDataType.UNKNOWN)]

# text that is not always valid UTF-8: arbitrary bytes kept with surrogateescape
texts = st.one_of(st.text(max_size=12), st.binary(max_size=12).map(decode_text))


def values_of(data_type: TSDataType) -> st.SearchStrategy:
    """Values of one data type as a Tablet column holds them, extremes included."""
    if data_type is TSDataType.BOOLEAN:
        return st.booleans()
    if data_type is TSDataType.INT32:
        return st.integers(-(2**31), 2**31 - 1)
    if data_type in (TSDataType.INT64, TSDataType.TIMESTAMP):
        return st.integers(-(2**63), 2**63 - 1)
    if data_type is TSDataType.DATE:
        return st.dates().map(lambda d: d.year * 10000 + d.month * 100 + d.day)
    if data_type is TSDataType.FLOAT:
        return st.floats(width=32, allow_nan=True)
    if data_type is TSDataType.DOUBLE:
        return st.floats(allow_nan=True)
    if data_type is TSDataType.BLOB:
        return st.binary(max_size=12)
    return texts


@st.composite
def measurement_schemas(draw, name: str | None = None) -> MeasurementSchema:
    data_type = draw(st.sampled_from(VALUE_TYPES))
    props = draw(st.dictionaries(st.sampled_from(["max_point_number", "k"]), st.text(max_size=4)))
    return MeasurementSchema(
        name if name is not None else draw(st.text(min_size=1, max_size=8)),
        data_type,
        draw(st.sampled_from(list(TSEncoding))),
        draw(st.sampled_from(list(CompressionType))),
        props,
    )


@st.composite
def tablets(draw, max_rows: int = 20, max_columns: int = 6, devices=None) -> Tablet:
    """Tablets of every data type, with nulls (or not), empty ones, unicode/non-UTF-8 text."""
    names = draw(st.lists(st.text(min_size=1, max_size=8), max_size=max_columns, unique=True))
    schemas = [draw(measurement_schemas(n)) for n in names]
    rows = draw(st.integers(0, max_rows))
    times = draw(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=rows, max_size=rows))
    columns, masks = [], []
    for schema in schemas:
        values = draw(st.lists(values_of(schema.data_type), min_size=rows, max_size=rows))
        if schema.data_type.is_binary:
            column = np.empty(rows, dtype=object)
            column[:] = values
        else:
            column = np.array(values, dtype=schema.data_type.numpy_dtype)
        columns.append(column)
        has_nulls = draw(st.booleans())
        masks.append(
            np.array(draw(st.lists(st.booleans(), min_size=rows, max_size=rows)), dtype=bool)
            if has_nulls
            else None
        )
    device = draw(devices if devices is not None else texts.filter(bool))
    return Tablet(
        device, schemas, np.array(times, dtype=np.int64), columns, masks, draw(st.booleans())
    )


# --- the store (tests/store) -------------------------------------------------------------------
STORE_SERIES: dict[str, TSDataType] = {
    "s_i64": TSDataType.INT64,
    "s_dbl": TSDataType.DOUBLE,
    "s_txt": TSDataType.TEXT,
    "s_bool": TSDataType.BOOLEAN,
    "s_i32": TSDataType.INT32,
}
"""Measurements the store tests write, each with a fixed data type."""


def store_values(data_type: TSDataType) -> st.SearchStrategy:
    """Python values of a type that survive a store round trip exactly (no NaN)."""
    if data_type is TSDataType.BOOLEAN:
        return st.booleans()
    if data_type is TSDataType.INT32:
        return st.integers(-(2**31), 2**31 - 1)
    if data_type is TSDataType.INT64:
        return st.integers(-(2**63), 2**63 - 1)
    if data_type is TSDataType.DOUBLE:
        return st.floats(allow_nan=False, allow_infinity=True)
    if data_type is TSDataType.FLOAT:
        return st.floats(width=32, allow_nan=False)
    return st.text(max_size=12)


@st.composite
def store_rows(draw, measurements: list[str], times: st.SearchStrategy[int], max_rows: int = 30):
    """Rows ``(time, {measurement: value or None})`` for the given measurements."""
    n = draw(st.integers(1, max_rows))
    rows = []
    for _ in range(n):
        t = draw(times)
        values = {m: draw(st.none() | store_values(STORE_SERIES[m])) for m in measurements}
        rows.append((t, values))
    return rows
