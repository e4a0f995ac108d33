"""Client writes and reads: the official Python `Session` against `pipecore serve` and against a
real Apache IoTDB on the same machine, same run, same data.

    python bench/client_bench.py [--points 10000000] [--rows 1000] [--series 10]
                                 [--sql-points 200000] [--read-points N] [--repeat 1]
                                 [--no-iotdb] [--no-plain]

A quick run: `--points 1000000 --sql-points 50000`.

The data: DOUBLE series under one device, tablets of `rows` rows × `series` series, sent with
`Session.insert_tablet` as `NumpyTablet`s (the client's fast path) and as `Tablet`s (row lists)
until `points` points are written each. SQL INSERT writes `--sql-points` points (it is slow:
a smaller amount measures its rate well enough) in multi-row statements of `rows` rows. Every
rate is of acknowledged writes (the server answers after its store took them; WAL ASYNC on
both). The read-back selects the NumpyTablet device's series (`--read-points` of them, all by
default) with `execute_query_statement` and turns the result into a DataFrame (`todf`), the
client's bulk read path. The client side (building request bytes, decoding results) is in the
time, as a user sees it.

The real IoTDB is the single-node ConfigNode + DataNode of the interop tests
(tests/interop/iotdb_server.py, the version in tools/java/versions.env, jars from Maven
Central; Java 17 needed). It gets IoTDB's default WAL buffer and a 2 GiB DataNode heap.
`--no-iotdb` measures pipecore alone. With `--repeat N` each measurement is the best of N.
Printed: each rate, pipecore / IoTDB ratios, and tablet / SQL ratios.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(_ROOT / "tests" / "interop"))

WORKLOADS = ("numpy_tablet", "tablet", "sql", "read")
LABELS = {
    "numpy_tablet": "Session.insert_tablet (NumpyTablet)",
    "tablet": "Session.insert_tablet (Tablet)",
    "sql": "SQL INSERT (multi-row)",
    "read": "SELECT + todf (read-back)",
}


def _serve(data_dir: Path) -> tuple[subprocess.Popen[bytes], int]:
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


def _tablets(session: Any, device: str, points: int, rows: int, series: int, plain: bool) -> float:
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
            session.insert_tablet(Tablet(device, names, types, table, times.tolist()))
        else:
            session.insert_tablet(NumpyTablet(device, names, types, list(values), times))
    return count * rows * series / (time.perf_counter() - started)


def _sql(session: Any, device: str, points: int, rows: int, series: int) -> float:
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
        session.execute_non_query_statement(f"insert into {device}(time, {names}) values {body}")
    return count * rows * series / (time.perf_counter() - started)


def _read(session: Any, device: str, points: int, series: int) -> float:
    rows = points // series
    cols = ", ".join(f"s{i}" for i in range(series))
    started = time.perf_counter()
    ds = session.execute_query_statement(f"select {cols} from {device} where time < {rows}")
    frame = ds.todf()
    ds.close_operation_handle()
    seconds = time.perf_counter() - started
    if frame.shape != (rows, series + 1):
        raise SystemExit(f"read-back of {device}: {frame.shape}, expected {(rows, series + 1)}")
    return rows * series / seconds


def measure(port: int, tag: str, args: argparse.Namespace, run: int) -> dict[str, float]:
    """Every workload once against the server on `port` (fresh devices per run)."""
    from iotdb.Session import Session

    session = Session("127.0.0.1", port, "root", "root")
    session.open(False)
    try:
        base = f"root.bench.{tag}r{run}"
        out = {
            "sql": _sql(session, f"{base}.sql", args.sql_points, args.rows, args.series),
            "numpy_tablet": _tablets(
                session, f"{base}.np", args.points, args.rows, args.series, plain=False
            ),
        }
        if not args.no_plain:
            out["tablet"] = _tablets(
                session, f"{base}.tab", args.points, args.rows, args.series, plain=True
            )
        out["read"] = _read(session, f"{base}.np", args.read_points or args.points, args.series)
    finally:
        session.close()
    return out


def _best(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: max(r[k] for r in runs) for k in runs[0]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=10_000_000)
    parser.add_argument("--sql-points", type=int, default=200_000)
    parser.add_argument("--read-points", type=int, default=0, help="default: --points")
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--series", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--no-iotdb", action="store_true", help="pipecore alone")
    parser.add_argument("--no-plain", action="store_true", help="skip the Tablet (list) run")
    args = parser.parse_args(argv)

    results: dict[str, dict[str, float]] = {}
    version = ""
    with tempfile.TemporaryDirectory(prefix="client-bench-") as tmp_text:
        tmp = Path(tmp_text)
        stops: list[Callable[[], None]] = []
        try:
            proc, port = _serve(tmp / "pipecore")

            def stop_serve() -> None:
                proc.terminate()
                proc.wait(60)

            stops.append(stop_serve)
            ports = {"pipecore": port}
            if not args.no_iotdb:
                from iotdb_server import IoTDBServer
                from java_env import iotdb_lib, iotdb_versions

                version = iotdb_versions()[-1]
                server = IoTDBServer(
                    version,
                    iotdb_lib(version),
                    tmp / "iotdb",
                    properties={"wal_buffer_size_in_byte": 32 << 20},
                    dn_heap="2g",
                )
                stops.append(server.stop)
                server.start()
                ports["iotdb"] = server.rpc_port
            runs: dict[str, list[dict[str, float]]] = {name: [] for name in ports}
            for run in range(args.repeat):  # interleaved: both see the same machine load
                for name, p in ports.items():
                    runs[name].append(measure(p, name[:2], args, run))
                    print(f"run {run + 1} {name}: " + ", ".join(
                        f"{k} {v / 1e6:.3f}" for k, v in runs[name][-1].items()
                    ) + " M points/s", flush=True)  # fmt: skip
            results = {name: _best(r) for name, r in runs.items()}
        finally:
            for stop in reversed(stops):
                stop()

    print(
        f"\ntablets of {args.rows} rows x {args.series} series, DOUBLE; {args.points:,} points "
        f"per tablet run, {args.sql_points:,} by SQL, {args.read_points or args.points:,} read "
        f"back; best of {args.repeat}; {os.cpu_count()} cores"
        + (f"; real IoTDB {version}" if version else "")
    )
    header = f"{'workload':<38} {'pipecore':>12}"
    if "iotdb" in results:
        header += f" {'IoTDB':>12} {'pipecore/IoTDB':>15}"
    print(header + "   (M points/s)")
    for key in WORKLOADS:
        if key not in results["pipecore"]:
            continue
        ours = results["pipecore"][key]
        line = f"{LABELS[key]:<38} {ours / 1e6:12.3f}"
        if "iotdb" in results:
            theirs = results["iotdb"][key]
            line += f" {theirs / 1e6:12.3f} {ours / theirs:14.2f}x"
        print(line)
    for name, res in results.items():
        print(f"{name}: NumpyTablet / SQL INSERT {res['numpy_tablet'] / res['sql']:.0f}x")


if __name__ == "__main__":
    main()
