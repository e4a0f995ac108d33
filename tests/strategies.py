"""Hypothesis strategies shared by the whole test suite (one module, as STYLE.md asks)."""

from __future__ import annotations

import datetime as _dt
import functools
import random
import re

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pipecore_storage.memtable import DeviceData, MemChunk
from pipecore_storage.origin import CLIENT
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


def _segment(kind: int, length: int, seed: int, held: object, dtype: np.dtype) -> np.ndarray:
    rng = np.random.default_rng(seed)
    itemsize = dtype.itemsize
    if kind == 0:  # a value held
        return np.full(length, held, dtype=dtype)
    if kind == 1:  # random bit patterns (any NaN payload, inf, subnormals, extremes)
        return np.frombuffer(rng.bytes(length * itemsize), dtype=dtype).copy()
    steps = rng.integers(-3, 4, length)
    if kind == 2:  # a slow walk with repeats (2-decimal floats, small int steps)
        walk = np.cumsum(steps) + int(rng.integers(-1000, 1000))
        return (walk / 100).astype(dtype) if dtype.kind == "f" else walk.astype(dtype)
    if kind == 3:  # lone repeats between changes
        base = np.frombuffer(rng.bytes(length * itemsize), dtype=dtype).copy()
        base[1::3] = base[0::3][: base[1::3].size]
        return base
    # kind 4: small magnitudes, then large ones (windows narrow and widen)
    small = rng.integers(0, 16, length)
    large = ~small if dtype.kind == "i" else small * 2.0**40
    return np.where(np.arange(length) < length // 2, small, large).astype(dtype)


def segmented_arrays(data_type: TSDataType, max_size: int = 1500) -> st.SearchStrategy[np.ndarray]:
    """Numeric arrays made of segments: held values, random bit patterns, slow walks, lone
    repeats, small then large magnitudes (for codecs that adapt per block, e.g. GORILLA).
    Segments are drawn as (kind, length, seed), so examples shrink to short, simple ones."""
    dtype = data_type.numpy_dtype
    held = _int_elements(dtype) if dtype.kind == "i" else _float_elements(8 * dtype.itemsize)
    spec = st.tuples(st.integers(0, 4), st.integers(1, 400), st.integers(0, 2**32 - 1), held)

    def build(specs: list) -> np.ndarray:
        parts = [_segment(k, n, seed, h, dtype) for k, n, seed, h in specs]
        out = np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)
        return out[:max_size]

    return st.lists(spec, max_size=12).map(build)


# --- TsFile tablets (tsfile writer/reader) -----------------------------------------------------

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


# ---------------------------------------------------------------- memtables (flush)
_MEMTABLE_TYPES = [TSDataType.INT32, TSDataType.INT64, TSDataType.DOUBLE, TSDataType.TEXT]


@st.composite
def memtable_chunks(draw):
    """A device's chunks as writes leave them: in time order or not, nulls or not, the
    same measurements or not, a type per measurement (sometimes two)."""
    names = ["a", "b", "c"]
    types = {n: draw(st.sampled_from(_MEMTABLE_TYPES)) for n in names}
    chunks, start = [], draw(st.integers(-50, 50))
    for seq in range(draw(st.integers(1, 5))):
        rows = draw(st.integers(1, 6))
        if draw(st.booleans()):  # in order: after the previous chunk, strictly rising
            steps = draw(st.lists(st.integers(1, 3), min_size=rows, max_size=rows))
            times = np.cumsum([start, *steps])[1:].astype(np.int64)
            start = int(times[-1])
        else:
            times = np.array(
                draw(st.lists(st.integers(-60, 60), min_size=rows, max_size=rows)), np.int64
            )
        chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
        columns = {}
        for name in chosen:
            dt = types[name]
            if draw(st.integers(0, 9)) == 0:  # the series re-created with another type
                dt = TSDataType.INT64 if dt is not TSDataType.INT64 else TSDataType.INT32
            values = draw(st.lists(st.integers(-9, 9), min_size=rows, max_size=rows))
            if dt is TSDataType.TEXT:
                col = np.empty(rows, dtype=object)
                col[:] = [str(v) for v in values]
            else:
                col = np.array(values, dtype=dt.numpy_dtype)
            mask = None
            if draw(st.integers(0, 4)) == 0:
                mask = np.array(
                    draw(st.lists(st.booleans(), min_size=rows, max_size=rows)), dtype=bool
                )
            columns[name] = (col, mask)
        chunks.append(MemChunk(seq, CLIENT, times, columns))
    schemas = {n: MeasurementSchema(n, types[n]) for n in names}
    return DeviceData("root.sg.d", ("root", "sg", "d"), draw(st.booleans()), schemas), chunks


