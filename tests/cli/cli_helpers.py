"""Helpers of the CLI tests: the ``pipecore`` command as a real subprocess, and a server."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

SERVING = re.compile(r"pipecore serving on (\S+):(\d+)")


def pipecore_command() -> list[str]:
    exe = Path(sys.executable).with_name("pipecore")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "pipecore.cli"]


def run_pipecore(*args: str, stdin: str | None = None, timeout: float = 60):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [*pipecore_command(), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


class Server:
    """A ``pipecore serve`` process; `port` once it listens."""

    def __init__(self, data_dir: Path, *extra: str) -> None:
        self.data_dir = data_dir
        self.proc = subprocess.Popen(
            [*pipecore_command(), "serve", "--data-dir", str(data_dir), "--rpc-port", "0", *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.host, self.port = self._wait_for_port()

    def _wait_for_port(self, timeout: float = 30) -> tuple[str, int]:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            found = SERVING.search(line)
            if found:
                return found.group(1), int(found.group(2))
        self.proc.kill()
        _, err = self.proc.communicate(timeout=10)
        raise AssertionError(f"pipecore serve did not start: {err}")

    def sql(self, statements: str, *extra: str):
        return run_pipecore("sql", "-h", self.host, "-p", str(self.port), "-e", statements, *extra)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> tuple[int, str, str]:
        self.proc.send_signal(sig)
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out, err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate(timeout=10)
