"""The built-in processors: (1) on 10 M points, throughput (points/s) and reduction ratio
(points out / points in) on a noisy sine and on a step signal, with the plain per-point Python
loop of the same rule measured on a slice in the same run as the reference; (2) end to end, a
down-sampling pipe over ``iotdb-thrift-sink`` into a receiver `pipecore serve` process: the
bytes on the wire (counted by a loopback TCP proxy in front of the receiver) with and without
the processor.

    python bench/processor_bench.py [--points 10000000] [--tablet 10000]
                                    [--wire-points 1000000] [--only stage|wire]

The signals: one series sampled every 10 ms; the noisy sine has a 60 s period, amplitude 10 and
Gaussian noise σ 0.05; the step signal holds a value for 30 s and then jumps by 1..5.

The wire part sends both signals (half the points each, one DOUBLE series per device) from a
sender node (in this process) twice per processor: *realtime* — the pipe exists first and the
points are inserted in tablets of ``--tablet`` rows (``source.realtime.mode=stream``: they
travel as tablets) — and *historical* — the points are inserted and flushed first, the pipe
then sends the sealed TsFiles (without a processor the sink ships the files themselves; a
sampling processor with ``processor.down-sampling.split-file=true`` turns them into tablets and
sends what it keeps — without that option, IoTDB's default, files pass it whole). Each run
ends when the receiver's ``count(*)`` equals the points the processor keeps (computed by the
processor alone).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from pipecore import (
    Event,
    MeasurementSchema,
    Node,
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


# ------------------------------------------------------------------ 2. on the wire
WIRE = {
    "none (do-nothing)": ("do-nothing-processor", {}),
    "tumbling-time (1 s)": (
        "tumbling-time-sampling-processor",
        PROCESSORS["tumbling-time (1 s)"][1],
    ),
    "sdt (E=0.5)": ("sdt-sampling-processor", PROCESSORS["sdt (E=0.5)"][1]),
}
_CLASSES = {
    "tumbling-time-sampling-processor": TumblingTimeSamplingProcessor,
    "sdt-sampling-processor": SwingingDoorTrendingSamplingProcessor,
}


def _kept(
    processor: str, params: dict[str, str], series: list[tuple[np.ndarray, np.ndarray]], rows: int
) -> int:
    cls = _CLASSES.get(processor)
    if cls is None:
        return sum(len(t) for t, _ in series)
    return sum(run(cls, params, t, v, rows)[1] for t, v in series)


def wire(points: int, rows: int) -> None:
    here = Path(__file__).resolve().parent
    sys.path[:0] = [str(here), str(here.parent / "tests")]
    from sync_bench import FAST, Receiver
    from tcp_proxy import TcpProxy

    half = points // 2
    series = [(t[:half], v[:half]) for t, v in signals(half).values()]
    schema = [MeasurementSchema("s", "DOUBLE")]
    print(f"\n{points:,} points over iotdb-thrift-sink (a noisy sine and a step, half each)")
    print(
        f"{'processor':22} {'mode':11} {'points sent':>12} {'bytes up':>12} "
        f"{'B/point':>8} {'vs none':>8} {'bytes down':>11} {'s':>6}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        receiver = Receiver(root)
        proxy = TcpProxy(receiver.port)  # counts the bytes each way
        baseline: dict[str, int] = {}
        try:
            for case, (name, (processor, params)) in enumerate(WIRE.items()):
                expected = _kept(processor, params, series, rows)
                for mode in ("realtime", "historical"):
                    db = f"root.w{case}{mode[0]}"
                    tablets = [
                        Tablet(f"{db}.{kind}", schema, t[i : i + rows], [v[i : i + rows]])
                        for kind, (t, v) in zip(("sine", "step"), series, strict=True)
                        for i in range(0, len(t), rows)
                    ]
                    # TsFiles pass a sampling processor whole unless split-file (IoTDB's default)
                    split = (
                        {"processor.down-sampling.split-file": "true"}
                        if processor in _CLASSES and mode == "historical"
                        else {}
                    )
                    with Node.open(root / f"sender-{case}-{mode}", FAST) as node:
                        source = {"source": "iotdb-source", "source.path": f"{db}.**"}
                        if mode == "historical":
                            node.store.insert_tablets(tablets)
                            node.store.flush()
                        else:
                            source["source.realtime.mode"] = "stream"
                        proxy.reset()
                        started = time.perf_counter()
                        node.create_pipe(
                            "wire",
                            source=source,
                            processor={"processor": processor, **params, **split},
                            sink={
                                "sink": "iotdb-thrift-sink",
                                "sink.node-urls": f"127.0.0.1:{proxy.port}",
                            },
                        )
                        if mode == "realtime":
                            for i in range(0, len(tablets), 16):
                                node.store.insert_tablets(tablets[i : i + 16])
                        deadline = time.monotonic() + 600
                        while receiver.count(f"{db}.**") < expected:
                            if time.monotonic() > deadline:
                                raise TimeoutError(f"{name} {mode}: the receiver lags")
                            time.sleep(0.05)
                        elapsed = time.perf_counter() - started
                        node.drop_pipe("wire")
                    got = receiver.count(f"{db}.**")
                    if got != expected:
                        raise RuntimeError(f"{name} {mode}: {got} points arrived, not {expected}")
                    up, down = proxy.reset()
                    baseline.setdefault(mode, up)
                    print(
                        f"{name:22} {mode:11} {expected:12,} {up:12,} {up / expected:8.1f} "
                        f"{up / baseline[mode]:8.2%} {down:11,} {elapsed:6.1f}"
                    )
        finally:
            proxy.close()
            receiver.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--points", type=int, default=10_000_000)
    ap.add_argument("--tablet", type=int, default=10_000)
    ap.add_argument("--wire-points", type=int, default=1_000_000)
    ap.add_argument("--only", choices=("stage", "wire"))
    args = ap.parse_args()
    if args.only != "wire":
        stage(args.points, args.tablet)
    if args.only != "stage":
        wire(args.wire_points, args.tablet)


def stage(points: int, tablet: int) -> None:
    print(f"{points:,} points, tablets of {tablet:,} rows")
    print(f"{'processor':32} {'signal':11} {'Mpoints/s':>10} {'kept':>9}")
    for sig_name, (t, v) in signals(points).items():
        for name, (cls, params) in PROCESSORS.items():
            elapsed, kept = run(cls, params, t, v, tablet)
            print(f"{name:32} {sig_name:11} {points / elapsed / 1e6:10.2f} {kept / points:9.4%}")
    t, v = signals(1_000_000)["noisy sine"]
    per_point = loop_reference(t, v, 0.5)
    print(
        f"reference: the changing-value rule as a Python loop: {1 / per_point / 1e6:.2f} Mpoints/s"
    )


if __name__ == "__main__":
    main()
