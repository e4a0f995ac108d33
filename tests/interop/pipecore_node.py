"""A `pipecore serve` process (tests/thrift's `Serve`) spoken to with the official Python client,
so the interop tests drive pipecore and IoTDB through the same calls."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "thrift"))
from iotdb_server import free_ports, query_rows
from thrift_processes import Serve

__all__ = ["PipecoreNode", "Serve", "free_ports"]


class PipecoreNode(Serve):
    """`pipecore serve` on 127.0.0.1 (its RPC port takes both sessions and pipe transfers)."""

    def __init__(self, tmp: Path, name: str, config: dict[str, Any] | None = None, **kw: Any):
        super().__init__(tmp, name, config, **kw)
        self._official: Any = None

    def official(self) -> Any:
        from iotdb.Session import Session

        if self._official is None:
            self._official = Session("127.0.0.1", self.port, "root", "root")
            self._official.open(False)
        return self._official

    def execute(self, *statements: str) -> None:
        for sql in statements:
            self.official().execute_non_query_statement(sql)

    def query(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        return query_rows(self.official(), sql)

    def stop(self) -> None:
        if self._official is not None:
            with contextlib.suppress(Exception):
                self._official.close()
            self._official = None
        super().stop()


def settle(want: Callable[[], object], got: Callable[[], object], node: PipecoreNode) -> object:
    """Poll until `got()` equals `want()` (both asked anew each time; an exception from `got`
    means "not there yet"), 60 s at most; the assertion shows `node`'s log."""
    deadline = time.monotonic() + 60
    expected: object = None
    actual: object = None
    while time.monotonic() < deadline:
        expected = want()
        try:
            actual = got()
        except Exception as exc:  # not there yet
            actual = exc
        if actual == expected:
            return actual
        time.sleep(0.5)
    assert actual == expected, node.log()[-3000:]
    return actual
