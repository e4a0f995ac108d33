"""Helpers of the air-gap and SSL end-to-end tests: the thrift tests' `Serve`
(tests/thrift/thrift_processes.py — `cwd=` for relative trust-store paths, `client_context=`
for a TLS RPC port) and the seed's examples."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import gap_helpers  # noqa: F401 - puts tests/thrift on sys.path
from thrift_processes import Serve

__all__ = ["Serve", "point_at", "seed_examples"]


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
