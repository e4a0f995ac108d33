"""Real `pipecore serve` processes for the air-gap and SSL end-to-end tests: the thrift tests'
`Serve` (tests/thrift/thrift_processes.py), run in a chosen working directory (relative
trust-store paths), talking TLS to a node whose RPC port is TLS; and the seed's examples."""

from __future__ import annotations

import importlib.util
import os
import re
import ssl
import subprocess
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

import gap_helpers  # noqa: F401 - puts tests/thrift on sys.path
from thrift_processes import Serve

from pipecore.sql.client import RemoteSession

_SEED_TESTS = Path(__file__).resolve().parents[1] / "sql" / "test_sql_seeds.py"


def seed_examples(plugin: str) -> list[str]:
    """Seed 002's CREATE PIPE examples that use sink `plugin`, as written in the guide."""
    spec = importlib.util.spec_from_file_location("_gap_seed_examples", _SEED_TESTS)
    assert spec is not None and spec.loader is not None
    module: ModuleType = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [sql for _, sql in module._examples("002") if f"'{plugin}'" in sql]


def point_at(sql: str, host: str, port: int) -> str:
    """The example's address replaced by the receiver's (everything else as written)."""
    sql = re.sub(r"'((?:sink\.)?ip)'\s*=\s*'[^']*'", rf"'\1'='{host}'", sql)
    return re.sub(r"'((?:sink\.)?port)'\s*=\s*'\d+'", rf"'\1'='{port}'", sql)


class GapServe(Serve):
    """``pipecore serve`` started in `cwd`; `client_context` makes its SQL session TLS."""

    def __init__(
        self,
        tmp: Path,
        name: str,
        config: dict[str, Any] | None = None,
        *,
        cwd: Path | None = None,
        client_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(tmp, name, config)
        self.cwd = cwd
        self.client_context = client_context

    def launch(self) -> GapServe:
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
            "127.0.0.1",
        ]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=self.cwd,
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

    def session(self) -> RemoteSession:
        if self._session is None:
            self._session = RemoteSession(
                "127.0.0.1", self.port, timeout=60, ssl_context=self.client_context
            ).open()
        return self._session
