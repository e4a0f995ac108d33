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

    def write(self, db: str, devices: int, rows: int) -> None:
        times = np.arange(rows, dtype=np.int64) + 1_700_000_000_000
        if self.is_iotdb:
            from iotdb.utils.IoTDBConstants import TSDataType
            from iotdb.utils.NumpyTablet import NumpyTablet

            types = [TSDataType[t] for t in TYPES]
            session = self.node.session()
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
            return
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


def run(source: Side, receiver: Side, mode: str, devices: int, rows: int) -> tuple[float, float]:
    """(points/s of the pipe, points/s of the source's writes alone — stream only)."""
    db = f"root.bench{next(_names)}"
    want = devices * rows * len(MEASUREMENTS)
    source.execute(f"create database {db}")
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
    else:
        source.execute(
            f"create pipe {pipe} with source ('source.path'='{db}.**', "
            f"'source.history.enable'='false', 'source.realtime.mode'='stream') {sink}"
        )
        time.sleep(3)  # the pipe's realtime source starts listening
        started = time.perf_counter()
        source.write(db, devices, rows)
        if source.is_iotdb:
            source.flush(db)
        written = time.perf_counter() - started
    _wait(receiver, db, want, timeout=600)
    seconds = time.perf_counter() - started
    source.execute(f"drop pipe {pipe}")
    return want / seconds, (want / written if mode == "stream" else 0.0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=10)
    parser.add_argument("--rows", type=int, default=5000)
    args = parser.parse_args(argv)
    version = iotdb_versions()[-1]
    lib = iotdb_lib(version)
    with tempfile.TemporaryDirectory(prefix="iotdb-bench-") as tmp_text:
        tmp = Path(tmp_text)
        started: list[Callable[[], None]] = []
        try:
            nodes: dict[str, Side] = {}
            for name in ("iotdb-a", "iotdb-b"):
                server = IoTDBServer(version, lib, tmp / name)
                started.append(server.stop)
                server.start()
                nodes[name] = Side(name, server, True)
            for name in ("pipecore-a", "pipecore-b"):
                pc = PipecoreNode(tmp, name)
                started.append(pc.stop)
                pc.start()
                nodes[name] = Side(name, pc, False)
            pairs = [
                ("IoTDB → IoTDB", "iotdb-a", "iotdb-b"),
                ("IoTDB → pipecore", "iotdb-a", "pipecore-b"),
                ("pipecore → IoTDB", "pipecore-a", "iotdb-b"),
                ("pipecore → pipecore", "pipecore-a", "pipecore-b"),
            ]
            results: dict[tuple[str, str], float] = {}
            writes: dict[str, float] = {}
            for mode in ("batch", "stream"):
                for label, a, b in pairs:
                    rate, write = run(nodes[a], nodes[b], mode, args.devices, args.rows)
                    results[(label, mode)] = rate
                    writes[label] = write
                    extra = f" (source writes alone {write:,.0f} points/s)" if write else ""
                    print(f"{mode:6} {label:22} {rate:12,.0f} points/s{extra}", flush=True)
        finally:
            for stop in reversed(started):
                stop()
    points = args.devices * args.rows * len(MEASUREMENTS)
    print(
        f"\nIoTDB {version}, {points:,} points per run ({args.devices} devices x 5 series x "
        f"{args.rows} rows)\n"
    )
    print(
        "| direction | batch (TsFiles) points/s | ratio | stream points/s | ratio "
        "| stream: source writes alone, points/s |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for label, _, _ in pairs:
        cells = []
        for mode in ("batch", "stream"):
            rate = results[(label, mode)]
            base = results[("IoTDB → IoTDB", mode)]
            cells += [f"{rate:,.0f}", f"{rate / base:.2f}"]
        cells.append(f"{writes[label]:,.0f}")
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
