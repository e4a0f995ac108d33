"""Fixtures of the Flink connector tests: real ``pipecore serve`` processes on 127.0.0.1,
Flink jobs run as child processes of this interpreter (a local mini-cluster each), and the
Java requirement.

Flink needs Java: where ``java`` is missing the tests skip with the reason, and fail instead
under ``PIPECORE_REQUIRE_JAVA=1`` (CI sets it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from pipecore.testing.serve import ServeProcess

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


class Server(ServeProcess):
    """``pipecore serve`` on 127.0.0.1 in a child process, with reading helpers."""

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
