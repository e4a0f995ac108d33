"""``aggregate-processor``: tumbling windows and statistics against a loop of IoTDB's rule
(``TimeSeriesRuntimeState`` + ``TumblingWindowingProcessor``), output naming, output database,
max delay, and the window state across a restart."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from processor_helpers import Recorder, open_stage

from pipecore import HeartbeatEvent, MeasurementSchema, Tablet, TabletInsertionEvent
from pipecore_processors import AggregateProcessor

OPS = "avg,var,skew,kurt,rms,cf,ff,pf,ce,peak,max,min"


def ref_windows(
    times: list[int], values: list[float], boundary: int, interval: int
) -> list[tuple[int, list[float]]]:
    """IoTDB's rule point by point: the closed windows as (start, values)."""
    out: list[tuple[int, list[float]]] = []
    window: int | None = None
    members: list[float] = []
    watermark = None
    for t, v in zip(times, values, strict=True):
        if watermark is not None and t <= watermark:
            continue
        if window is None:
            if t < boundary:
                continue
            window, members = boundary + (t - boundary) // interval * interval, [v]
            continue
        if t >= window + interval:
            out.append((window, members))
            watermark = (
                window + interval if watermark is None else max(watermark, window + interval)
            )
            window, members = window + (t - window) // interval * interval, [v]
        elif t >= window:
            members.append(v)
    return out


def ref_stats(xs: list[float]) -> dict[str, float]:
    n = len(xs)
    s1, s2, s3, s4 = (sum(x**p for x in xs) for p in (1, 2, 3, 4))
    sh = sum(math.sqrt(x) if x >= 0 else math.nan for x in xs)
    amx = max(abs(x) for x in xs)
    m1, m2, m3, m4 = s1 / n, s2 / n, s3 / n, s4 / n
    var = m2 - m1**2

    def div(a: float, b: float) -> float:
        with np.errstate(all="ignore"):
            return float(np.float64(a) / np.float64(b))

    return {
        "avg": m1,
        "var": var,
        "skew": div(m3 - 3 * m1 * m2 + 2 * m1**3, float(np.power(np.float64(var), 1.5))),
        "kurt": div(m4 - 4 * m3 * m1 + 6 * m2 * m1**2 - 3 * m1**4, var**2),
        "rms": math.sqrt(m2),
        "cf": div(amx, math.sqrt(m2)),
        "ff": div(math.sqrt(m2), m1),
        "pf": div(amx, m1),
        "ce": div(amx, (sh / n) ** 2),
        "peak": amx,
        "max": max(xs),
        "min": min(xs),
    }


def _results(events: list[Any]) -> dict[int, dict[str, float]]:
    rows: dict[int, dict[str, float]] = {}
    for event in events:
        t = event.tablet
        for r, ts in enumerate(t.timestamps.tolist()):
            rows[ts] = {s.name: float(c[r]) for s, c in zip(t.schemas, t.columns, strict=True)}
    return rows


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    times=st.lists(st.integers(-3_000, 20_000), min_size=1, max_size=200),
    seconds=st.integers(1, 4),
    boundary=st.integers(-2_000, 2_000),
)
def test_windows_and_statistics_follow_the_rule(
    data: Any, times: list[int], seconds: int, boundary: int, tmp_path_factory
) -> None:
    if data.draw(st.booleans()):
        times = sorted(times)
    values = data.draw(st.lists(st.floats(-100, 100), min_size=len(times), max_size=len(times)))
    stage = open_stage(
        AggregateProcessor,
        {
            "processor.operators": OPS,
            "processor.sliding.seconds": str(seconds),
            "processor.sliding.boundary-time": str(boundary),
        },
        tmp_path_factory.mktemp("agg"),
    )
    out = Recorder()
    tablet = Tablet("root.sg.d1", [MeasurementSchema("s", "DOUBLE")], times, [values])
    cut = data.draw(st.integers(0, len(times)))
    for part in (tablet.slice(0, cut), tablet.slice(cut, len(times))):
        if part.row_count:
            stage.call["processor_process_tablet"](TabletInsertionEvent(part), out)
    stage.close()
    assert {e.tablet.device for e in out.events} <= {"root.sg.d1.s"}
    got = _results(out.events)
    want = ref_windows(times, values, boundary, seconds * 1000)
    assert sorted(got) == [w for w, _ in want]
    for start, members in want:
        expected = ref_stats(members)
        m2 = sum(x * x for x in members) / len(members)
        # skew and kurt divide by a power of the variance m2 - m1²: where that cancels to
        # rounding noise (|var| <= 1e-12·m2, e.g. [0.01, 0.0] summed in another order) its
        # sign, and so nan / ±inf, depends on the order of the sums — not compared there
        noisy = abs(expected["var"]) <= 1e-12 * m2
        for name, value in expected.items():
            if noisy and name in ("skew", "kurt"):
                continue
            assert got[start][name] == pytest.approx(value, rel=1e-9, abs=1e-9, nan_ok=True), name


