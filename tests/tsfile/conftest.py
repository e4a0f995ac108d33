"""Fixtures of the TsFile tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tsfile_oracle import OfficialReader


@pytest.fixture(scope="session")
def official_reader() -> Iterator[OfficialReader]:
    """The official reader (tsfile 2.5.0) in a subprocess, shared by the test session."""
    reader = OfficialReader()
    yield reader
    reader.close()
