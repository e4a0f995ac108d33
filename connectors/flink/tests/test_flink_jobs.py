"""PyFlink jobs with pipecore_flink against real ``pipecore serve`` processes.

Few jobs, small N: each job is a local Flink mini-cluster (seconds to start on a busy machine).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import EXAMPLES, JOBS, Server, job_failed, require_java, run_job


def test_seed_sink_example_writes_every_record(server: Server) -> None:
    """Seed 004's FlinkIoTDBSink in Python: the listed series is registered with its encoding
    and compressor, every record lands with its value, batching across two writers."""
    n = 300
    done = run_job(
        EXAMPLES / "flink_iotdb_sink.py",
        "--port",
        server.port,
        "--records",
        n,
        "--batch-size",
        10,
        "--parallelism",
        2,
    )
    assert done.returncode == 0, job_failed(done)
    sys.path.insert(0, str(EXAMPLES))
    try:
        from flink_iotdb_sink import sensor_records
    finally:
        sys.path.remove(str(EXAMPLES))
    expected = [[int(r["timestamp"]), float(r["values"])] for r in sensor_records(n)]
    assert server.query("select s1 from root.sg.d1") == expected
    (series,) = server.query("show timeseries root.sg.d1.s1")
    assert series[1:2] + series[4:7] == ["root.sg.d1.s1", "DOUBLE", "GORILLA", "SNAPPY"]


def _python_workers(marker: str) -> set[int]:
    """Pids of the Python UDF workers of the job whose environment holds ``marker`` (Flink's
    JVM starts them through a shell script; they are not always left as its children)."""
    found = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
            if b"pyflink.fn_execution.beam.beam_boot" not in args:
                continue
            if marker.encode() in (proc / "environ").read_bytes():
                found.add(int(proc.name))
        except OSError:  # gone meanwhile
            continue
    return found


def test_sigkilled_worker_loses_no_record(server: Server, tmp_path: Path) -> None:
    """Checkpointing on; after a checkpoint completed, the Python workers are SIGKILLed; Flink
    restarts the job from its last checkpoint and, with the sink's buffer in keyed state, every
    record arrives (idempotent rewrites make duplicates invisible)."""
    require_java()
    n, batch = 3000, 50
    checkpoints = tmp_path / "checkpoints"
    # PyFlink runs a local job's Python code inside the client process ("loopback" mode);
    # "process" mode gives it worker processes of its own, as on a TaskManager
    marker = f"{os.getpid()}-{time.monotonic_ns()}"
    env = {
        **os.environ,
        "PYTHONPATH": str(JOBS),
        "_python_worker_execution_mode": "process",
        "PIPECORE_FLINK_KILL_TEST": marker,
    }
    cmd = [
        sys.executable,
        str(JOBS / "kill_job.py"),
        str(server.port),
        str(n),
        str(batch),
        str(checkpoints),
    ]
    job = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    killed: set[int] = set()
    try:
        deadline = time.monotonic() + 180
        written = 0
        while time.monotonic() < deadline and job.poll() is None:
            written = _count_kill_rows(server)
            # kill once rows are arriving and a checkpoint has completed (the restart then
            # resumes from it rather than from the start)
            if written >= n // 10 and any(checkpoints.glob("*/chk-*/_metadata")):
                killed = _python_workers(marker)
                if killed:
                    break
            time.sleep(0.3)
        if not killed:
            job.kill()
            raise AssertionError(
                f"no worker to kill under {job.pid} ({written} rows):\n"
                f"{job.communicate()[0][-3000:]}"
            )
        assert _count_kill_rows(server) < n * 3 // 4, "the job was nearly done: kill too late"
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        # Flink notices the dead worker, fails the task and restarts it with new workers
        restarted: set[int] = set()
        while not restarted and job.poll() is None and time.monotonic() < deadline + 60:
            restarted = _python_workers(marker) - killed
            time.sleep(0.2)
        assert restarted, "no new Python worker was started after the kill"
        out, _ = job.communicate(timeout=240)
    finally:
        if job.poll() is None:
            job.kill()
            job.wait()
    assert job.returncode == 0 and "JOB DONE" in out, f"job exited {job.returncode}:\n{out[-4000:]}"
    rows = server.query("select v from root.kill.d0") + server.query("select v from root.kill.d1")
    assert sorted(r[0] for r in rows) == list(range(n))
    assert all(t == v for t, v in rows)


def _count_kill_rows(server: Server) -> int:
    rows = server.query("select count(v) from root.kill.*")
    return sum(int(v) for v in rows[0][1:]) if rows else 0


def _write_source_data(server: Server) -> None:
    from iotdb.utils.IoTDBConstants import TSDataType
    from iotdb.utils.Tablet import Tablet

    rnd = random.Random(18)
    session = server.session()
    try:
        for k in range(3):
            times = sorted(rnd.sample(range(10_000), 150))
            values = [[t * 10 + k, None if t % 7 == 0 else f"x{t}"] for t in times]
            session.insert_tablet(
                Tablet(
                    f"root.src.d{k}", ["a", "b"], [TSDataType.INT64, TSDataType.TEXT], values, times
                )
            )
    finally:
        session.close()


def test_source_reads_every_row_once_at_parallelism_1_and_2(server: Server, tmp_path: Path):
    """IoTDBSource split by device (ALIGN BY DEVICE) and by time range, at parallelism 1 and 2:
    the rows read are exactly the rows of the query (as multisets)."""
    _write_source_data(server)
    out = tmp_path / "rows.tsv"
    done = run_job(JOBS / "source_job.py", server.port, out)
    assert done.returncode == 0, job_failed(done)
    runs: dict[str, Counter] = {}
    for line in out.read_text().splitlines():
        name, row = line.split("\t", 1)
        runs.setdefault(name, Counter())[row] += 1
    session = server.session()
    try:
        expected = {}
        for sql in ("select * from root.src.** align by device", "select * from root.src.**"):
            with session.execute_query_statement(sql) as data:
                rows: Counter = Counter()
                while data.has_next():
                    rows[str(data.next())] += 1
            expected[sql] = rows
    finally:
        session.close()
    by_device, by_time = expected.values()
    assert sum(by_device.values()) == 450 and sum(by_time.values()) > 150
    assert set(runs) == {"device-p1", "device-p2", "time-p1", "time-p2"}
    assert runs["device-p1"] == by_device
    assert runs["device-p2"] == by_device
    assert runs["time-p1"] == by_time
    assert runs["time-p2"] == by_time
    assert "SPLITS 3" in done.stdout and "SPLITS 5" in done.stdout


@pytest.fixture
def edge_and_center(tmp_path: Path):
    center = Server(tmp_path / "center")
    edge = Server(tmp_path / "edge")
    try:
        yield edge, center
    finally:
        edge.stop()
        center.stop()


def test_flink_into_edge_node_piped_to_center(edge_and_center) -> None:
    """A Flink job writes into a pipecore edge node; a pipe forwards every row to a second
    node (the example in examples/edge_pipe.py)."""
    edge, center = edge_and_center
    n = 400
    done = run_job(
        EXAMPLES / "edge_pipe.py",
        "--edge-port",
        edge.port,
        "--center-port",
        center.port,
        "--records",
        n,
    )
    assert done.returncode == 0, job_failed(done)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        rows = center.query("select temperature from root.edge.line1") if _has(center) else []
        if len(rows) >= n:
            break
        time.sleep(0.5)
    assert rows == edge.query("select temperature from root.edge.line1")
    assert [r[0] for r in rows] == list(range(1_700_000_000_000, 1_700_000_000_000 + n))


def _has(server: Server) -> bool:
    return bool(server.query("show timeseries root.edge.line1.temperature"))