def assert_same_tablet(a: Tablet | None, b: Tablet | None) -> None:
    assert (a is None) == (b is None)
    if a is None or b is None:
        return
    """Two tablets hold the same rows (NaN equal to NaN, values under nulls ignored)."""
    assert a.device == b.device and a.aligned == b.aligned
    assert [s.name for s in a.schemas] == [s.name for s in b.schemas]
    assert a.timestamps.tolist() == b.timestamps.tolist()
    for i in range(len(a.schemas)):
        ma, mb = a.null_mask(i), b.null_mask(i)
        assert ma.tolist() == mb.tolist()
        keep = ~ma
        np.testing.assert_array_equal(a.columns[i][keep], b.columns[i][keep])  # NaN == NaN
        assert a.columns[i].dtype == b.columns[i].dtype


# ---------------------------------------------------------------- SQL (pipecore.sql)
# Sentences derived from pipecore's lark grammar, and garbage made from them. The
# derivation runs on a `random.Random` seeded by hypothesis: thousands of examples stay
# cheap (a draw per grammar choice would cost ~5 ms per sentence), and a failure is
# reproduced from its seed and printed in full.
_SQL_CHARS = "abcXYZ019 ._-:/'\"`,()*;\n测"
_SQL_UNITS = ("y", "mo", "w", "d", "h", "m", "s", "ms", "us", "ns")


def _sql_text(rng: random.Random) -> str:
    return "".join(rng.choice(_SQL_CHARS) for _ in range(rng.randint(0, 8)))


def _sql_quoted(rng: random.Random, quote: str) -> str:
    text = _sql_text(rng)
    if quote == "`":
        text = text.replace("*", "") or "q"
    return quote + text.replace(quote, quote * 2) + quote


def _sql_datetime(rng: random.Random) -> str:
    moment = _dt.datetime(1900, 1, 1) + _dt.timedelta(seconds=rng.randint(0, 6 * 10**9))
    sep = rng.choice("-/.")
    text = f"{moment.year:04d}{sep}{moment.month:02d}{sep}{moment.day:02d}"
    if rng.random() < 0.5:
        text += rng.choice("T ") + moment.strftime("%H:%M:%S")
        text += rng.choice(["", ".123", ".5", ".123456789"])
        text += rng.choice(["", "+08:00", "-05:30", "+00:00"])
    return text


def _sql_id(rng: random.Random) -> str:
    # always ends with a digit, so it is never a keyword
    first = rng.choice("abcdxyz_\u4e00\u4e01")
    return (
        first
        + "".join(rng.choice("abz09_") for _ in range(rng.randint(0, 3)))
        + str(rng.randint(0, 9))
    )


_SQL_TERMINALS = {
    "STRING": lambda rng: _sql_quoted(rng, rng.choice("'\"")),
    "QUOTED_ID": lambda rng: _sql_quoted(rng, "`"),
    "ID": _sql_id,
    "DURATION": lambda rng: "".join(
        f"{rng.randint(1, 999)}{rng.choice(_SQL_UNITS)}" for _ in range(rng.randint(1, 2))
    ),
    "INT": lambda rng: str(rng.choice([rng.randint(0, 10**6), rng.randint(0, 2**70)])),
    "REAL": lambda rng: repr(rng.choice([rng.random() * 10 ** rng.randint(-8, 20), 0.5])),
    "DATETIME": _sql_datetime,
    "BINARY": lambda rng: "X'" + rng.randbytes(rng.randint(0, 4)).hex() + "'",
    "NE": lambda rng: rng.choice(["!=", "<>"]),
}


@functools.lru_cache(maxsize=1)
def _sql_grammar() -> tuple[dict, dict, dict]:
    from lark import Lark

    from pipecore.sql import grammar_text

    parser = Lark(grammar_text(), parser="lalr")
    rules: dict[str, list[list]] = {}
    for rule in parser.rules:
        rules.setdefault(rule.origin.name, []).append(list(rule.expansion))
    terminals = {t.name: t.pattern for t in parser.terminals}
    cost = {name: 10**6 for name in rules}  # depth of the shallowest derivation
    changed = True
    while changed:
        changed = False
        for name, expansions in rules.items():
            best = min(_sql_cost(e, cost) + 1 for e in expansions)
            if best < cost[name]:
                cost[name], changed = best, True
    return rules, terminals, cost


def _sql_cost(expansion: list, cost: dict) -> int:
    return max([0] + [cost[s.name] for s in expansion if not s.is_term])


