"""The write path's fast paths hold the laws of the paths they short-cut.

* A memtable flushed by concatenation (`_in_order_tablet`: same measurements, no nulls, times
  rising across the chunks) gives the tablet the general merge gives (`merged_tablet`).
* A WAL insert entry written as buffers (`insert_parts`, `frame_parts`, `writev_all`) is
  byte for byte the joined entry, and decodes to the tablet.
* An ASYNC WAL roll leaves its fsyncs to the fsync thread: nothing waits on the writer's
  thread, every entry is readable, and no segment stays open.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import assert_same_tablet, memtable_chunks, tablets

from pipecore_storage.memtable import (
    DeviceData,
    MemChunk,
    _in_order_tablet,
    device_tablet,
    merged_tablet,
)
from pipecore_storage.origin import CLIENT, Origin
from pipecore_storage.tablet import MeasurementSchema, Tablet
from pipecore_storage.types import TSDataType
from pipecore_storage.wal import WalReadReport, WalWriter, frame, frame_parts, read_wal
from pipecore_storage.walcodec import decode_entry, encode_insert, insert_parts


@settings(max_examples=300, deadline=None)
@given(memtable_chunks())
def test_in_order_flush_equals_the_general_merge(device):
    data, chunks = device
    quick = _in_order_tablet(data, chunks)
    general = merged_tablet(data, chunks)
    if quick is not None:
        assert_same_tablet(quick, general)
    assert_same_tablet(device_tablet(data, chunks), general)


def test_a_client_writing_in_time_order_takes_the_concatenation():
    schemas = {n: MeasurementSchema(n, TSDataType.DOUBLE) for n in ("s0", "s1")}
    data = DeviceData("root.sg.d", ("root", "sg", "d"), False, schemas)
    chunks = [
        MemChunk(
            k,
            CLIENT,
            np.arange(k * 10, k * 10 + 10),
            {n: (np.random.random(10), None) for n in ("s0", "s1")},
        )
        for k in range(5)
    ]
    quick = _in_order_tablet(data, chunks)
    assert quick is not None and quick.row_count == 50
    assert_same_tablet(quick, merged_tablet(data, chunks))
    # one timestamp written again: the merge decides, not the concatenation
    chunks[3] = MemChunk(3, CLIENT, np.arange(25, 35), chunks[3].columns)
    assert _in_order_tablet(data, chunks) is None


# ---------------------------------------------------------------- WAL entries as buffers
_ORIGINS = st.sampled_from(
    [CLIENT, Origin(True, "c1", ()), Origin(True, None, ("a", "b")), Origin(False, "x", ())]
)


@settings(max_examples=200, deadline=None)
@given(tablets(max_rows=12), _ORIGINS, st.integers(0, 2**63 - 1))
def test_an_entry_written_as_buffers_is_the_joined_entry(tablet, origin, seq):
    parts = insert_parts(tablet, origin)
    body = b"".join(parts)
    assert body == encode_insert(tablet, origin)
    assert b"".join(frame_parts(seq, parts)) == frame(seq, body)
    entry = decode_entry(body)
    assert entry.origin == origin
    assert_same_tablet(entry.tablet, tablet)


@given(
    st.sampled_from(["<i4", ">i4", "<i8", ">i8", "<f4", ">f8", "<f8", "?"]),
    st.integers(0, 40),
    st.integers(1, 3),
)
def test_columns_are_written_little_endian_whatever_their_layout(dtype, rows, step):
    base = np.arange(rows * step, dtype=np.int64).astype(dtype)
    column = base[::step]  # a strided view when step > 1
    schema = MeasurementSchema("m", {"i": TSDataType.INT64, "f": TSDataType.DOUBLE,
                                     "b": TSDataType.BOOLEAN}[np.dtype(dtype).kind])  # fmt: skip
    native = column.astype(schema.data_type.numpy_dtype)
    tablet = Tablet("root.sg.d", [schema], np.arange(len(column)), [native])
    # the same values in the caller's layout give the same entry
    tablet.columns = [column]
    assert encode_insert(tablet, CLIENT) == encode_insert(
        Tablet("root.sg.d", [schema], np.arange(len(column)), [native]), CLIENT
    )


def test_writev_all_writes_more_buffers_than_one_call_takes(tmp_path):
    from pipecore_storage.fsutil import writev_all

    buffers = [bytes([i % 251]) * (i % 7) for i in range(5000)]  # empty ones too
    path = tmp_path / "f"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        assert writev_all(fd, buffers) == sum(map(len, buffers))
    finally:
        os.close(fd)
    assert path.read_bytes() == b"".join(buffers)


# ---------------------------------------------------------------- ASYNC rolls
def _open_in(folder) -> int:
    """Descriptors of this process open on files in `folder`."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        count += target.startswith(str(folder))
    return count


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc")
def test_async_rolls_leave_their_fsyncs_to_the_fsync_thread(tmp_path):
    wal = WalWriter(tmp_path, "ASYNC", fsync_delay_ms=50, segment_size=4096)
    body = b"x" * 1000
    for seq in range(1, 41):  # ~10 segments
        wal.append([frame(seq, body)], seq)
    assert wal.segment_count >= 9
    assert wal.fsyncs == 1  # the first segment's creation only: no roll waited for a disk
    deadline = time.monotonic() + 5
    while wal.fsyncs < wal.segment_count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert wal.fsyncs >= wal.segment_count  # the thread fsynced (and closed) them
    assert not wal._unsynced
    assert _open_in(tmp_path) == 1  # only the current segment is open
    wal.close()
    assert _open_in(tmp_path) == 0
    report = WalReadReport()
    assert [seq for seq, _ in read_wal(tmp_path, report)] == list(range(1, 41))
    assert not report.truncated


def test_sync_rolls_still_fsync_on_the_writers_thread(tmp_path):
    wal = WalWriter(tmp_path, "SYNC", segment_size=4096)
    for seq in range(1, 11):
        wal.sync(wal.append([frame(seq, b"y" * 1000)], seq))
    assert not wal._unsynced
    wal.close()
    assert [seq for seq, _ in read_wal(tmp_path, WalReadReport())] == list(range(1, 11))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc")
def test_abandon_closes_segments_a_roll_left_unsynced(tmp_path):
    wal = WalWriter(tmp_path, "ASYNC", fsync_delay_ms=60_000, segment_size=2048)
    for seq in range(1, 21):
        wal.append([frame(seq, b"z" * 1000)], seq)
    assert wal._unsynced  # the fsync thread has not ticked
    assert _open_in(tmp_path) > 1
    wal.abandon()  # what a crash leaves: every entry is with the OS
    assert _open_in(tmp_path) == 0
    assert [seq for seq, _ in read_wal(tmp_path, WalReadReport())] == list(range(1, 21))
