"""Hypothesis strategies shared by the whole test suite (one module, as STYLE.md asks)."""

from __future__ import annotations

# --- TsFile value arrays (codecs) -------------------------------------------------------------
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pipecore_storage.types import TSDataType

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


# --- TsFile tablets (tsfile writer/reader) -----------------------------------------------------
from pipecore_storage.tablet import MeasurementSchema, Tablet  # noqa: E402
from pipecore_storage.types import CompressionType, TSEncoding  # noqa: E402

_TSFILE_COMPRESSIONS = [
    CompressionType.UNCOMPRESSED,
    CompressionType.SNAPPY,
    CompressionType.GZIP,
    CompressionType.LZ4,
    CompressionType.ZSTD,
    CompressionType.LZMA2,
]
_V3_TYPES = [t for t in TSDataType if t.in_format_v3 and t != TSDataType.VECTOR]
_V4_TYPES = [t for t in TSDataType if t not in (TSDataType.VECTOR, TSDataType.UNKNOWN)]


@st.composite
def tsfile_tablets(
    draw,
    *,
    version: int = 4,
    max_rows: int = 120,
    max_columns: int = 5,
    lossless: bool = True,
    official_safe: bool = False,
) -> Tablet:
    """A random tablet for a TsFile: unsorted times with duplicates, nulls, any writable
    (type, encoding, compression), aligned or not.

    `lossless` keeps FLOAT/DOUBLE away from the scaled (lossy) encodings. `official_safe`
    keeps values the official reader (2.5.0) returns unchanged: no NUL characters in text
    (its binding truncates at NUL) and times within +-2**31 (it returns no rows for a series
    whose TS_2DIFF time blocks need very wide deltas, e.g. 17 times ending at 2**59, even from
    files of the official writer, whose bytes are identical to ours).
    """
    from pipecore_storage.tsfile import encoding as codecs

    types = _V3_TYPES if version == 3 else _V4_TYPES
    ncols = draw(st.integers(1, max_columns))
    names = draw(
        st.lists(
            st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True),
            min_size=ncols,
            max_size=ncols,
            unique=True,
        )
    )
    schemas = []
    for name in names:
        dt = draw(st.sampled_from(types))
        encs = [e for e in TSEncoding if codecs.writable(dt, e)]
        if lossless and dt in (TSDataType.FLOAT, TSDataType.DOUBLE):
            encs = [e for e in encs if e not in (TSEncoding.TS_2DIFF, TSEncoding.RLE)]
        schemas.append(
            MeasurementSchema(
                name, dt, draw(st.sampled_from(encs)), draw(st.sampled_from(_TSFILE_COMPRESSIONS))
            )
        )
    rows = draw(st.integers(1, max_rows))
    bound = 2**31 if official_safe else 2**63 - 1
    times = draw(
        st.one_of(
            hnp.arrays(np.int64, rows, elements=st.integers(-bound, bound)),
            hnp.arrays(np.int64, rows, elements=st.integers(0, rows * 2)),  # duplicates
        )
    )
    columns, masks = [], []
    for s in schemas:
        columns.append(_column_of(draw, s.data_type, rows, official_safe))
        masks.append(draw(hnp.arrays(np.bool_, rows)))
    return Tablet(
        draw(st.sampled_from(["root.sg.d1", "root.a.b.c.d", "plain_dev", "root.x"])),
        schemas,
        times,
        columns,
        masks,
        draw(st.booleans()),
    )


def _column_of(draw, data_type: TSDataType, rows: int, official_safe: bool) -> np.ndarray:
    if data_type.is_binary:
        if data_type is TSDataType.BLOB:
            item = st.binary(max_size=12)
            if official_safe:
                item = item.map(lambda b: b"\x01" + b.replace(b"\x00", b"\x01"))
        else:
            item = st.text(max_size=10)
            if official_safe:
                item = item.map(lambda s: s.replace("\x00", "_"))
        return _object_array(draw(st.lists(item, min_size=rows, max_size=rows)))
    if data_type is TSDataType.DATE:
        return draw(
            hnp.arrays(
                np.int32,
                rows,
                elements=st.dates().map(lambda d: d.year * 10000 + d.month * 100 + d.day),
            )
        )
    if data_type is TSDataType.BOOLEAN:
        return draw(hnp.arrays(np.bool_, rows))
    dtype = data_type.numpy_dtype
    if dtype.kind == "i":
        return draw(hnp.arrays(dtype, rows, elements=_int_elements(dtype)))
    return draw(
        hnp.arrays(dtype, rows, elements=_float_elements(32 if dtype.itemsize == 4 else 64))
    )
