"""Fixtures of the store tests."""

from __future__ import annotations

import pytest

from pipecore_storage.store import Store


@pytest.fixture
def open_store(tmp_path):
    """Open stores under tmp_path (closed at the end): ``open_store(config=None, name="s")``."""
    opened: list[Store] = []

    def _open(config=None, name: str = "store") -> Store:
        store = Store.open(tmp_path / name, config)
        opened.append(store)
        return store

    yield _open
    for store in opened:
        if not store.closed:
            store.close()
