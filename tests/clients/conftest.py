"""Fixtures of the client tests: a real ``pipecore serve`` process and the official client.

One server process per test module (starting one costs seconds); each test gets a database
of its own name, so tests stay independent.
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


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
            "-c",
            "import sys; from pipecore.cli import main; sys.exit(main())",
            "serve",
            "--data-dir",
            str(data_dir),
            "--rpc-port",
            str(self.port),
            "--rpc-address",
            "127.0.0.1",
        ]
        self._out = open(self.log, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            cmd, stdout=self._out, stderr=subprocess.STDOUT, env={**os.environ}
        )
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
    srv = Server(tmp_path_factory.mktemp("clients") / "node")
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def session(server: Server) -> Iterator:
    s = server.session()
    try:
        yield s
    finally:
        s.close()


_names = itertools.count(1)


@pytest.fixture
def db() -> str:
    """A database name of this test's own."""
    return f"root.t{os.getpid()}_{next(_names)}"
