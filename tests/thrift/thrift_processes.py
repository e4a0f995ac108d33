"""Real `pipecore serve` processes for the end-to-end tests (the TCP proxy that cuts
connections is `tcp_proxy.CuttingProxy`)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipecore.cli.remote import RemoteSession, ServerError

__all__ = ["Serve", "free_port", "start_all", "wait_for"]

#: Fast timings for tests: progress saved every 100 ms, quick retries and heartbeats.
FAST_CONFIG = {
    "pipe_heartbeat_interval_seconds_for_collecting_pipe_meta": 0.1,
    "pipe_sink_retry_interval_ms": 100,
    "pipe_subtask_executor_cron_heartbeat_event_interval_seconds": 1.0,
    "pipe_sink_handshake_timeout_ms": 3000,
    "pipe_meta_syncer_initial_sync_delay_minutes": 0.0,
    "pipe_meta_syncer_sync_interval_minutes": 0.05,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(
    condition: Callable[[], Any], timeout: float = 30.0, what: str = "", logs: Any = ()
) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = condition()
        except (ServerError, OSError, ConnectionError) as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(0.05)
    tails = "".join(f"\n--- log of {n.name} ---\n{n.log()[-4000:]}" for n in logs)
    raise AssertionError(
        f"timed out after {timeout}s waiting for {what or condition}: {last!r}{tails}"
    )


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


class Serve:
    """``pipecore serve`` in a child process on a fixed port (kept across restarts).

    `cwd`: the process's working directory (relative paths in its SQL resolve there);
    `client_context`: a TLS context for its SQL session (a node whose RPC port is TLS).
    """

    def __init__(
        self,
        tmp: Path,
        name: str,
        config: dict[str, Any] | None = None,
        *,
        cwd: Path | None = None,
        client_context: ssl.SSLContext | None = None,
    ) -> None:
        self.name = name
        self.cwd = cwd
        self.client_context = client_context
        self.data_dir = tmp / name
        self.port = free_port()
        #: the address `launch` binds (IoTDBPipeIPv6IT's port sets "::1")
        self.rpc_address = "127.0.0.1"
        self.config_path = tmp / f"{name}.toml"
        merged = {**FAST_CONFIG, **(config or {})}
        self.config_path.write_text("".join(f"{k} = {_toml(v)}\n" for k, v in merged.items()))
        self.proc: subprocess.Popen[str] | None = None
        self.output: list[str] = []
        self._session: RemoteSession | None = None

    @property
    def url(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> Serve:
        return self.launch().ready(timeout)

    def launch(self) -> Serve:
        """Start the process (`ready` waits until it serves)."""
        cmd = [
            sys.executable,
            "-c",
            "import sys; from pipecore.cli import main; sys.exit(main())",
            "serve",
            "--data-dir",
            str(self.data_dir),
            "--config",
            str(self.config_path),
            "--rpc-port",
            str(self.port),
            "--rpc-address",
            self.rpc_address,
        ]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=self.cwd
        )
        self._ready = ready = threading.Event()
        proc = self.proc

        def pump() -> None:
            assert proc.stdout is not None
            with proc.stdout:
                for line in proc.stdout:
                    self.output.append(line)
                    if "pipecore serving on" in line:
                        ready.set()
            ready.set()

        self._pump = threading.Thread(target=pump, daemon=True)
        self._pump.start()
        return self

    def ready(self, timeout: float = 30.0) -> Serve:
        assert self.proc is not None
        if not self._ready.wait(timeout) or self.proc.poll() is not None:
            raise AssertionError(f"{self.name} did not start:\n{''.join(self.output)[-3000:]}")
        return self

    def session(self) -> RemoteSession:
        if self._session is None:
            self._session = RemoteSession(
                "127.0.0.1", self.port, timeout=60, ssl_context=self.client_context
            ).open()
        return self._session

    def sql(self, statement: str) -> Any:
        try:
            return self.session().run(statement)
        except (ConnectionError, OSError):
            self._drop_session()
            return self.session().run(statement)

    def rows(self, statement: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.sql(statement).table().rows]

    def count(self, pattern: str = "root.**") -> int:
        """Non-null points under `pattern` (0 when nothing exists yet)."""
        try:
            table = self.sql(f"select count(*) from {pattern}").table()
        except ServerError:
            return 0
        return sum(int(v or 0) for row in table.rows for v in row)

    def _drop_session(self) -> None:
        if self._session is not None:
            with contextlib.suppress(Exception):
                self._session.close()
            self._session = None

    def kill(self) -> None:
        """SIGKILL: no clean shutdown."""
        self._drop_session()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self._pump.join(10)

    def stop(self) -> None:
        self._drop_session()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.proc is not None:
            self._pump.join(10)

    def log(self) -> str:
        return "".join(self.output)


def start_all(*nodes: Serve) -> tuple[Serve, ...]:
    """Launch the processes together, then wait until each serves."""
    for node in nodes:
        node.launch()
    for node in nodes:
        node.ready()
    return nodes
