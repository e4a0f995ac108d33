"""The three sampling processors against plain loops of IoTDB's filter rules (one point at a
time, as ``TumblingTimeSamplingProcessor``, ``ChangingValueFilter`` and
``SwingingDoorTrendingFilter`` do), on random series cut into random tablets."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from processor_helpers import Recorder, open_stage

from pipecore import MeasurementSchema, Tablet, TabletInsertionEvent, TSDataType
from pipecore_processors import (
    ChangingValueSamplingProcessor,
    SwingingDoorTrendingSamplingProcessor,
    TumblingTimeSamplingProcessor,
)
from pipecore_processors.kernels import changing_value_keep, sdt_keep, tumbling_keep

JAVA_MIN, JAVA_MAX = 5e-324, 1.7976931348623157e308
LONG_MAX = 2**63 - 1


# ---------------------------------------------------------------- the rules, one point at a time


def ref_tumbling(times: list[int], interval: int) -> list[int]:
    kept, last = [], None
    for i, t in enumerate(times):
        if last is None or abs(t - last) >= interval:
            kept.append(i)
            last = t
    return kept


def ref_changing_value(
    times: list[int], values: list[Any], numeric: bool, dev: float, lo: int, hi: int
) -> list[int]:
    kept: list[int] = []
    st = sv = None
    for i, (t, v) in enumerate(zip(times, values, strict=True)):
        if st is None:
            kept.append(i)
            st, sv = t, v
            continue
        d = abs(t - st)
        if d <= lo:
            continue
        if d >= hi or (abs(sv - v) > dev if numeric else sv != v):
            kept.append(i)
            st, sv = t, v
    return kept


def ref_sdt(
    times: list[int], values: list[Any], numeric: bool, dev: float, lo: int, hi: int
) -> list[int]:
    kept: list[int] = []
    st = sv = rt = rv = None
    up, low = JAVA_MIN, JAVA_MAX
    for i, (t, v) in enumerate(zip(times, values, strict=True)):
        if st is None:
            kept.append(i)
            st, sv, rt, rv = t, v, t, v
            continue
        d = abs(t - st)
        if d <= lo:
            continue
        if d >= hi:
            kept.append(i)
            st, sv, up, low = t, v, JAVA_MIN, JAVA_MAX
            continue
        if not numeric:
            if sv != v:
                kept.append(i)
                st, sv = t, v
            continue
        dt = float(t - st)
        cu, cl = (v - sv - dev) / dt, (v - sv + dev) / dt
        if cu > up:
            up = cu
        if cl < low:
            low = cl
        if up > low:
            st, sv = rt, rv
            up, low = cu, cl
            kept.append(i)
        rt, rv = t, v
    return kept


# ---------------------------------------------------------------- strategies

times_st = st.lists(st.integers(-1_000, 5_000), min_size=1, max_size=300)
sorted_times_st = times_st.map(sorted)
params_st = st.tuples(
    st.sampled_from([0.0, 0.5, 1.0, 3.0, 10.0]),
    st.integers(0, 30),
    st.integers(0, 400),
).map(lambda p: (p[0], p[1], max(p[1], p[2])))


def _values(draw: Any, n: int, kind: str) -> np.ndarray:
    if kind == "double":
        xs = draw(st.lists(st.floats(-50, 50, allow_nan=False), min_size=n, max_size=n))
        return np.asarray(xs, np.float64)
    if kind == "int":
        return np.asarray(draw(st.lists(st.integers(-20, 20), min_size=n, max_size=n)), np.int32)
    if kind == "float":
        xs = draw(st.lists(st.floats(-50, 50, width=32), min_size=n, max_size=n))
        return np.asarray(xs, np.float32)
    return np.asarray(draw(st.lists(st.booleans(), min_size=n, max_size=n)), np.bool_)


@st.composite
def series(draw: Any, sort: bool | None = None) -> tuple[np.ndarray, np.ndarray, str]:
    times = draw(sorted_times_st if sort or (sort is None and draw(st.booleans())) else times_st)
    kind = draw(st.sampled_from(["double", "int", "float", "bool"]))
    return np.asarray(times, np.int64), _values(draw, len(times), kind), kind


def _java(values: np.ndarray, kind: str) -> list[Any]:
    if kind == "float":  # Double.parseDouble(Float.toString(v))
        return [float(str(np.float32(v))) for v in values]
    if kind == "bool":
        return [bool(v) for v in values]
    return [float(v) for v in values]


def _cuts(draw: Any, n: int) -> list[int]:
    return sorted(set(draw(st.lists(st.integers(0, n), max_size=4))) | {0, n})


_TYPES = {"double": "DOUBLE", "int": "INT32", "float": "FLOAT", "bool": "BOOLEAN"}


def _run_kernel(kernel: Any, times: np.ndarray, values: np.ndarray, kind: str, cuts, *args):
    """Feed the series to `kernel` in pieces (state carried over), return global indices."""
    state, kept = None, []
    for a, b in itertools.pairwise(cuts):
        if a == b:
            continue
        idx, state = kernel(times[a:b], values[a:b], TSDataType[_TYPES[kind]], state, *args)
        kept.extend((idx + a).tolist())
    return kept


# ---------------------------------------------------------------- the laws

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(data=st.data(), times=times_st, interval=st.integers(0, 600))
def test_tumbling_keeps_what_the_rule_keeps(data: Any, times: list[int], interval: int) -> None:
    arr = np.asarray(times if data.draw(st.booleans()) else sorted(times), np.int64)
    cuts = _cuts(data.draw, len(arr))
    state, kept = None, []
    for a, b in itertools.pairwise(cuts):
        idx, state = tumbling_keep(arr[a:b], state, interval)
        kept.extend((idx + a).tolist())
    assert kept == ref_tumbling(arr.tolist(), interval)


@SETTINGS
@given(data=st.data(), s=series(), params=params_st)
def test_changing_value_keeps_what_the_rule_keeps(data: Any, s, params) -> None:
    times, values, kind = s
    dev, lo, hi = params
    cuts = _cuts(data.draw, len(times))
    got = _run_kernel(changing_value_keep, times, values, kind, cuts, dev, lo, hi)
    want = ref_changing_value(times.tolist(), _java(values, kind), kind != "bool", dev, lo, hi)
    assert got == want


@SETTINGS
@given(data=st.data(), s=series(), params=params_st)
def test_sdt_keeps_what_the_rule_keeps(data: Any, s, params) -> None:
    times, values, kind = s
    dev, lo, hi = params
    cuts = _cuts(data.draw, len(times))
    got = _run_kernel(sdt_keep, times, values, kind, cuts, dev, lo, hi)
    assert got == ref_sdt(times.tolist(), _java(values, kind), kind != "bool", dev, lo, hi)


def test_sdt_on_a_long_noisy_ramp_matches_the_rule() -> None:
    """Long enough for the chunked search to grow and restart many times."""
    rng = np.random.default_rng(7)
    times = np.cumsum(rng.integers(1, 20, 20_000)).astype(np.int64)
    values = np.sin(times / 3000.0) * 50 + rng.normal(0, 0.3, times.size)
    idx, _ = sdt_keep(times, values, TSDataType.DOUBLE, None, 0.5, 0, LONG_MAX)
    assert idx.tolist() == ref_sdt(times.tolist(), values.tolist(), True, 0.5, 0, LONG_MAX)
    assert 0 < idx.size < times.size // 5


def test_nan_and_infinite_values_follow_the_rule() -> None:
    times = np.arange(0, 40, dtype=np.int64) * 7
    values = np.tile([1.0, np.nan, 5.0, np.inf, -np.inf, 2.0, np.nan, 2.5], 5)
    for kernel, ref in ((sdt_keep, ref_sdt), (changing_value_keep, ref_changing_value)):
        idx, _ = kernel(times, values, TSDataType.DOUBLE, None, 0.5, 3, 60)
        assert idx.tolist() == ref(times.tolist(), values.tolist(), True, 0.5, 3, 60)


def test_extreme_timestamp_distance_reaches_the_max_interval() -> None:
    """IoTDB's ChangingValueFilterTest: from Long.MIN to Long.MAX is >= Long.MAX (no overflow)."""
    times = np.asarray([-(2**63), LONG_MAX], np.int64)
    values = np.zeros(2)
    for kernel in (changing_value_keep, sdt_keep):
        idx, _ = kernel(times, values, TSDataType.INT32, None, 0.0, 0, LONG_MAX)
        assert idx.tolist() == [0, 1]


