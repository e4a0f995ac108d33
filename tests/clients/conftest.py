"""Fixtures of the client tests: a real ``pipecore serve`` process and the official client.

One server process per test module (starting one costs seconds); each test gets a database
of its own name, so tests stay independent.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pytest

from pipecore.testing.serve import ServeProcess

Server = ServeProcess


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
