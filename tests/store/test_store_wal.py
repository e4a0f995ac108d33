"""The write-ahead log: entry round trips, torn and corrupt tails, fsync policies, group commit."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import value_arrays

from pipecore_storage import MeasurementSchema, Origin, Tablet
from pipecore_storage.store import Store
from pipecore_storage.types import TSDataType
from pipecore_storage.wal import WalReadReport, list_segments, read_wal
from pipecore_storage.walcodec import (
    DeleteEntry,
    InsertEntry,
    decode_entry,
    encode_delete,
    encode_insert,
)

TYPES = [t for t in TSDataType if t not in (TSDataType.VECTOR, TSDataType.UNKNOWN)]


@st.composite
def tablets(draw):
    types = draw(st.lists(st.sampled_from(TYPES), min_size=1, max_size=4))
    n = draw(st.integers(1, 40))
    schemas, columns, masks = [], [], []
    for i, t in enumerate(types):
        values = draw(
            value_arrays(t, max_size=n).filter(lambda a, n=n: len(a) == n) | st.just(None)
        )
        if values is None:
            values = (
                np.zeros(n, dtype=t.numpy_dtype)
                if not t.is_binary
                else np.array([b"" if t is TSDataType.BLOB else ""] * n, dtype=object)
            )
        schemas.append(MeasurementSchema(f"m{i}", t))
        columns.append(values)
        masks.append(draw(st.none() | st.lists(st.booleans(), min_size=n, max_size=n)))
    times = draw(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=n, max_size=n))
    device = draw(st.sampled_from(["root.sg.d1", "root.sg.`a.b`", "root.温度.d"]))
    return Tablet(device, schemas, np.array(times, np.int64), columns, masks, draw(st.booleans()))


@settings(max_examples=60, deadline=None)
@given(tablets(), st.booleans(), st.none() | st.text(max_size=8))
def test_insert_entries_round_trip(tablet, by_pipe, cluster):
    origin = Origin(by_pipe, cluster)
    entry = decode_entry(encode_insert(tablet, origin))
    assert isinstance(entry, InsertEntry)
    assert entry.origin == origin
    assert entry.tablet.equals(tablet)
    assert [s.encoding for s in entry.tablet.schemas] == [s.encoding for s in tablet.schemas]


def test_delete_entries_round_trip_and_garbage_is_refused():
    body = encode_delete("root.sg.**", -5, 7, Origin.pipe("c1"))
    assert decode_entry(body) == DeleteEntry("root.sg.**", -5, 7, Origin(True, "c1"))
    with pytest.raises(ValueError):
        decode_entry(body[:-3])
    with pytest.raises(ValueError):
        decode_entry(b"\x09rest")


def _write(store, k):
    schema = [MeasurementSchema("v", "INT64")]
    store.insert_tablet(Tablet("root.sg.d", schema, np.array([k]), [np.array([k])]))


@pytest.mark.parametrize("cut", ["torn", "corrupt"])
def test_a_torn_or_corrupt_tail_is_cut_and_the_rest_replayed(tmp_path, cut):
    s = Store.open(tmp_path / "s")
    for k in range(10):
        _write(s, k)
    s._abandon()
    (_v, seg), *_ = reversed(list_segments(tmp_path / "s" / "wal"))
    data = bytearray(seg.read_bytes())
    if cut == "torn":
        data = data[:-5]  # the last entry was half written when the process died
    else:
        data[-3] ^= 0xFF  # the last entry's bytes are damaged
    seg.write_bytes(bytes(data))
    s = Store.open(tmp_path / "s")
    try:
        assert s.query("root.sg.d.v").series("root.sg.d.v")[0].tolist() == list(range(9))
        ((path, offset, reason),) = s.recovery_report.wal_truncations
        assert path == str(seg) and offset > 0
        assert reason in ("torn entry", "checksum mismatch")
        _write(s, 100)  # the store goes on after the repair
    finally:
        s._abandon()
    s = Store.open(tmp_path / "s")
    assert s.query("root.sg.d.v").series("root.sg.d.v")[0].tolist() == [*range(9), 100]
    s.close()


def test_entries_are_handed_to_the_os_before_the_ack_under_every_policy(tmp_path):
    for mode in ("SYNC", "ASYNC"):
        s = Store.open(tmp_path / mode, {"wal_mode": mode})
        _write(s, 1)
        # without any close or fsync, a fresh reader of the directory sees the entry
        report = WalReadReport()
        entries = list(read_wal(tmp_path / mode / "wal", report))
        assert len(entries) == 1
        s._abandon()


def test_disable_writes_no_log_and_loses_the_memtable_on_a_crash(tmp_path):
    s = Store.open(tmp_path / "s", {"wal_mode": "DISABLE"})
    _write(s, 1)
    s.flush()
    _write(s, 2)
    assert not list_segments(tmp_path / "s" / "wal")
    s._abandon()
    s = Store.open(tmp_path / "s", {"wal_mode": "DISABLE"})
    assert s.query("root.sg.d.v").rows() == [(1, 1)]  # sealed data stays, the memtable is gone
    s.close()


def test_sync_mode_shares_fsyncs_between_concurrent_writers(tmp_path, monkeypatch):
    import pipecore_storage.wal as wal

    calls = []
    real_fsync = os.fsync

    def counting_fsync(fd):
        calls.append(fd)
        real_fsync(fd)

    s = Store.open(tmp_path / "s", {"wal_mode": "SYNC"})
    _write(s, 0)
    monkeypatch.setattr(wal.os, "fsync", counting_fsync)
    writers, per_writer = 8, 25

    def work(w):
        for k in range(per_writer):
            _write(s, 1000 * (w + 1) + k)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    monkeypatch.undo()
    assert len(s.query("root.sg.d.v")) == writers * per_writer + 1
    # every write was acknowledged after an fsync, but they shared them
    assert 0 < len(calls) < writers * per_writer
    s.close()


def test_old_segments_are_deleted_once_sealed(tmp_path):
    s = Store.open(tmp_path / "s", {"wal_file_size_threshold_in_byte": 200})
    for k in range(20):
        _write(s, k)
    assert len(list_segments(tmp_path / "s" / "wal")) > 3
    s.flush()
    assert len(list_segments(tmp_path / "s" / "wal")) == 1
    s.close()
    s = Store.open(tmp_path / "s")
    assert s.recovery_report.replayed_entries == 0
    assert len(s.query("root.sg.d.v")) == 20
    s.close()
