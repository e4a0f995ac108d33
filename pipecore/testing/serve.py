"""`ServeProcess`: a real ``pipecore serve`` on 127.0.0.1 in a child process, for the tests of
plugins and connectors that talk to a node over the wire (the official client, a Flink job).

    server = ServeProcess(tmp_path / "node")
    try:
        session = server.session()  # an opened ``iotdb.Session`` (apache-iotdb)
        ...
    finally:
        server.stop()
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def free_port() -> int:
    """A TCP port free on 127.0.0.1 at the time of asking."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServeProcess:
    """``pipecore serve --data-dir data_dir`` on a free port of 127.0.0.1; the log goes to
    ``data_dir.log``. Returns once the node listens (60 s at most)."""

    def __init__(self, data_dir: Path, *extra_args: str, start_timeout: float = 60.0) -> None:
        self.data_dir = Path(data_dir)
        self.port = free_port()
        self.log = self.data_dir.with_suffix(".log")
        cmd = [
            sys.executable,
            "-c",
            "import sys; from pipecore.cli import main; sys.exit(main())",
            "serve",
            "--data-dir",
            str(self.data_dir),
            "--rpc-port",
            str(self.port),
            "--rpc-address",
            "127.0.0.1",
            *extra_args,
        ]
        self._out = open(self.log, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, stdout=self._out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._out.close()
                raise RuntimeError(f"pipecore serve exited: {self.log.read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"pipecore serve did not listen within {start_timeout} s")

    def session(self) -> Any:
        """An opened session of the official client (``apache-iotdb``); close it after use."""
        from iotdb.Session import Session

        session = Session("127.0.0.1", self.port)
        session.open(False)
        return session

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 30 s."""
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._out.close()
