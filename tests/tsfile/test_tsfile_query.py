"""The seed's query API: filters, expressions, row records, pruning, partial queries."""

from __future__ import annotations

import operator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipecore_storage import MeasurementSchema, Tablet
from pipecore_storage.errors import SchemaError
from pipecore_storage.tsfile import (
    BinaryExpression,
    Field,
    GlobalTimeExpression,
    QueryExpression,
    RowRecord,
    SingleSeriesExpression,
    TimeFilter,
    TsFileConfig,
    TsFileReader,
    TsFileWriter,
    ValueFilter,
)
from pipecore_storage.tsfile import reader as reader_module
from pipecore_storage.tsfile.query import _And, _Compare, _Not, _Or
from pipecore_storage.types import TSDataType

T = TSDataType
N = 60
_OPS = {"eq": operator.eq, "not_eq": operator.ne, "lt": operator.lt, "lt_eq": operator.le,
        "gt": operator.gt, "gt_eq": operator.ge}  # fmt: skip


@pytest.fixture(scope="module")
def data_file(tmp_path_factory) -> tuple[Path, dict]:
    """Two devices (one aligned) with nulls, pages of 10 points, two chunk groups each."""
    path = tmp_path_factory.mktemp("q") / "q.tsfile"
    rng = np.random.default_rng(7)
    schemas = [MeasurementSchema("i", T.INT64), MeasurementSchema("d", T.DOUBLE),
               MeasurementSchema("s", T.TEXT)]  # fmt: skip
    truth: dict[str, dict[int, object]] = {}
    with TsFileWriter(path, config=TsFileConfig(max_points_per_page=10)) as w:
        for device, aligned in (("root.q.d1", False), ("root.q.d2", True)):
            for half in (0, 1):
                times = np.arange(half * N, (half + 1) * N, dtype=np.int64) * 10
                ints = rng.integers(-50, 50, N).astype(np.int64)
                dbls = np.round(rng.normal(0, 10, N), 2)
                text = np.empty(N, dtype=object)
                text[:] = [f"t{v % 7}" for v in ints.tolist()]
                masks = [rng.random(N) < 0.25 for _ in schemas]
                tab = Tablet(device, schemas, times, [ints, dbls, text], masks, aligned)
                w.write_tablet(tab)
                w.flush_chunk_groups()
                for i, s in enumerate(schemas):
                    col = truth.setdefault(f"{device}.{s.name}", {})
                    for t, v, m in zip(
                        times.tolist(), tab.columns[i].tolist(), masks[i].tolist(), strict=True
                    ):
                        if not m:
                            col[t] = v
    return path, truth


def _naive_filter(f, v) -> bool:
    if isinstance(f, _Compare):
        return _OPS[f.op](v, f.value)
    if isinstance(f, _Not):
        return not _naive_filter(f.inner, v)
    if isinstance(f, _And):
        return _naive_filter(f.left, v) and _naive_filter(f.right, v)
    if isinstance(f, _Or):
        return _naive_filter(f.left, v) or _naive_filter(f.right, v)
    raise AssertionError(f)


def _naive(paths, expr, truth):
    """Java TsFile's semantics, row by row: candidate times are the selected series' times
    plus the times at which a SingleSeriesExpression holds (its series has a value there that
    passes its filter); a row is kept where the whole expression holds."""
    leaves = []

    def holds(e, t) -> bool:
        if isinstance(e, GlobalTimeExpression):
            return _naive_filter(e.filter, t)
        if isinstance(e, SingleSeriesExpression):
            col = truth.get(str(e.path), {})
            return t in col and _naive_filter(e.filter, col[t])
        a, b = holds(e.left, t), holds(e.right, t)
        return a and b if e.kind == "and" else a or b

    def collect(e) -> None:
        if isinstance(e, SingleSeriesExpression):
            leaves.append(e)
        elif isinstance(e, BinaryExpression):
            collect(e.left)
            collect(e.right)

    if expr is not None:
        collect(expr)
    times = {t for p in paths for t in truth.get(p, {})}
    for leaf in leaves:
        times |= {t for t in truth.get(str(leaf.path), {}) if holds(leaf, t)}
    rows = [t for t in sorted(times) if expr is None or holds(expr, t)]
    return [(t, [truth.get(p, {}).get(t) for p in paths]) for t in rows]


def _time_filters():
    leaf = st.builds(_Compare, st.sampled_from(list(_OPS)), st.integers(-20, 1300), st.just(True))
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            inner.map(TimeFilter.not_),
            st.tuples(inner, inner).map(lambda ab: ab[0] & ab[1]),
            st.tuples(inner, inner).map(lambda ab: ab[0] | ab[1]),
        ),
        max_leaves=4,
    )


def _value_filters(values):
    leaf = st.builds(_Compare, st.sampled_from(list(_OPS)), values)
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            inner.map(ValueFilter.not_),
            st.tuples(inner, inner).map(lambda ab: ab[0] & ab[1]),
            st.tuples(inner, inner).map(lambda ab: ab[0] | ab[1]),
        ),
        max_leaves=3,
    )


def _series_expressions():
    device = st.sampled_from(["root.q.d1", "root.q.d2"])
    return st.one_of(
        st.builds(lambda d, f: SingleSeriesExpression(f"{d}.i", f), device,
                  _value_filters(st.integers(-60, 60))),
        st.builds(lambda d, f: SingleSeriesExpression(f"{d}.d", f), device,
                  _value_filters(st.floats(-30, 30, allow_nan=False))),
        st.builds(lambda d, f: SingleSeriesExpression(f"{d}.s", f), device,
                  _value_filters(st.sampled_from(["t0", "t3", "t6", "u"]))),
    )  # fmt: skip


