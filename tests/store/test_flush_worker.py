"""Sealing in a worker process (`pipecore_storage.flush_worker`) writes the file the flush
writes in-process, byte for byte; a worker that fails leaves the flush to this process."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from strategies import assert_same_tablet, memtable_chunks

from pipecore_storage import MeasurementSchema, Store, Tablet
from pipecore_storage.flush_worker import (
    _decode_devices,
    _encode_devices,
    memtable_tablets,
)
from pipecore_storage.types import TSDataType


@settings(max_examples=200, deadline=None)
@given(memtable_chunks())
def test_chunks_cross_the_pipe_unchanged(device):
    data, chunks = device
    sealed = {n: s for n, s in data.schemas.items()}
    snapshot = [("root.sg.d", data, chunks, sealed)]
    described, raws = _encode_devices(snapshot)
    received = _decode_devices(described, [bytearray(r) for r in raws])
    here, there = memtable_tablets(snapshot), memtable_tablets(received)
    assert len(here) == len(there)
    for a, b in zip(here, there, strict=True):
        assert_same_tablet(a, b)
        assert a.schemas == b.schemas


def _write(store: Store, k: int) -> None:
    """Varied writes: in order, out of order, repeated times, nulls, text, an aligned device."""
    d = [MeasurementSchema(f"s{i}", TSDataType.DOUBLE) for i in range(3)]
    rows = 2000
    times = np.arange(k * rows, (k + 1) * rows, dtype=np.int64)
    if k % 3 == 2:
        times = times[::-1].copy()  # a tablet written backwards
    store.insert_tablets([Tablet("root.w.d1", d, times, [np.sin(times + i) for i in range(3)])])
    text = np.empty(50, dtype=object)
    text[:] = [f"v{k}-{i}" for i in range(50)]
    mask = np.zeros(50, bool)
    mask[::7] = True
    store.insert_tablets(
        [
            Tablet(
                "root.w.d2",
                [MeasurementSchema("t", TSDataType.TEXT), MeasurementSchema("n", TSDataType.INT64)],
                np.arange(50, dtype=np.int64) + 25 * k,  # overlaps the previous write
                [text, np.arange(50, dtype=np.int64) * k],
                [mask, None],
            ),
            Tablet(
                "root.w.al",
                [
                    MeasurementSchema("a", TSDataType.INT32),
                    MeasurementSchema("b", TSDataType.FLOAT),
                ],
                np.arange(10, dtype=np.int64) + 10 * k,
                [np.arange(10, dtype=np.int32), np.ones(10, np.float32) * k],
                [None, mask[:10]],
                aligned=True,
            ),
        ]
    )


def _sealed_bytes(store: Store) -> list[bytes]:
    return [f.path.read_bytes() for f in sorted(store.sealed_files(), key=lambda f: f.version)]


def test_the_worker_writes_the_file_this_process_writes(tmp_path):
    here = Store.open(tmp_path / "here", {"enable_flush_worker": False})
    there = Store.open(tmp_path / "there", {"flush_worker_min_memtable_bytes": 1})
    try:
        for store in (here, there):
            for k in range(4):
                _write(store, k)
                if k % 2:
                    store.flush()
            store.flush()
        assert there._flusher.worker.files == len(there.sealed_files()) >= 3  # all of them
        assert here._flusher.worker.files == 0
        assert _sealed_bytes(here) == _sealed_bytes(there)
        query = "root.w.**"
        a, b = here.query(query), there.query(query)
        assert len(a) > 0 and a.columns == b.columns and a.rows() == b.rows()
    finally:
        here.close()
        there.close()


def test_a_failed_worker_leaves_the_flush_to_this_process(tmp_path):
    store = Store.open(tmp_path / "s", {"flush_worker_min_memtable_bytes": 1})
    try:
        _write(store, 0)
        store.flush()
        worker = store._flusher.worker
        assert worker.files == len(store.sealed_files()) >= 1
        sealed = worker.files
        worker._proc.kill()  # the worker dies between flushes
        worker._proc.wait()
        _write(store, 1)
        store.flush()  # sealed here instead
        assert worker.broken and worker.files == sealed
        assert len(store.sealed_files()) > sealed
        _write(store, 2)
        store.flush()
        assert len(store.query("root.w.d1.s0")) == 3 * 2000
    finally:
        store.close()
    assert worker._proc is None
