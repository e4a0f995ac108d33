"""SQL INSERT on a sender node → rows in a receiver node's store, end to end.

    python bench/insert_e2e_bench.py [--rows 20000] [--modes stream hybrid]

Two ``pipecore serve`` processes on loopback, A → B with ``iotdb-thrift-sink`` (defaults:
async, batching on with IoTDB 1.3's 1 s delay). For each realtime mode and each statement
size (1, 100 and 10,000 rows per ``INSERT ... VALUES (...), (...)``), a client sends
statements to A until ``--rows`` rows (1-row statements: ``--rows / 20``) are written, and
the clock runs until B's ``count(*)`` shows every one of them. The reference, measured in the
same run, is the same statements into A with no pipe: the client and A's SQL path alone
(best of two rounds, the first warming the node up).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipecore.cli.remote import RemoteSession

SIZES = (1, 100, 10_000)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Node:
    def __init__(self, folder: Path, name: str) -> None:
        self.port = _free_port()
        config = folder / f"{name}.toml"
        config.write_text("pipe_heartbeat_interval_seconds_for_collecting_pipe_meta = 0.1\n")
        self.proc = subprocess.Popen(
            [
                sys.executable, "-c", "import sys; from pipecore.cli import main; sys.exit(main())",
                "serve", "--data-dir", str(folder / name), "--config", str(config),
                "--rpc-port", str(self.port), "--rpc-address", "127.0.0.1",
            ],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        self.session: RemoteSession | None = None

    def connect(self) -> RemoteSession:
        deadline = time.monotonic() + 60
        while True:
            try:
                self.session = RemoteSession("127.0.0.1", self.port, timeout=120).open()
                return self.session
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def sql(self, statement: str):
        assert self.session is not None
        return self.session.run(statement)

    def count(self, pattern: str) -> int:
        try:
            table = self.sql(f"select count(*) from {pattern}").table()
        except Exception:
            return 0
        return sum(int(v or 0) for row in table.rows for v in row)

    def stop(self) -> None:
        if self.session is not None:
            with contextlib.suppress(Exception):
                self.session.close()
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def statements(db: str, size: int, total: int) -> list[str]:
    out, t = [], 1
    while t <= total:
        n = min(size, total - t + 1)
        values = ",".join(f"({i},{i})" for i in range(t, t + n))
        out.append(f"INSERT INTO {db}.d(time, s) VALUES {values}")
        t += n
    return out


def run(a: Node, b: Node | None, db: str, stmts: list[str], rows: int) -> float:
    started = time.perf_counter()
    for s in stmts:
        a.sql(s)
    if b is not None:
        while b.count(f"{db}.**") < rows:
            time.sleep(0.02)
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--modes", nargs="+", default=["stream", "hybrid"])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="insert-e2e-") as tmp:
        a, b = Node(Path(tmp), "A"), Node(Path(tmp), "B")
        try:
            a.connect()
            b.connect()
            b.count("root.**")  # its first query builds the SQL parser (~1 s): not timed
            print(f"insert -> receiver on loopback, {os.cpu_count()} cores")
            n = 0
            reference: dict[int, float] = {}
            for _ in range(2):  # the first round warms the node up; the best round counts
                for size in SIZES:
                    rows = max(args.rows // 20, 100) if size == 1 else args.rows
                    n += 1
                    db = f"root.ref{n}"
                    secs = run(a, None, db, statements(db, size, rows), rows)
                    reference[size] = max(reference.get(size, 0.0), rows / secs)
            for mode in args.modes:
                a.sql(
                    f"CREATE PIPE e2e WITH SOURCE ('realtime.mode'='{mode}') WITH SINK "
                    f"('sink'='iotdb-thrift-sink', 'sink.node-urls'='127.0.0.1:{b.port}')"
                )
                time.sleep(1.0)
                for size in SIZES:
                    rows = max(args.rows // 20, 100) if size == 1 else args.rows
                    n += 1
                    db = f"root.e2e{n}"
                    secs = run(a, b, db, statements(db, size, rows), rows)
                    rate = rows / secs
                    print(
                        f"{mode:7s} {size:6,d}-row INSERTs  {rate:10,.0f} rows/s end to end "
                        f"({rows:,} rows in {secs:.2f} s); INSERTs alone {reference[size]:,.0f} "
                        f"rows/s: ratio {rate / reference[size]:.2f}"
                    )
                a.sql("DROP PIPE e2e")
        finally:
            a.stop()
            b.stop()


if __name__ == "__main__":
    main()
