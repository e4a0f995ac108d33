"""The built-in processors on 10 M points: throughput (points/s) and reduction ratio (points out
/ points in) on a noisy sine and on a step signal, with the plain per-point Python loop of the
same rule measured on a slice in the same run as the reference.

    python bench/processor_bench.py [--points 10000000] [--tablet 10000]

The signals: one series sampled every 10 ms; the noisy sine has a 60 s period, amplitude 10 and
Gaussian noise σ 0.05; the step signal holds a value for 30 s and then jumps by 1..5.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from pipecore import (
    Event,
    MeasurementSchema,
    PipeParameters,
    PipeParameterValidator,
    RuntimeConfiguration,
    Tablet,
    TabletInsertionEvent,
)
from pipecore_processors import (
    AggregateProcessor,
    ChangingValueSamplingProcessor,
    SwingingDoorTrendingSamplingProcessor,
    TumblingTimeSamplingProcessor,
)

PROCESSORS = {
    "tumbling-time (1 s)": (
        TumblingTimeSamplingProcessor,
        {"processor.tumbling-time.interval-seconds": "1"},
    ),
    "sdt (E=0.5)": (
        SwingingDoorTrendingSamplingProcessor,
        {"processor.sdt.compression-deviation": "0.5"},
    ),
    "changing-value (E=0.5)": (
        ChangingValueSamplingProcessor,
        {"processor.changing-value.compression-deviation": "0.5"},
    ),
    "aggregate (avg,max,rms; 10 s)": (
        AggregateProcessor,
        {"processor.operators": "avg,max,rms", "processor.sliding.seconds": "10"},
    ),
}


def signals(n: int, seed: int = 1) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    t = np.arange(n, dtype=np.int64) * 10
    sine = 10 * np.sin(2 * np.pi * t / 60_000) + rng.normal(0, 0.05, n)
    steps = np.cumsum(rng.integers(1, 6, n // 3000 + 1)).astype(np.float64)
    step = steps[t // 30_000]
    return {"noisy sine": (t, sine), "step": (t, step)}


class _Count:
    def __init__(self) -> None:
        self.points = 0

    def collect(self, event: Event) -> None:
        if isinstance(event, TabletInsertionEvent):
            self.points += event.point_count


def run(
    cls: type, params: dict[str, str], t: np.ndarray, v: np.ndarray, rows: int
) -> tuple[float, int]:
    proc = cls()
    p = PipeParameters(params)
    proc.processor_validate(PipeParameterValidator(p))
    with tempfile.TemporaryDirectory() as d:
        proc.processor_customize(p, RuntimeConfiguration("bench", 0, Path(d), "bench"))
        schema = [MeasurementSchema("s", "DOUBLE")]
        events = [
            TabletInsertionEvent(Tablet("root.b.d", schema, t[i : i + rows], [v[i : i + rows]]))
            for i in range(0, len(t), rows)
        ]
        out = _Count()
        start = time.perf_counter()
        for event in events:
            proc.processor_process_tablet(event, out)
        elapsed = time.perf_counter() - start
        proc.processor_close()
    return elapsed, out.points


def loop_reference(t: np.ndarray, v: np.ndarray, dev: float) -> float:
    """The changing-value rule one point at a time in Python: seconds per point."""
    tl, vl = t.tolist(), v.tolist()
    start = time.perf_counter()
    last = vl[0]
    kept = 0
    for x in vl[1:]:
        if abs(last - x) > dev:
            last = x
            kept += 1
    return (time.perf_counter() - start) / len(tl)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--points", type=int, default=10_000_000)
    ap.add_argument("--tablet", type=int, default=10_000)
    args = ap.parse_args()
    print(f"{args.points:,} points, tablets of {args.tablet:,} rows")
    print(f"{'processor':32} {'signal':11} {'Mpoints/s':>10} {'kept':>9}")
    for sig_name, (t, v) in signals(args.points).items():
        for name, (cls, params) in PROCESSORS.items():
            elapsed, kept = run(cls, params, t, v, args.tablet)
            print(
                f"{name:32} {sig_name:11} {args.points / elapsed / 1e6:10.2f} "
                f"{kept / args.points:9.4%}"
            )
    t, v = signals(1_000_000)["noisy sine"]
    per_point = loop_reference(t, v, 0.5)
    print(
        f"reference: the changing-value rule as a Python loop: {1 / per_point / 1e6:.2f} Mpoints/s"
    )


if __name__ == "__main__":
    main()