def _expressions():
    leaf = st.one_of(_time_filters().map(GlobalTimeExpression), _series_expressions())
    return st.recursive(
        leaf,
        lambda inner: st.tuples(inner, inner, st.booleans()).map(
            lambda x: (
                BinaryExpression.and_(x[0], x[1]) if x[2] else BinaryExpression.or_(x[0], x[1])
            )
        ),
        max_leaves=4,
    )


_PATHS = st.lists(
    st.sampled_from([f"root.q.{d}.{m}" for d in ("d1", "d2") for m in "ids"] + ["root.q.d1.nope"]),
    min_size=1, max_size=4, unique=True,
)  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(paths=_PATHS, expr=st.one_of(st.none(), _expressions()))
def test_query_equals_a_row_by_row_evaluation(data_file, paths, expr) -> None:
    path, truth = data_file
    with TsFileReader(path) as r:
        got = r.query(paths, expr).to_rows()
    assert got == _naive(paths, expr, truth)


def test_row_records_fields_and_the_seed_spellings(data_file) -> None:
    path, truth = data_file
    with TsFileReader(path) as r:
        q = QueryExpression.create(["root.q.d1.i", "root.q.d2.s"], TimeFilter.ltEq(30))
        ds = r.query(q.paths, q.expression)
        assert [str(p) for p in ds.get_paths()] == ["root.q.d1.i", "root.q.d2.s"]
        assert ds.get_data_types() == [T.INT64, T.TEXT]
        records = []
        while ds.hasNext():
            records.append(ds.next())
        assert [rec.get_timestamp() for rec in records] == [0, 10, 20, 30][: len(records)]
        for rec in records:
            for field, p in zip(rec.get_fields(), ["root.q.d1.i", "root.q.d2.s"], strict=True):
                want = truth[p].get(rec.timestamp)
                assert (field is None) == (want is None)
                if field is not None:
                    assert isinstance(field, Field) and field.get_object_value() == want
        assert str(RowRecord(5, [Field(T.INT64, 3), None])) == "5\t3\tnull"
        with pytest.raises(StopIteration):
            ds.next()


def test_expressions_compose_with_python_operators(data_file) -> None:
    path, truth = data_file
    expr = (TimeFilter.gt_eq(100) & TimeFilter.lt(600)) & SingleSeriesExpression(
        "root.q.d1.i", ValueFilter.gt(0) | ValueFilter.eq(-5)
    )
    with TsFileReader(path) as r:
        rows = r.query(["root.q.d1.i"], expr).to_rows()
    want = [
        (t, [v])
        for t, v in sorted(truth["root.q.d1.i"].items())
        if 100 <= t < 600 and (v > 0 or v == -5)
    ]
    assert rows == want and rows


def test_filters_on_the_wrong_type_are_refused(data_file) -> None:
    path, _ = data_file
    with TsFileReader(path) as r:
        with pytest.raises(SchemaError, match=r"root\.q\.d1\.s"):
            r.query(["root.q.d1.i"], SingleSeriesExpression("root.q.d1.s", ValueFilter.gt(3)))
        with pytest.raises(TypeError, match="time filter"):
            TimeFilter.gt("x")
        with pytest.raises(TypeError):
            r.query(["root.q.d1.i"], ValueFilter.gt(3))  # a value filter needs a path
        with pytest.raises(ValueError, match=r"device\.measurement"):
            r.query(["nodot"])


def _count_decodes(monkeypatch) -> list:
    calls = []
    real = reader_module.page_body

    def counting(data, path, header, page):
        calls.append(page.offset)
        return real(data, path, header, page)

    monkeypatch.setattr(reader_module, "page_body", counting)
    return calls


def test_statistics_skip_chunks_and_pages(data_file, monkeypatch) -> None:
    path, truth = data_file
    calls = _count_decodes(monkeypatch)
    with TsFileReader(path) as r:
        r.query(["root.q.d1.i"])
        everything = len(calls)
        calls.clear()
        rows = r.query(["root.q.d1.i"], TimeFilter.eq(250)).to_rows()
        assert rows == [(250, [truth["root.q.d1.i"].get(250)])] or rows == []
        assert len(calls) == 1 < everything  # one page of one chunk
        calls.clear()
        hi = max(truth["root.q.d1.i"].values())
        assert (
            r.query(
                ["root.q.d1.i"], SingleSeriesExpression("root.q.d1.i", ValueFilter.gt(hi))
            ).to_rows()
            == []
        )
        assert len(calls) == 0  # every page's max is below the filter: nothing decoded
        hi2 = max(truth["root.q.d2.i"].values())  # the aligned device: time pages skipped too
        expr = SingleSeriesExpression("root.q.d2.i", ValueFilter.gt(hi2))
        assert r.query(["root.q.d2.i", "root.q.d2.d"], expr).to_rows() == []
        assert len(calls) == 0


def test_partial_query_reads_only_chunk_groups_starting_in_the_range(data_file) -> None:
    path, truth = data_file
    with TsFileReader(path) as r:
        groups = list(r.chunk_groups())
        assert [g.device for g in groups] == ["root.q.d1", "root.q.d1", "root.q.d2", "root.q.d2"]
        second = groups[1]
        rows = r.query(["root.q.d1.i"], None, second.offset, second.end_offset).to_rows()
        want = sorted((t, [v]) for t, v in truth["root.q.d1.i"].items() if t >= N * 10)
        assert rows == want
        assert r.query(["root.q.d1.i"], None, second.offset + 1, second.end_offset).to_rows() == []
        everything = r.query(["root.q.d1.i", "root.q.d2.d"], None, 0, r.file_size).to_rows()
        assert everything == r.query(["root.q.d1.i", "root.q.d2.d"]).to_rows()
        with pytest.raises(ValueError, match="partition"):
            r.query(["root.q.d1.i"], None, 10, 5)
