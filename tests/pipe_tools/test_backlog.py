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
    """(time, value) kept per series: the first valid point of each window, by plain loops."""
    out, seen = [], set()
    for t, v, ok in zip(times, values, valid, strict=True):
        if ok and t // interval not in seen:
            seen.add(t // interval)
            out.append((t, v))
    return out


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(-5000, 5000), min_size=1, max_size=200, unique=True),
    st.integers(1, 700),
    st.data(),
)
def test_tumbling_time_sample_keeps_the_first_point_of_every_window(times, interval, data):
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