# ---------------------------------------------------------------- through the processor


@SETTINGS
@given(data=st.data())
def test_processors_null_out_what_they_drop_and_keep_rows_with_a_kept_value(
    data: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    n = data.draw(st.integers(1, 120))
    times = np.asarray(
        sorted(data.draw(st.lists(st.integers(0, 10_000), min_size=n, max_size=n, unique=True)))
    )
    a = np.asarray(data.draw(st.lists(st.floats(-9, 9), min_size=n, max_size=n)))
    b = np.asarray(data.draw(st.lists(st.integers(-5, 5), min_size=n, max_size=n)), np.int64)
    mask_b = np.asarray(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    cls, params, rule = data.draw(
        st.sampled_from(
            [
                (
                    TumblingTimeSamplingProcessor,
                    {"processor.tumbling-time.interval-seconds": "1"},
                    lambda t, v, num: ref_tumbling(t, 1000),
                ),
                (
                    ChangingValueSamplingProcessor,
                    {"processor.changing-value.compression-deviation": "2"},
                    lambda t, v, num: ref_changing_value(t, v, num, 2.0, 0, LONG_MAX),
                ),
                (
                    SwingingDoorTrendingSamplingProcessor,
                    {"processor.sdt.compression-deviation": "1"},
                    lambda t, v, num: ref_sdt(t, v, num, 1.0, 0, LONG_MAX),
                ),
            ]
        )
    )
    schemas = [MeasurementSchema("a", "DOUBLE"), MeasurementSchema("b", "INT64")]
    tablet = Tablet("root.sg.d1", schemas, times, [a, b], [None, mask_b])
    stage = open_stage(cls, params, tmp_path_factory.mktemp("p"))
    out = Recorder()
    cut = data.draw(st.integers(0, n))
    for part in (tablet.slice(0, cut), tablet.slice(cut, n)):
        if part.row_count:
            stage.call["processor_process_tablet"](TabletInsertionEvent(part), out)
    stage.close()
    kept_a = set(times[rule(times.tolist(), a.tolist(), True)].tolist())
    present_b = np.flatnonzero(~mask_b)
    kept_b = (
        set(
            times[present_b][
                rule(times[present_b].tolist(), b[present_b].astype(float).tolist(), True)
            ].tolist()
        )
        if present_b.size
        else set()
    )
    got_a, got_b, rows = set(), set(), []
    for event in out.events:
        t = event.tablet
        rows.extend(t.timestamps.tolist())
        got_a |= set(t.timestamps[~t.null_mask(0)].tolist())
        got_b |= set(t.timestamps[~t.null_mask(1)].tolist())
    assert (got_a, got_b) == (kept_a, kept_b)
    assert sorted(rows) == sorted(kept_a | kept_b)  # a row only when one of its values is kept