def _sql_terminal(rng: random.Random, name: str, pattern: object) -> str:
    if name in _SQL_TERMINALS:
        return _SQL_TERMINALS[name](rng)
    keyword = re.match(r"\(\?i:(\w+)\)", str(getattr(pattern, "value", "")))
    if keyword:
        return rng.choice([str.lower, str.upper, str.title])(keyword.group(1))
    return str(pattern.value)  # type: ignore[attr-defined]


def sql_derivation(seed: int, max_depth: int = 12) -> list[tuple[str, str]]:
    """A random derivation of pipecore's SQL grammar as (terminal name, text) pairs."""
    rules, terminals, cost = _sql_grammar()
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []

    def expand(symbol: str, depth: int) -> None:
        expansions = rules[symbol]
        if depth >= max_depth:
            floor = min(_sql_cost(e, cost) for e in expansions)
            expansions = [e for e in expansions if _sql_cost(e, cost) == floor]
        for part in rng.choice(expansions):
            if part.is_term:
                out.append((part.name, _sql_terminal(rng, part.name, terminals[part.name])))
            else:
                expand(part.name, depth + 1)

    expand("start", 0)
    return out


def sql_token_lists() -> st.SearchStrategy[list[tuple[str, str]]]:
    """Derivations of pipecore's SQL grammar: (terminal name, text) lists."""
    return st.integers(0, 2**64).map(sql_derivation)


def sql_sentences() -> st.SearchStrategy[str]:
    """Text derived from the grammar (tokens joined by white space)."""
    return sql_token_lists().map(lambda tokens: " ".join(text for _, text in tokens))


_SQL_NOISE = "SELECTfromWHEREpipe()'\"`,;.*=<>!-+09 \n:T\\\x00é测"


def _sql_mutate(seed: int) -> str:
    rng = random.Random(seed)
    if rng.random() < 0.2:
        base = "".join(rng.choice(_SQL_NOISE) for _ in range(rng.randint(0, 30)))
    else:
        base = " ".join(text for _, text in sql_derivation(rng.randrange(2**64)))
    for _ in range(rng.randint(1, 3)):
        i = rng.randint(0, len(base))
        j = rng.randint(i, min(len(base), i + 20))
        noise = "".join(rng.choice(_SQL_NOISE) for _ in range(rng.randint(1, 6)))
        base = rng.choice(
            [
                base[:i] + base[j:],  # cut
                base[:i] + noise + base[i:],  # insert
                base[:i] + noise + base[j:],  # replace
                base[:i],  # truncate
                base[:j] + base[i:j] + base[j:],  # repeat
            ]
        )
    return base


def sql_garbage() -> st.SearchStrategy[str]:
    """Broken SQL: grammar sentences cut, spliced, or sprinkled with noise; noise alone."""
    return st.one_of(
        st.integers(0, 2**64).map(_sql_mutate),
        st.text(alphabet=st.sampled_from(list(_SQL_NOISE)), max_size=40),
    )


# --- pipe parameters and commits (core) -------------------------------------------------------
PARAMETER_PREFIXES = ["extractor.", "source.", "processor.", "connector.", "sink."]


def bare_parameter_keys() -> st.SearchStrategy[str]:
    """Pipe parameter keys without a first prefix (``node-urls``, ``batch.enable``)."""
    return st.from_regex(r"[a-z][a-z0-9\-]{0,12}(\.[a-z][a-z0-9\-]{0,8})?", fullmatch=True).filter(
        lambda k: not any(k.startswith(p) for p in PARAMETER_PREFIXES)
    )


def parameter_values() -> st.SearchStrategy[str]:
    return st.text(st.characters(blacklist_categories=["Cs"]), max_size=12)


@st.composite
def commit_histories(draw: st.DrawFn) -> tuple[list[int], list[int | None], list[int], int]:
    """A pipe's inputs for the committer: outputs per input (0..3), progress per input (or
    None), the order in which all outputs complete, and how many of them have completed."""
    outputs = draw(st.lists(st.integers(0, 3), min_size=1, max_size=30))
    progress = draw(
        st.lists(st.none() | st.integers(0, 1000), min_size=len(outputs), max_size=len(outputs))
    )
    completions = [i for i, n in enumerate(outputs) for _ in range(n)]
    order = draw(st.permutations(completions))
    return outputs, progress, list(order), draw(st.integers(0, len(order)))


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


# --- statements a node can run (tests/node) ----------------------------------------------------
# Meaningful SQL over a small universe of databases, devices and series, so that INSERT,
# SELECT, DELETE and the schema statements mostly run (and sometimes clash: a value of the
# wrong type, a database that already exists). Derived from a seeded `random.Random`, like the
# grammar sentences above.
_NODE_TYPES = ("INT32", "INT64", "FLOAT", "DOUBLE", "TEXT", "BOOLEAN")
_NODE_LITERALS = ("1", "-7", "2.5", "1e3", "'text'", "'12'", "true", "false", "null", "NaN")


