"""Fixtures of the Flink connector tests: real ``pipecore serve`` processes on 127.0.0.1,
Flink jobs run as child processes of this interpreter (a local mini-cluster each), and the
Java requirement.

Flink needs Java: where ``java`` is missing the tests skip with the reason, and fail instead
under ``PIPECORE_REQUIRE_JAVA=1`` (CI sets it).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

HERE = Path(__file__).parent
JOBS = HERE / "jobs"
EXAMPLES = HERE.parent / "examples"


def unavailable(reason: str) -> NoReturn:
    if os.environ.get("PIPECORE_REQUIRE_JAVA") == "1":
        pytest.fail(f"PIPECORE_REQUIRE_JAVA=1 but {reason}")
    pytest.skip(reason)


def require_java() -> None:
    if shutil.which("java") is None:
        unavailable("`java` is not on PATH (Flink's mini-cluster runs in a JVM)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``pipecore serve`` on 127.0.0.1 in a child process."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.log = data_dir.with_suffix(".log")
        cmd = [
            sys.executable,
            "-m",
            "pipecore.cli",
            "serve",
            "--data-dir",
            str(data_dir),
            "--rpc-port",
            str(self.port),
            "--rpc-address",
            "127.0.0.1",
        ]
        self._out = open(self.log, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, stdout=self._out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"pipecore serve exited: {self.log.read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("pipecore serve did not listen within 60 s")

    def session(self):
        from iotdb.Session import Session

        session = Session("127.0.0.1", self.port)
        session.open(False)
        return session

    def query(self, sql: str) -> list[list]:
        """Rows of ``sql`` as [time, value, ...] with Python values."""
        session = self.session()
        try:
            with session.execute_query_statement(sql) as data:
                rows = []
                while data.has_next():
                    rec = data.next()
                    fields = [
                        f.get_object_value(f.get_data_type()) if f.get_data_type() else None
                        for f in rec.get_fields()
                    ]
                    rows.append([rec.get_timestamp(), *fields])
                return rows
        finally:
            session.close()

    def count(self, path: str) -> int:
        rows = self.query(f"select count({path.rsplit('.', 1)[1]}) from {path.rsplit('.', 1)[0]}")
        return int(rows[0][1]) if rows else 0

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._out.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("flink") / "node")
    try:
        yield srv
    finally:
        srv.stop()


def run_job(script: Path, *args: object, timeout: float = 240) -> subprocess.CompletedProcess:
    """Run a PyFlink job script in a child process; its output comes back as text."""
    require_java()
    cmd = [sys.executable, str(script), *map(str, args)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(JOBS), str(EXAMPLES)])}
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(
            f"{script.name} did not finish within {timeout} s: {exc.stdout}"
        ) from exc


def job_failed(done: subprocess.CompletedProcess) -> str:
    return f"job exited {done.returncode}:\n{(done.stdout + done.stderr)[-4000:]}"