def test_output_names_database_and_types(tmp_path: Path) -> None:
    stage = open_stage(
        AggregateProcessor,
        {
            "processor.operators": "max, AVG",
            "processor.output.measurements": "top,mean",
            "processor.output.database": "root.stats",
            "processor.sliding.seconds": "10",
        },
        tmp_path,
    )
    out = Recorder()
    t = Tablet("root.raw.d1", [MeasurementSchema("s1", "INT32")], [0, 5_000, 12_000], [[3, 7, 1]])
    stage.call["processor_process_tablet"](TabletInsertionEvent(t), out)
    (event,) = out.events
    assert event.tablet.device == "root.stats.d1.s1"
    assert [(s.name, s.data_type.name) for s in event.tablet.schemas] == [
        ("top", "INT32"),
        ("mean", "DOUBLE"),
    ]
    assert event.tablet.timestamps.tolist() == [0]
    assert [c.tolist() for c in event.tablet.columns] == [[7], [5.0]]
    stage.close()


def test_the_open_window_survives_a_restart(tmp_path: Path) -> None:
    params = {"processor.operators": "avg", "processor.sliding.seconds": "10"}
    schema = [MeasurementSchema("s", "DOUBLE")]
    first = open_stage(AggregateProcessor, params, tmp_path)
    out = Recorder()
    first.call["processor_process_tablet"](
        TabletInsertionEvent(Tablet("root.sg.d", schema, [1_000, 2_000], [[1.0, 2.0]])), out
    )
    first.close()  # STOP PIPE / node shutdown: the open window is saved
    assert out.events == []
    second = open_stage(AggregateProcessor, params, tmp_path)
    second.call["processor_process_tablet"](
        TabletInsertionEvent(Tablet("root.sg.d", schema, [3_000, 11_000], [[6.0, 0.0]])), out
    )
    second.close()
    assert _results(out.events) == {0: {"avg": 3.0}}


def test_max_delay_emits_the_open_window_once_on_a_heartbeat(tmp_path: Path) -> None:
    stage = open_stage(
        AggregateProcessor,
        {"processor.operators": "max", "processor.output.max-delay-seconds": "0"},
        tmp_path,
    )
    out = Recorder()
    t = Tablet("root.sg.d", [MeasurementSchema("s", "INT64")], [5], [[42]])
    stage.call["processor_process_tablet"](TabletInsertionEvent(t), out)
    time.sleep(0.01)  # max-delay 0 means 1 ms, as IoTDB's Math.max(0 * 1000, 1)
    for _ in range(3):
        stage.call["processor_process_event"](HeartbeatEvent(), out)
    tablets = [e.tablet for e in out.events if isinstance(e, TabletInsertionEvent)]
    assert [(x.device, x.timestamps.tolist(), x.columns[0].tolist()) for x in tablets] == [
        ("root.sg.d.s", [0], [42])
    ]
    assert sum(isinstance(e, HeartbeatEvent) for e in out.events) == 3
    stage.close()
