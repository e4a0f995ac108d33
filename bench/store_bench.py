"""Store benchmark: insert throughput (WAL on / off) and full-scan query throughput.

    python bench/store_bench.py [--points 10000000] [--dir /tmp]

Inserts tablets of 1,000 rows x 10 series (5 INT64 + 5 DOUBLE) on 10 devices, as one writer
thread, with the WAL in ASYNC mode (fsync every `wal_async_mode_fsync_delay_in_ms`, the
IoTDB default), SYNC (fsync before every acknowledgement) and DISABLE. The insert rate counts
the `insert_tablet` calls (background flushes run meanwhile, as in production); the seal rate
is the final `flush()`. Then it scans everything back with `query("root.**")`, from sealed
files and from memtables. As a reference measured in the same run, the official `tsfile`
package (C++ core) writes and reads the same kind of data; the ratios are printed.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from pipecore_storage import MeasurementSchema, Tablet
from pipecore_storage.store import Store

ROWS, SERIES, DEVICES = 1000, 10, 10
SCHEMAS = [MeasurementSchema(f"s{i}", "INT64" if i < 5 else "DOUBLE") for i in range(SERIES)]


def make_tablets(points: int) -> list[Tablet]:
    """The tablets of the run, built before the clock starts (1,000 rows x 10 series each)."""
    rng = np.random.default_rng(42)
    count = points // (ROWS * SERIES)
    ints = [rng.integers(0, 1_000_000, ROWS) for _ in range(5)]
    floats = [np.round(rng.random(ROWS) * 100, 2) for _ in range(5)]
    tablets = []
    for k in range(count):
        start = (k // DEVICES) * ROWS
        times = np.arange(start, start + ROWS, dtype=np.int64)
        tablets.append(Tablet(f"root.bench.d{k % DEVICES}", SCHEMAS, times, ints + floats))
    return tablets


def insert_run(root: Path, mode: str, tablets: list[Tablet]) -> tuple[float, float, Store]:
    store = Store.open(root / mode, {"wal_mode": mode})
    t0 = time.perf_counter()
    for tablet in tablets:
        store.insert_tablet(tablet)
    insert_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    store.flush()
    return insert_s, time.perf_counter() - t0, store


def scan(store: Store) -> tuple[float, int]:
    t0 = time.perf_counter()
    result = store.query("root.**")
    elapsed = time.perf_counter() - t0
    points = sum(int((~m).sum()) for m in result.null_masks)
    return elapsed, points


def official_reference(root: Path, points: int) -> tuple[float, float]:
    """Write and read `points` points with the official package; (write pts/s, read pts/s)."""
    import tsfile as off

    path = str(root / "official.tsfile")
    count = points // (ROWS * SERIES)
    rng = np.random.default_rng(42)
    ints = [rng.integers(0, 1_000_000, ROWS).tolist() for _ in range(5)]
    floats = [np.round(rng.random(ROWS) * 100, 2).tolist() for _ in range(5)]
    types = [off.TSDataType.INT64] * 5 + [off.TSDataType.DOUBLE] * 5
    names = [s.name for s in SCHEMAS]
    writer = off.TsFileWriter(path)
    for d in range(DEVICES):
        writer.register_device(
            off.DeviceSchema(
                f"root.bench.d{d}",
                [
                    off.TimeseriesSchema(
                        n,
                        t,
                        off.TSEncoding.TS_2DIFF if i < 5 else off.TSEncoding.GORILLA,
                        off.Compressor.LZ4,
                    )
                    for i, (n, t) in enumerate(zip(names, types, strict=True))
                ],
            )
        )
    built = []
    for k in range(count):
        tab = off.Tablet(names, types, ROWS)
        tab.set_table_name(f"root.bench.d{k % DEVICES}")
        start = (k // DEVICES) * ROWS
        tab.timestamp_list = list(range(start, start + ROWS))
        tab.data_list = ints + floats
        built.append(tab)
    t0 = time.perf_counter()
    for tab in built:
        writer.write_tablet(tab)
    writer.close()
    write_rate = count * ROWS * SERIES / (time.perf_counter() - t0)
    reader = off.TsFileReader(path)
    t0 = time.perf_counter()
    read = 0
    for d in range(DEVICES):
        rs = reader.query_timeseries(f"root.bench.d{d}", names, -(2**62), 2**62)
        while True:
            frame = rs.read_data_frame(65536)
            if frame is None or len(frame) == 0:
                break
            read += int(frame.iloc[:, 1:].notna().to_numpy().sum())
        rs.close()
    reader.close()
    return write_rate, read / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10_000_000)
    parser.add_argument("--sync-points", type=int, default=1_000_000)
    parser.add_argument("--reference-points", type=int, default=2_000_000)
    parser.add_argument("--dir", default=None, help="where to create the stores (a temp dir)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="store-bench-", dir=args.dir))
    try:
        tablets = make_tablets(args.points)
        n = len(tablets) * ROWS * SERIES
        print(
            f"{n:,} points in {len(tablets):,} tablets of {ROWS} rows x {SERIES} series, "
            f"{DEVICES} devices; store at {root}"
        )
        rates = {}
        for mode, subset in (
            ("ASYNC", tablets),
            ("DISABLE", tablets),
            ("SYNC", tablets[: args.sync_points // (ROWS * SERIES)]),
        ):
            pts = len(subset) * ROWS * SERIES
            insert_s, flush_s, store = insert_run(root, mode, subset)
            rates[mode] = pts / insert_s
            print(
                f"insert  WAL {mode:<7}: {pts / insert_s / 1e6:6.2f} M points/s "
                f"({pts:,} points in {insert_s:.2f} s); final seal {flush_s:.2f} s; "
                f"insert + seal {pts / (insert_s + flush_s) / 1e6:5.2f} M points/s"
            )
            if mode == "ASYNC":
                elapsed, got = scan(store)
                assert got == n, (got, n)
                rates["scan_files"] = got / elapsed
                print(
                    f"query   full scan, sealed files: {got / elapsed / 1e6:6.2f} M points/s "
                    f"({got:,} points in {elapsed:.2f} s)"
                )
            store.close()
        mem = Store.open(root / "memscan", {"wal_mode": "DISABLE"})
        for tablet in tablets:
            mem.insert_tablet(tablet)
        with mem._lock:  # keep it all in memtables: no background flush during the scan
            elapsed, got = scan(mem)
        print(
            f"query   full scan, memtables:    {got / elapsed / 1e6:6.2f} M points/s "
            f"({got:,} points in {elapsed:.2f} s)"
        )
        mem._abandon()
        w_ref, r_ref = official_reference(root, args.reference_points)
        print(
            f"reference: official tsfile 2.5.0 write_tablet {w_ref / 1e6:6.2f} M points/s, "
            f"query_timeseries+read_data_frame {r_ref / 1e6:6.2f} M points/s "
            f"({args.reference_points:,} points)"
        )
        print(f"ratio   store insert (WAL ASYNC) / official write: {rates['ASYNC'] / w_ref:5.2f}")
        print(
            f"ratio   store full scan / official read:           {rates['scan_files'] / r_ref:5.2f}"
        )
        goal = 3_000_000
        print(
            f"goal    >= 3 M points/s insert with the WAL on: "
            f"{'met' if rates['ASYNC'] >= goal else 'NOT met'}"
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
