"""Flink jobs writing into `pipecore serve`: pipecore-flink's IoTDBSink (PyFlink) at parallelism
1 and 2, batch sizes 1 and 1,000, next to IoTDB's own Java connector (flink-iotdb-connector,
the seed's FlinkIoTDBSink) into the same node, same run.

    ~/.cache/pipecore/flink-venv/bin/python bench/flink_bench.py [--rows 60000] [--rows-batch1 3000]

Run it with the Flink venv of connectors/flink/ci.sh (apache-flink, pipecore, pipecore-flink);
the Java side needs java, javac and mvn (jars cached as for the tests). Every job writes the
seed's records (device, timestamp, one DOUBLE measurement, values as text) of a device of its
own from a bounded in-memory source. A job's time is its `execute()` on a local mini-cluster,
start-up and scheduling included; "net" subtracts the time of the same job with one record,
which leaves the time spent moving rows. The node's writes are acknowledged writes.
"""

from __future__ import annotations

import argparse
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "connectors" / "flink" / "tests"


def _serve(data_dir: Path) -> tuple[subprocess.Popen, int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    cmd = [
        sys.executable,
        "-m",
        "pipecore.cli",
        "serve",
        "--data-dir",
        str(data_dir),
        "--rpc-port",
        str(port),
        "--rpc-address",
        "127.0.0.1",
    ]
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


def _records(device: str, n: int) -> list[dict[str, str]]:
    rnd = random.Random(7)
    return [
        {
            "device": device,
            "timestamp": str(1_700_000_000_000 + i),
            "measurements": "s1",
            "types": "DOUBLE",
            "values": str(rnd.random()),
        }
        for i in range(n)
    ]


def _count(port: int, device: str) -> int:
    from iotdb.Session import Session

    s = Session("127.0.0.1", port)
    s.open(False)
    try:
        with s.execute_query_statement(f"select count(s1) from {device}") as data:
            return int(str(data.next()).split()[-1]) if data.has_next() else 0
    finally:
        s.close()


def python_job(env, port: int, sg: str, n: int, parallelism: int, batch: int) -> float:
    from pipecore_flink import IoTDBSink, IoTDBSinkOptions, TimeseriesOption
    from pyflink.common import Types

    options = IoTDBSinkOptions(
        port=port, storage_group=sg, timeseries_option_list=[TimeseriesOption(f"{sg}.d1.s1")]
    )
    env.set_parallelism(parallelism)
    source = env.from_collection(
        _records(f"{sg}.d1", n), type_info=Types.MAP(Types.STRING(), Types.STRING())
    )
    IoTDBSink(options).with_batch_size(batch).with_session_pool_size(3).attach(source)
    started = time.perf_counter()
    env.execute(f"bench-{sg}")
    return time.perf_counter() - started


def java_job(
    classpath: str, port: int, sg: str, n: int, parallelism: int, batch: int
) -> float | None:
    from test_java_connector import run_example

    done = run_example(classpath, "FlinkIoTDBSink", port, n, batch, parallelism, sg)
    if done.returncode != 0 and "has already been created as database" in done.stdout + done.stderr:
        # each parallel instance of the 0.12.1 sink creates the storage group in open() and
        # accepts only IoTDB 0.12's code 300 for "exists": the second instance fails on 501
        return None
    if done.returncode != 0:
        raise SystemExit(f"java connector failed: {(done.stdout + done.stderr)[-3000:]}")
    m = re.search(r"^SECONDS\t([0-9.]+)", done.stdout, re.M)
    assert m, done.stdout
    return float(m.group(1))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=60_000, help="rows per job at batch size 1000")
    ap.add_argument("--rows-batch1", type=int, default=3_000, help="rows per job at batch size 1")
    ap.add_argument("--no-java", action="store_true")
    args = ap.parse_args()

    from pyflink.datastream import StreamExecutionEnvironment

    results: list[tuple] = []
    with tempfile.TemporaryDirectory(prefix="flink-bench-") as tmp:
        proc, port = _serve(Path(tmp) / "node")
        try:
            env = StreamExecutionEnvironment.get_execution_environment()
            env.set_python_executable(sys.executable)
            python_job(env, port, "root.warmup", 10, 1, 1)  # the first job pays PyFlink's start
            classpath = None
            if not args.no_java:
                sys.path.insert(0, str(TESTS))
                from test_java_connector import build_examples

                classpath = build_examples(Path(tmp) / "classes")
                java_job(classpath, port, "root.jwarmup", 10, 1, 1)
            k = 0
            for batch in (1, 1000):
                n = args.rows_batch1 if batch == 1 else args.rows
                for parallelism in (1, 2):
                    for side in ("python", "java"):
                        if side == "java" and classpath is None:
                            continue
                        if side == "java" and parallelism > 1:
                            # each parallel instance of the 0.12.1 sink creates the storage group
                            # in open() and takes only IoTDB 0.12's code 300 for "exists": all
                            # but one fail on the 501 of IoTDB >= 1.0 (and pipecore)
                            results.append((side, parallelism, batch, n, None, None, None))
                            print(f"java   p={parallelism} batch={batch:5}  cannot run (501)")
                            continue
                        times: list[float | None] = []
                        for rows in (1, n):
                            k += 1
                            sg = f"root.b{k}"
                            if side == "python":
                                times.append(python_job(env, port, sg, rows, parallelism, batch))
                            else:
                                times.append(
                                    java_job(classpath, port, sg, rows, parallelism, batch)
                                )
                            landed = _count(port, f"{sg}.d1")
                            assert landed == rows, f"{side} {sg}: {landed} of {rows} rows landed"
                        if None in times:
                            results.append((side, parallelism, batch, n, None, None, None))
                            print(
                                f"{side:6} p={parallelism} batch={batch:5}  fails (storage group"
                                " created by each instance: 501 for the second)",
                                flush=True,
                            )
                            continue
                        empty, full = times
                        results.append(
                            (
                                side,
                                parallelism,
                                batch,
                                n,
                                full,
                                n / full,
                                n / max(full - empty, 1e-9),
                            )
                        )
                        print(
                            f"{side:6} p={parallelism} batch={batch:5} rows={n:6}  "
                            f"job {full:6.2f} s  {n / full:9,.0f} rows/s  "
                            f"net {n / max(full - empty, 1e-9):9,.0f} rows/s",
                            flush=True,
                        )
        finally:
            proc.terminate()
            proc.wait(30)
    print("\n| sink | parallelism | batch size | rows | job s | rows/s | net rows/s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for side, p, b, n, full, rate, net in results:
        if full is None:
            print(f"| {side} | {p} | {b} | {n} | fails at open (see docs/flink.md) | | |")
            continue
        name = (
            "pipecore-flink IoTDBSink (PyFlink)"
            if side == "python"
            else "flink-iotdb-connector 0.12.1 (Java)"
        )
        print(f"| {name} | {p} | {b} | {n} | {full:.2f} | {rate:,.0f} | {net:,.0f} |")


if __name__ == "__main__":
    main()