def _node_series(rng: random.Random) -> tuple[str, str]:
    return f"root.f{rng.randint(0, 1)}.d{rng.randint(0, 2)}", f"s{rng.randint(0, 3)}"


def _node_time(rng: random.Random) -> str:
    return rng.choice(
        [str(rng.randint(-5, 50)), "now()", "now() - 1d", "2024-01-01T00:00:00+08:00"]
    )


def _node_where(rng: random.Random) -> str:
    parts = [
        f"time {rng.choice(['<', '<=', '>', '>=', '=', '!='])} {_node_time(rng)}",
        f"s{rng.randint(0, 3)} {rng.choice(['<', '>', '=', '!='])} {rng.choice(_NODE_LITERALS)}",
        f"s{rng.randint(0, 3)} is {rng.choice(['', 'not '])}null",
        f"s{rng.randint(0, 3)} in ({rng.choice(_NODE_LITERALS)}, {rng.choice(_NODE_LITERALS)})",
        f"time between {rng.randint(0, 20)} and {rng.randint(0, 40)}",
    ]
    chosen = rng.sample(parts, rng.randint(1, 3))
    return " WHERE " + f" {rng.choice(['and', 'or'])} ".join(chosen)


def _node_select(rng: random.Random) -> str:
    device, _ = _node_series(rng)
    source = rng.choice([device, device.rsplit(".", 1)[0] + ".*", "root.**"])
    if rng.random() < 0.3:
        fn = rng.choice(["count", "sum", "avg", "min_value", "max_value", "last_value", "max_time"])
        items = f"{fn}(s{rng.randint(0, 3)})"
    else:
        items = rng.choice(["*", "**", "s0", "s1, s2", "s3 as x"])
    sql = f"SELECT {items} FROM {source}"
    if rng.random() < 0.5:
        sql += _node_where(rng)
    if rng.random() < 0.3:
        sql += " ORDER BY TIME DESC"
    if rng.random() < 0.3:
        sql += f" LIMIT {rng.randint(0, 5)} OFFSET {rng.randint(0, 3)}"
    if rng.random() < 0.2:
        sql += " ALIGN BY DEVICE"
    return sql


def _node_statement(rng: random.Random) -> str:
    device, measurement = _node_series(rng)
    kind = rng.randrange(12)
    if kind <= 2:
        columns = rng.sample(["s0", "s1", "s2", "s3"], rng.randint(1, 3))
        rows = ", ".join(
            "(" + ", ".join([_node_time(rng)] + [rng.choice(_NODE_LITERALS) for _ in columns]) + ")"
            for _ in range(rng.randint(1, 3))
        )
        return f"INSERT INTO {device}(time, {', '.join(columns)}) VALUES {rows}"
    if kind <= 4:
        return _node_select(rng)
    if kind == 5:
        return f"SELECT LAST {measurement} FROM {device}" + rng.choice(["", " WHERE time >= 3"])
    if kind == 6:
        return f"CREATE TIMESERIES {device}.{measurement} WITH DATATYPE={rng.choice(_NODE_TYPES)}"
    if kind == 7:
        return rng.choice(
            [
                f"CREATE DATABASE {device.rsplit('.', 1)[0]}",
                f"DELETE DATABASE {device.rsplit('.', 1)[0]}",
            ]
        )
    if kind == 8:
        return f"DELETE FROM {device}.{measurement}" + rng.choice(["", " WHERE time <= 10"])
    if kind == 9:
        return rng.choice(["FLUSH", "SHOW TIMESERIES", "COUNT TIMESERIES root.** GROUP BY LEVEL=1"])
    if kind == 10:
        name = f"p{rng.randint(0, 2)}"
        return rng.choice(
            [
                f"CREATE PIPE {name} WITH SOURCE ('source'='do-nothing-source') "
                "WITH SINK ('sink'='do-nothing-sink')",
                f"DROP PIPE {name}",
                f"STOP PIPE {name}",
                f"START PIPE {name}",
                "SHOW PIPES",
            ]
        )
    return f"DELETE TIMESERIES {device}." + rng.choice([measurement, "**"])


def node_scripts() -> st.SearchStrategy[str]:
    """Scripts of 1–4 statements a node can run (or refuse with a semantic error)."""
    return st.integers(0, 2**64).map(
        lambda seed: ";\n".join(
            _node_statement(rng) for rng in [random.Random(seed)] for _ in range(rng.randint(1, 4))
        )
    )
