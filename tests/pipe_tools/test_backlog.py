"""The backlog's pieces: its keys, and the tumbling-time down-sampling rule (laws checked with
hypothesis against a plain reference)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipecore import PipeParameters
from pipecore.backlog import (
    DOWNSAMPLE,
    BacklogFullError,
    BacklogOptions,
    parse_backlog,
    tumbling_time_sample,
)
from pipecore.errors import PipeParameterNotValidError
from pipecore_storage import MeasurementSchema, Tablet, TSDataType


def test_keys():
    assert parse_backlog(PipeParameters({"sink": "iotdb-thrift-sink"})) is None
    got = parse_backlog(
        PipeParameters(
            {
                "sink.backlog.max-bytes": "1048576",
                "sink.backlog.overflow-policy": "Downsample",
                "sink.backlog.downsample-interval-seconds": "0.5",
            }
        )
    )
    assert got == BacklogOptions(1 << 20, DOWNSAMPLE, 500)
    assert parse_backlog(PipeParameters({"connector.backlog.max-bytes": "10"})) == BacklogOptions(
        10
    )
    for bad in (
        {"sink.backlog.max-bytes": "lots"},
        {"sink.backlog.max-bytes": "0"},
        {"sink.backlog.max-bytes": "10", "sink.backlog.overflow-policy": "spill"},
    ):
        with pytest.raises(PipeParameterNotValidError):
            parse_backlog(PipeParameters(bad))
    assert BacklogFullError("x").status_code == 606


def _reference(times, values, valid, interval):
    """(time, value) kept for one series by IoTDB's rule, with plain loops: a point at least
    `interval` after the last kept one."""
    out, last = [], None
    for t, v, ok in zip(times, values, valid, strict=True):
        if ok and (last is None or t - last >= interval):
            last = t
            out.append((t, v))
    return out


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(-5000, 5000), min_size=1, max_size=200, unique=True),
    st.integers(1, 700),
    st.data(),
)
def test_tumbling_time_sample_follows_iotdbs_rule(times, interval, data):
    times = sorted(times)
    n = len(times)
    valid = [data.draw(st.lists(st.booleans(), min_size=n, max_size=n)) for _ in range(2)]
    columns = [np.arange(n, dtype=np.int64) * 3, np.arange(n, dtype=np.float64) / 2]
    schemas = [MeasurementSchema("a", TSDataType.INT64), MeasurementSchema("b", TSDataType.DOUBLE)]
    masks = [~np.array(v) for v in valid]
    tablet = Tablet("root.t.d", schemas, np.array(times, dtype=np.int64), columns, masks)
    # split in two tablets of one device: the state carries across them
    cut = data.draw(st.integers(0, n))
    state: dict[str, int] = {}
    parts = [tumbling_time_sample(tablet.take(np.arange(n) < cut), interval, state)]
    parts.append(tumbling_time_sample(tablet.take(np.arange(n) >= cut), interval, state))
    for i in range(2):
        want = _reference(times, columns[i].tolist(), valid[i], interval)
        got = []
        for part in parts:
            if part is None:
                continue
            keep = ~part.null_masks[i] if part.null_masks[i] is not None else slice(None)
            got += list(
                zip(part.timestamps[keep].tolist(), part.columns[i][keep].tolist(), strict=True)
            )
        assert got == want
    for part in parts:  # no row is left without a value
        if part is not None:
            nulls = [np.zeros(part.row_count, bool) if m is None else m for m in part.null_masks]
            assert not np.logical_and.reduce(nulls).any()


def _filled_store(path, files: int, rows: int = 500):
    """A real store with `files` sealed files of `rows` rows (1 ms apart) of root.bk.d1."""
    from pipecore_storage import Store

    store = Store.open(path)
    schemas = [MeasurementSchema("s1", TSDataType.INT64)]
    rng = np.random.default_rng(1)
    for k in range(files):
        times = np.arange(k * rows, (k + 1) * rows, dtype=np.int64)
        store.insert_tablet(Tablet("root.bk.d1", schemas, times, [rng.integers(0, 1 << 40, rows)]))
        store.flush()
    return store


def _guard(store, tmp_path, policy: str, cap: int):
    from pipecore.backlog import BacklogGuard

    def rows(f):
        return store.read_sealed(f)

    options = BacklogOptions(cap, policy, 100)
    return BacklogGuard(store, "p", tmp_path / "pipe-data", options, lambda f: True, rows, 0)


def test_guard_drop_oldest_counts_into_the_metrics(tmp_path):
    from pipecore import PipeMetrics
    from pipecore.backlog import DROP_OLDEST

    store = _filled_store(tmp_path / "s", 6)
    one = max(f.path.stat().st_size for f in store.sealed_files())
    guard = _guard(store, tmp_path, DROP_OLDEST, 3 * one + 2048)
    guard.start()  # registered (the thread's checks are harmless here)
    try:
        guard.hand_on(min(store.sealed_files(), key=lambda f: f.max_seq))  # the sink holds it
        guard.tick()
        assert guard.measure() <= 3 * one + 2048
        kept = {p.name for p in store.pinned("p")}
        oldest = sorted(store.sealed_files(), key=lambda f: f.max_seq)
        assert oldest[0].path.name in kept  # held by the sink: never pulled
        assert oldest[1].path.name not in kept and oldest[-1].path.name in kept
        stats = PipeMetrics().snapshot("p")
        assert stats.backlog_dropped_files == guard.counts["dropped_files"] >= 2
        assert stats.backlog_dropped_points == 500 * stats.backlog_dropped_files
        assert not guard.hand_on(oldest[1])  # dropped: the source skips it
    finally:
        guard.close()
        store.close()
    assert PipeMetrics().snapshot("p").backlog_dropped_files == 0  # not running


def test_guard_downsample_and_block(tmp_path):
    from pipecore.backlog import BLOCK, DOWNSAMPLE, check_writes

    store = _filled_store(tmp_path / "s", 4)
    guard = _guard(store, tmp_path, DOWNSAMPLE, 1)  # nothing fits: all replaced, then dropped
    guard.tick()
    assert guard.counts["downsampled_files"] == 4
    assert guard.counts["thinned_points"] == 4 * (500 - 5)  # a point every 100 ms a file
    guard.close()

    guard = _guard(store, tmp_path / "b", BLOCK, 1)
    guard.start()
    try:
        guard.tick()
        with pytest.raises(BacklogFullError, match="pipe p's backlog is full"):
            check_writes(store)
        guard.acknowledged(store.last_seq + 1, [])  # the receiver caught up
        guard.tick()
        check_writes(store)  # writes taken again
    finally:
        guard.close()
        store.close()
