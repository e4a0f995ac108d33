"""`lww_merge` (the merge of a series' point runs at query time): sorted by time, the newest
value of each timestamp — whether the runs follow one another in time (the fast path: no
sort) or overlap, repeat timestamps or arrive unsorted."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from pipecore_storage.memtable import lww_merge

_run = st.lists(st.tuples(st.integers(-50, 50), st.integers(-1000, 1000)), max_size=12)


def _reference(runs: list[list[tuple[int, int]]]) -> tuple[list[int], list[int]]:
    latest: dict[int, int] = {}
    for run in runs:  # oldest run first; within a run a later position is newer
        for t, v in run:
            latest[t] = v
    ordered = sorted(latest)
    return ordered, [latest[t] for t in ordered]


def _arrays(runs):
    times = [np.array([t for t, _ in r], np.int64) for r in runs]
    values = [np.array([v for _, v in r], np.int64) for r in runs]
    return times, values


@given(st.lists(_run, max_size=5))
def test_lww_merge_keeps_the_newest_value_per_time(runs):
    t, v = lww_merge(*_arrays(runs))
    assert (t.tolist(), v.tolist()) == _reference(runs)


@given(st.lists(st.lists(st.integers(1, 5), max_size=8), max_size=5), st.integers(-100, 100))
def test_runs_in_time_order_are_concatenated(steps, origin):
    """Runs that follow one another (the sealed-then-memtable case) take the no-sort path."""
    runs, now = [], origin
    for gaps in steps:
        run = []
        for gap in gaps:
            now += gap
            run.append((now, now * 3))
        runs.append(run)
    t, v = lww_merge(*_arrays(runs))
    assert (t.tolist(), v.tolist()) == _reference(runs)
    assert t.dtype == np.int64
