"""Fixtures of the CLI tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import Server


@pytest.fixture
def server_factory() -> Iterator:
    started: list[Server] = []

    def start(data_dir: Path, *extra: str) -> Server:
        server = Server(data_dir, *extra)
        started.append(server)
        return server

    yield start
    for server in started:
        server.kill()
