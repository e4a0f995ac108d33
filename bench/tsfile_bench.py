"""TsFile write/read throughput: pipecore's TsFile library against the official `tsfile` package.

    python bench/tsfile_bench.py              # 100 devices x 10 series x 10,000 rows: 10 M points
    python bench/tsfile_bench.py --rows 1000      # a quick run (1 M points)
    python bench/tsfile_bench.py --profile write  # cProfile of our write (or: read)

Data: per device 5 INT64 series (TS_2DIFF) and 5 DOUBLE series (GORILLA), all LZ4, one shared
timestamp column (1 s apart). Both libraries get the same values.

* write: ours = `TsFileWriter.write_tablet` per device (numpy columns) + `close()` (fsync);
  official = a `tsfile.Tablet` per device filled by assigning Python lists to
  ``timestamp_list``/``data_list`` (the conversion from numpy is timed too, as it is what a
  caller holding numpy data pays; it is also reported apart) + `write_tablet` + `close()`.
* read: ours = `TsFileReader.read_series(device)` (numpy arrays, columnar); official =
  `query_timeseries(device, sensors)` + `read_data_frame(65536)` until empty (its fastest bulk
  path; row iteration was not faster).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import tempfile
import time

import numpy as np

from pipecore_storage import MeasurementSchema, Tablet
from pipecore_storage.tsfile import TsFileReader, TsFileWriter
from pipecore_storage.types import CompressionType, TSDataType, TSEncoding

INT_SERIES = [f"i{k}" for k in range(5)]
DBL_SERIES = [f"d{k}" for k in range(5)]


def make_data(devices: int, rows: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    times = 1_700_000_000_000 + np.arange(rows, dtype=np.int64) * 1000
    data = []
    for _ in range(devices):
        ints = [np.cumsum(rng.integers(-100, 100, rows)).astype(np.int64) for _ in INT_SERIES]
        dbls = [np.round(20 + np.cumsum(rng.normal(0, 0.1, rows)), 2) for _ in DBL_SERIES]
        data.append(ints + dbls)
    return times, data


def schemas() -> list[MeasurementSchema]:
    lz4 = CompressionType.LZ4
    return [
        MeasurementSchema(n, TSDataType.INT64, TSEncoding.TS_2DIFF, lz4) for n in INT_SERIES
    ] + [MeasurementSchema(n, TSDataType.DOUBLE, TSEncoding.GORILLA, lz4) for n in DBL_SERIES]


def write_ours(path: str, times, data) -> float:
    sch = schemas()
    start = time.perf_counter()
    with TsFileWriter(path) as w:
        for d, cols in enumerate(data):
            w.write_tablet(Tablet(f"root.bench.d{d:03d}", sch, times, cols))
    return time.perf_counter() - start


def write_official(path: str, times, data) -> tuple[float, float]:
    """(seconds in total, seconds spent converting numpy to the Tablet's Python lists)."""
    import tsfile as off

    names = INT_SERIES + DBL_SERIES
    types = [off.TSDataType.INT64] * 5 + [off.TSDataType.DOUBLE] * 5
    encs = [off.TSEncoding.TS_2DIFF] * 5 + [off.TSEncoding.GORILLA] * 5
    start = time.perf_counter()
    convert = 0.0
    w = off.TsFileWriter(path)
    for d, cols in enumerate(data):
        dev = f"root.bench.d{d:03d}"
        w.register_device(
            off.DeviceSchema(
                dev,
                [
                    off.TimeseriesSchema(n, t, e, off.Compressor.LZ4)
                    for n, t, e in zip(names, types, encs, strict=True)
                ],
            )
        )
        c0 = time.perf_counter()
        tab = off.Tablet(names, types, len(times))
        tab.set_table_name(dev)
        tab.timestamp_list = times.tolist()
        tab.data_list = [c.tolist() for c in cols]
        convert += time.perf_counter() - c0
        w.write_tablet(tab)
    w.close()
    return time.perf_counter() - start, convert


def read_ours(path: str) -> tuple[float, int]:
    start = time.perf_counter()
    points = 0
    with TsFileReader(path) as r:
        for dev in r.devices():
            for _, v in r.read_series(dev).values():
                points += v.shape[0]
    return time.perf_counter() - start, points


def read_official(path: str, devices: int) -> tuple[float, int]:
    import tsfile as off

    names = INT_SERIES + DBL_SERIES
    start = time.perf_counter()
    points = 0
    r = off.TsFileReader(path)
    for d in range(devices):
        rs = r.query_timeseries(f"root.bench.d{d:03d}", names, -(2**62), 2**62)
        while True:
            df = rs.read_data_frame(65536)
            if df is None or len(df) == 0:
                break
            points += int(df.iloc[:, 1:].notna().to_numpy().sum())
        rs.close()
    r.close()
    return time.perf_counter() - start, points


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--devices", type=int, default=100)
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=1, help="runs per measurement (best is kept)")
    ap.add_argument("--profile", choices=["write", "read"], help="cProfile one of our phases")
    args = ap.parse_args()
    times, data = make_data(args.devices, args.rows)
    total = args.devices * len(schemas()) * args.rows
    tmp = tempfile.mkdtemp(prefix="tsfile-bench-")
    try:
        ours, theirs = os.path.join(tmp, "ours.tsfile"), os.path.join(tmp, "official.tsfile")
        if args.profile:
            _profile(args.profile, ours, times, data)
            return
        w_ours = min(write_ours(ours, times, data) for _ in range(args.repeat))
        w_off, conv = _best(
            [_fresh(write_official, theirs, times, data) for _ in range(args.repeat)]
        )
        r_ours, n_ours = _best([read_ours(ours) for _ in range(args.repeat)])
        r_off, n_off = _best([read_official(theirs, args.devices) for _ in range(args.repeat)])
        r_cross, n_cross = read_ours(theirs)
        assert n_ours == n_off == n_cross == total, (n_ours, n_off, n_cross, total)
        print(f"points: {total:,} ({args.devices} devices x 10 series x {args.rows:,} rows)")
        print(
            f"file size: ours {os.path.getsize(ours):,} B, official {os.path.getsize(theirs):,} B"
        )
        _line("write  ours (numpy tablets)", total, w_ours)
        _line("write  official (incl. list build)", total, w_off)
        _line("write  official (excl. list build)", total, w_off - conv)
        print(
            f"  ratio write ours/official: {w_off / w_ours:.2f}x (excl. list build: "
            f"{(w_off - conv) / w_ours:.2f}x)"
        )
        _line("read   ours read_series (columnar)", total, r_ours)
        _line("read   ours, the official file", total, r_cross)
        _line("read   official read_data_frame", total, r_off)
        print(f"  ratio read ours/official: {r_off / r_ours:.2f}x")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _fresh(fn, path, *a):
    if os.path.exists(path):
        os.unlink(path)
    return fn(path, *a)


def _best(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return min(runs, key=lambda x: x[0])


def _line(label: str, points: int, seconds: float) -> None:
    print(f"{label:40s} {seconds:7.3f} s  {points / seconds / 1e6:7.2f} M points/s")


def _profile(phase: str, path: str, times, data) -> None:
    prof = cProfile.Profile()
    if phase == "write":
        prof.runcall(write_ours, path, times, data)
    else:
        write_ours(path, times, data)
        prof.runcall(read_ours, path)
    pstats.Stats(prof).sort_stats("cumulative").print_stats(30)


if __name__ == "__main__":
    main()
