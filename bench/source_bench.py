"""iotdb-source throughput: events/s and points/s it delivers to a do-nothing sink.

    python bench/source_bench.py [--points 10000000] [--rows 1000] [--series 10]

One writer thread inserts tablets (``--rows`` rows × ``--series`` DOUBLE series, 10 devices)
into a node's store while a pipe ``iotdb-source → do-nothing-processor → counting sink``
runs. The sink does nothing but count (a file event counts the points the store recorded for
the file; "batch, rows read" also turns each file into tablets, as a row-based sink does).

* stream — every insert is handed on as a tablet event;
* batch  — only sealed files are handed on (the store seals by its thresholds; the final
  flush is inside the measured time);
* history — the data is sealed before the pipe exists; the pipe sends it as files.
* one-row tablets — the per-event cost: live (the writer competes for the cores) and
  catching up (the pipe is started after the writes and replays them from the memtable).

The reference is the same writer with no pipe at all: the store's own insert rate.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from pipecore import Connector, Node, hookimpl
from pipecore_storage import MeasurementSchema, Store, Tablet

COUNTS: dict[str, list[int]] = {}


class CountingSink(Connector):
    def connector_customize(self, parameters, configuration) -> None:
        super().connector_customize(parameters, configuration)
        self.counts = COUNTS.setdefault(configuration.pipe_name, [0, 0])
        self.read_rows = parameters.get_string_or_default(["sink.read-rows"], "false") == "true"

    def connector_transfer_tablet(self, event) -> None:
        self.counts[0] += 1
        self.counts[1] += event.tablet.point_count()

    def connector_transfer_tsfile(self, event) -> None:
        self.counts[0] += 1
        if self.read_rows:
            self.counts[1] += sum(
                e.tablet.point_count() for e in event.to_tablet_insertion_events()
            )
        else:
            self.counts[1] += event.points


class BenchPlugins:
    @hookimpl
    def register_pipe_plugins(self, register) -> None:
        register("sink", "bench-counting-sink", CountingSink)


def make_tablets(points: int, rows: int, series: int) -> list[Tablet]:
    schemas = [MeasurementSchema(f"s{j}", "DOUBLE") for j in range(series)]
    count = points // (rows * series)
    out = []
    for k in range(count):
        t = np.arange((k // 10) * rows, (k // 10 + 1) * rows, dtype=np.int64)
        base = t.astype(np.float64)
        out.append(Tablet(f"root.bench.d{k % 10}", schemas, t, [base + j for j in range(series)]))
    return out


def _write(store: Store, tablets: list[Tablet]) -> None:
    for tablet in tablets:
        store.insert_tablet(tablet)


def reference(tablets: list[Tablet]) -> float:
    with tempfile.TemporaryDirectory() as d, Store.open(Path(d) / "s") as store:
        started = time.perf_counter()
        _write(store, tablets)
        return time.perf_counter() - started


def run(
    mode: str, tablets: list[Tablet], total: int, read_rows: bool = False, catch_up: bool = False
) -> dict:
    """Deliver `tablets` through a pipe; with `catch_up`, the pipe is stopped while they are
    written and started afterwards (it replays them from the store: the source and runtime
    alone, without a writer competing for the cores)."""
    with tempfile.TemporaryDirectory() as d:
        node = Node.open(Path(d) / "n", plugins=[BenchPlugins()])
        try:
            store = node.store
            sink = {"sink": "bench-counting-sink", "read-rows": str(read_rows).lower()}
            source = {"source.realtime.mode": "batch" if mode == "history" else mode}
            started = time.perf_counter()
            if mode == "history":
                _write(store, tablets)
                store.flush()
                started = time.perf_counter()
                node.create_pipe(mode, source, {}, sink)
            elif catch_up:
                node.create_pipe(mode, source, {}, sink)
                node.stop_pipe(mode)
                _write(store, tablets)
                started = time.perf_counter()
                node.start_pipe(mode)
            else:
                node.create_pipe(mode, source, {}, sink)
                started = time.perf_counter()
                writer = threading.Thread(target=_write, args=(store, tablets))
                writer.start()
                writer.join()
                if mode == "batch":
                    store.flush()
            written = time.perf_counter()
            counts = COUNTS.setdefault(mode, [0, 0])
            while counts[1] < total:
                time.sleep(0.001)
            done = time.perf_counter()
            task = node.pipes.task(mode)
            source_plugin = task.stages["source"].instance if task else None
            return {
                "seconds": done - started,
                "events": counts[0],
                "points": counts[1],
                "lag_after_writes": done - written,
                "file_mode_switches": getattr(
                    getattr(source_plugin, "realtime", None), "switches", 0
                ),
            }
        finally:
            node.close()
            COUNTS.pop(mode, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=10_000_000)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--series", type=int, default=10)
    parser.add_argument(
        "--small-events", type=int, default=50_000, help="events of the one-row stream run"
    )
    args = parser.parse_args()
    tablets = make_tablets(args.points, args.rows, args.series)
    total = sum(t.point_count() for t in tablets)
    print(f"points {total:,} in {len(tablets):,} tablets ({args.rows} rows x {args.series} series)")
    print(f"cores {os.cpu_count()}, python {sys.version.split()[0]}, numpy {np.__version__}")
    ref = reference(tablets)
    print(f"{'store insert, no pipe':24} {ref:7.2f} s  {total / ref / 1e6:7.2f} M points/s")
    for mode, read in (("stream", False), ("batch", False), ("batch", True), ("history", True)):
        r = run(mode, tablets, total, read)
        _report(mode + (", rows read" if read else ""), r)
    small = make_tablets(args.small_events * args.series, 1, args.series)
    print(f"\n{len(small):,} one-row tablets ({args.series} series): the per-event cost")
    ref = reference(small)
    print(f"{'store insert, no pipe':24} {ref:7.2f} s  {len(small) / ref:9,.0f} inserts/s")
    _report("stream, one-row tablets", run("stream", small, len(small) * args.series))
    caught = run("stream", small, len(small) * args.series, catch_up=True)
    _report("stream, catching up", caught)


def _report(label: str, r: dict) -> None:
    print(
        f"{label:24} {r['seconds']:7.2f} s  {r['points'] / r['seconds'] / 1e6:7.2f} M points/s"
        f"  {r['events'] / r['seconds']:9,.0f} events/s  ({r['events']:,} events, "
        f"{r['lag_after_writes'] * 1000:.0f} ms after the last write)"
    )


if __name__ == "__main__":
    main()
