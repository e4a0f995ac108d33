"""Client writes into `pipecore serve`: the official Python `Session.insert_tablet` next to the
same data as SQL INSERT statements, same run, same server.

    python bench/client_bench.py [--points 10000000] [--rows 1000] [--series 10]
                                 [--sql-points 200000]

The data: DOUBLE series under one device, tablets of `rows` rows × `series` series, sent as
`NumpyTablet`s (the client's fast path; `--plain-tablet` sends `Tablet`s) until `points`
points are written. SQL INSERT writes `--sql-points` points (it is slow: a smaller amount
measures its rate well enough) in multi-row statements of `rows` rows. Both rates are
acknowledged writes (the server answers after the store took them, WAL ASYNC). The ratio
tablet / SQL is printed. The server is a separate process; the client side (building the
request bytes) is included in the time, as a user sees it.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _serve(data_dir: Path) -> tuple[subprocess.Popen, int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    cmd = [sys.executable, "-c", "import sys; from pipecore.cli import main; sys.exit(main())",
           "serve", "--data-dir", str(data_dir), "--rpc-port", str(port),
           "--rpc-address", "127.0.0.1"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("pipecore serve did not start")


def _tablets(session, points: int, rows: int, series: int, plain: bool) -> float:
    from iotdb.utils.IoTDBConstants import TSDataType
    from iotdb.utils.NumpyTablet import NumpyTablet
    from iotdb.utils.Tablet import Tablet

    names = [f"s{i}" for i in range(series)]
    types = [TSDataType.DOUBLE] * series
    rng = np.random.default_rng(1)
    values = [rng.random(rows) for _ in range(series)]
    count = points // (rows * series)
    started = time.perf_counter()
    for k in range(count):
        times = np.arange(k * rows, (k + 1) * rows, dtype=np.int64)
        if plain:
            table = np.column_stack(values).tolist()
            session.insert_tablet(Tablet("root.bench.tablet", names, types, table, times.tolist()))
        else:
            session.insert_tablet(
                NumpyTablet("root.bench.tablet", names, types, list(values), times)
            )
    return count * rows * series / (time.perf_counter() - started)


def _sql(session, points: int, rows: int, series: int) -> float:
    names = ", ".join(f"s{i}" for i in range(series))
    rng = np.random.default_rng(2)
    count = points // (rows * series)
    started = time.perf_counter()
    for k in range(count):
        block = rng.random((rows, series))
        body = ", ".join(
            f"({k * rows + r}, " + ", ".join(repr(float(v)) for v in block[r]) + ")"
            for r in range(rows)
        )
        session.execute_non_query_statement(
            f"insert into root.bench.sql(time, {names}) values {body}"
        )
    return count * rows * series / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=10_000_000)
    parser.add_argument("--sql-points", type=int, default=200_000)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--series", type=int, default=10)
    parser.add_argument("--plain-tablet", action="store_true")
    args = parser.parse_args()
    from iotdb.Session import Session

    with tempfile.TemporaryDirectory(prefix="client-bench-") as tmp:
        proc, port = _serve(Path(tmp) / "node")
        try:
            session = Session("127.0.0.1", port)
            session.open(False)
            sql_rate = _sql(session, args.sql_points, args.rows, args.series)
            tablet_rate = _tablets(session, args.points, args.rows, args.series, args.plain_tablet)
            session.close()
        finally:
            proc.terminate()
            proc.wait(60)
    kind = "Tablet" if args.plain_tablet else "NumpyTablet"
    print(f"tablets of {args.rows} rows x {args.series} series, DOUBLE, {os.cpu_count()} cores")
    label = f"Session.insert_tablet ({kind})"
    print(f"{label:<34} {args.points:>12,} points {tablet_rate / 1e6:8.2f} M points/s")
    print(f"{'SQL INSERT':<34} {args.sql_points:>12,} points {sql_rate / 1e6:8.2f} M points/s")
    print(f"ratio tablet / SQL           {tablet_rate / sql_rate:8.1f}x")


if __name__ == "__main__":
    main()
