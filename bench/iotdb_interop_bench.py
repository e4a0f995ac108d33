"""Pipe throughput next to a real Apache IoTDB: IoTDB -> IoTDB (IoTDB's own pipe, the peer to
beat), IoTDB -> pipecore, pipecore -> IoTDB and pipecore -> pipecore, in one run on one machine.

    PIPECORE_JAVA_CACHE=... python bench/iotdb_interop_bench.py [--devices 10] [--rows 5000]

Two single-node IoTDBs (tools/java, the version of tools/java/versions.env) and two
`pipecore serve` processes run on loopback. Each direction uses its own database of
`devices` non-aligned devices x 5 series (INT64, DOUBLE, FLOAT, INT32, BOOLEAN) x `rows` rows.

* **batch (TsFiles)**: the data is written and flushed on the source first; the clock runs
  from CREATE PIPE (history only) until the receiver's `count(*)` holds every point.
* **stream**: the pipe (realtime only) exists first; the clock runs from the first write
  until the receiver holds every point. It includes the source's own write path (IoTDB:
  `insertTablet` of the official client; pipecore: SQL INSERT, which it parses) and, for an
  IoTDB source, a FLUSH after the writes: IoTDB 2.0.1-beta's realtime source is TsFile-only
  for user pipes, so its "stream" is files too.

Prints a Markdown table: points/s and the ratio to IoTDB -> IoTDB of the same mode.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import numpy as np

_ROOT = Path(__file__).resolve().parents[1]
for _folder in (_ROOT / "tests" / "interop", _ROOT / "tests" / "thrift"):
    sys.path.insert(0, str(_folder))

from iotdb_server import IoTDBServer  # noqa: E402
from java_env import iotdb_lib, iotdb_versions  # noqa: E402
from pipecore_node import PipecoreNode  # noqa: E402

MEASUREMENTS = ("a", "b", "c", "d", "e")
TYPES = ("INT64", "DOUBLE", "FLOAT", "INT32", "BOOLEAN")


class Side:
    """One node, IoTDB or pipecore, with what the bench needs of it."""

    def __init__(self, name: str, node: Any, is_iotdb: bool) -> None:
        self.name, self.node, self.is_iotdb = name, node, is_iotdb

    @property
    def url(self) -> str:
        return f"127.0.0.1:{self.node.rpc_port if self.is_iotdb else self.node.port}"

    def execute(self, *sql: str) -> None:
        self.node.execute(*sql)

    def count(self, db: str) -> int:
        try:
            _, rows = self.node.query(f"select count(*) from {db}.**")
        except Exception:  # nothing there yet
            return 0
        return int(sum(int(v) for v in rows[0] if v is not None)) if rows else 0

    def write(self, db: str, devices: int, rows: int, sql: bool = False) -> None:
        """The same tablets into either kind of node through the official client's
        `insertTablet` (`sql`: pipecore only, 500-row SQL INSERTs instead)."""
        times = np.arange(rows, dtype=np.int64) + 1_700_000_000_000
        if sql and not self.is_iotdb:
            self._write_sql(db, devices, rows, times)
            return
        from iotdb.utils.IoTDBConstants import TSDataType
        from iotdb.utils.NumpyTablet import NumpyTablet

        types = [TSDataType[t] for t in TYPES]
        session = self.node.session() if self.is_iotdb else self.node.official()
        for d in range(devices):
            for start in range(0, rows, 1000):
                t = times[start : start + 1000]
                n = len(t)
                values = [
                    np.arange(n, dtype=">i8") + start,
                    np.linspace(0, 1, n).astype(">f8"),
                    np.linspace(0, 1, n).astype(">f4"),
                    (np.arange(n, dtype=">i4") % 1000),
                    (np.arange(n) % 2 == 0),
                ]
                tablet = NumpyTablet(
                    f"{db}.d{d}", list(MEASUREMENTS), types, values, t.astype(">i8")
                )
                session.insert_tablet(tablet)

    def _write_sql(self, db: str, devices: int, rows: int, times: np.ndarray) -> None:
        cols = ", ".join(MEASUREMENTS)
        for d in range(devices):
            for start in range(0, rows, 500):
                text = ", ".join(
                    f"({t}, {i}, {i / rows:.6f}, {i / rows:.4f}, {i % 1000}, "
                    f"{'true' if i % 2 == 0 else 'false'})"
                    for i, t in enumerate(times[start : start + 500].tolist(), start)
                )
                self.execute(f"insert into {db}.d{d}(time, {cols}) values {text}")

    def flush(self, db: str) -> None:
        self.execute(f"flush {db}")


_names = iter(range(1, 1 << 30))


def _wait(receiver: Side, db: str, want: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while receiver.count(db) < want:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{receiver.name}: {receiver.count(db)} of {want} points in {db}")
        time.sleep(0.05)


@attrs.frozen
class Result:
    rate: float  # points/s through the pipe
    write_rate: float = 0.0  # stream: points/s of the source's writes alone
    tail: float = 0.0  # stream: seconds from the last write until the receiver had every point


def run(
    source: Side, receiver: Side, mode: str, devices: int, rows: int, sql: bool, realtime: str
) -> Result:
    db = f"root.bench{next(_names)}"
    want = devices * rows * len(MEASUREMENTS)
    source.execute(f"create database {db}")
    receiver.count(db)  # the first query of a node is slow (pipecore builds its SQL parser)
    pipe = f"bench{next(_names)}"
    sink = f"with sink ('sink'='iotdb-thrift-sink', 'sink.node-urls'='{receiver.url}')"
    if mode == "batch":
        source.write(db, devices, rows)
        source.flush(db)
        started = time.perf_counter()
        source.execute(
            f"create pipe {pipe} with source ('source.path'='{db}.**', "
            f"'source.realtime.enable'='false') {sink}"
        )
        _wait(receiver, db, want, timeout=600)
        seconds = time.perf_counter() - started
        source.execute(f"drop pipe {pipe}")
        return Result(want / seconds)
    source.execute(
        f"create pipe {pipe} with source ('source.path'='{db}.**', "
        f"'source.history.enable'='false', 'source.realtime.mode'='{realtime}') {sink}"
    )
    time.sleep(3)  # the pipe's realtime source starts listening
    started = time.perf_counter()
    source.write(db, devices, rows, sql=sql)
    if source.is_iotdb:
        source.flush(db)
    written = time.perf_counter() - started
    _wait(receiver, db, want, timeout=600)
    seconds = time.perf_counter() - started
    source.execute(f"drop pipe {pipe}")
    return Result(want / seconds, want / written, seconds - written)


PAIRS = {
    "ii": ("IoTDB → IoTDB", "iotdb-a", "iotdb-b"),
    "ip": ("IoTDB → pipecore", "iotdb-a", "pipecore-b"),
    "pi": ("pipecore → IoTDB", "pipecore-a", "iotdb-b"),
    "pp": ("pipecore → pipecore", "pipecore-a", "pipecore-b"),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=10)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument(
        "--pairs", default="ii,ip,pi,pp", help="directions: ii, ip, pi, pp (i IoTDB, p pipecore)"
    )
    parser.add_argument("--modes", default="batch,stream")
    parser.add_argument(
        "--sql", action="store_true", help="stream: pipecore is written by 500-row SQL INSERTs"
    )
    parser.add_argument(
        "--realtime-mode", default="stream", help="stream runs: source.realtime.mode"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per cell (the best is shown)")
    args = parser.parse_args(argv)
    keys = [k.strip() for k in args.pairs.split(",") if k.strip()]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    pairs = [PAIRS[k] for k in keys]
    needed = {n for _, a, b in pairs for n in (a, b)}
    version = iotdb_versions()[-1]
    results: dict[tuple[str, str], Result] = {}
    with tempfile.TemporaryDirectory(prefix="iotdb-bench-") as tmp_text:
        tmp = Path(tmp_text)
        started: list[Callable[[], None]] = []
        try:
            nodes: dict[str, Side] = {}
            for name in sorted(n for n in needed if n.startswith("iotdb")):
                server = IoTDBServer(version, iotdb_lib(version), tmp / name)
                started.append(server.stop)
                server.start()
                nodes[name] = Side(name, server, True)
            for name in sorted(n for n in needed if n.startswith("pipecore")):
                pc = PipecoreNode(tmp, name)
                started.append(pc.stop)
                pc.start()
                nodes[name] = Side(name, pc, False)
            for mode in modes:
                for _ in range(args.repeat):
                    for label, a, b in pairs:
                        r = run(
                            nodes[a],
                            nodes[b],
                            mode,
                            args.devices,
                            args.rows,
                            args.sql,
                            args.realtime_mode,
                        )
                        best = results.get((label, mode))
                        if best is None or r.rate > best.rate:
                            results[(label, mode)] = r
                        extra = (
                            f" (source writes alone {r.write_rate:,.0f} points/s, "
                            f"last point {r.tail:.2f} s after the last write)"
                            if mode == "stream"
                            else ""
                        )
                        print(f"{mode:6} {label:22} {r.rate:12,.0f} points/s{extra}", flush=True)
        finally:
            for stop in reversed(started):
                stop()
    points = args.devices * args.rows * len(MEASUREMENTS)
    print(
        f"\nIoTDB {version}, {points:,} points per run ({args.devices} devices x 5 series x "
        f"{args.rows} rows), best of {args.repeat}\n"
    )
    head = ["direction"]
    for mode in modes:
        head += [f"{mode} points/s", "ratio"]
    if "stream" in modes:
        head += ["stream: source writes alone, points/s", "stream: tail, s"]
    print("| " + " | ".join(head) + " |")
    print("| --- |" + " ---: |" * (len(head) - 1))
    for label, _, _ in pairs:
        cells = []
        for mode in modes:
            r = results[(label, mode)]
            base = results.get(("IoTDB → IoTDB", mode))
            cells += [f"{r.rate:,.0f}", f"{r.rate / base.rate:.2f}" if base else "—"]
        if "stream" in modes:
            r = results[(label, "stream")]
            cells += [f"{r.write_rate:,.0f}", f"{r.tail:.2f}"]
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
