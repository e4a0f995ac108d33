"""The commit law: the committed id is the longest prefix of inputs whose outputs are all
transferred, whatever order the transfers finish in; progress is that prefix's newest."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import commit_histories

from pipecore.events import HeartbeatEvent, TabletInsertionEvent
from pipecore.runtime import Committer, EventQueue
from pipecore_storage import MeasurementSchema, Tablet


@given(commit_histories(), st.integers(0, 10**6))
@settings(max_examples=300, deadline=None)
def test_commits_advance_over_the_done_prefix_only(history, start: int) -> None:
    outputs, progress, order, cut = history
    committer = Committer(start, "before")
    ids = []
    for n, p in zip(outputs, progress, strict=True):
        cid = committer.begin(p)
        ids.append(cid)
        for _ in range(n):
            committer.add_output(cid)
        committer.input_done(cid)
    remaining = [outputs[i] for i in range(len(outputs))]
    for i in order[:cut]:
        committer.output_done(ids[i])
        remaining[i] -= 1
    prefix = 0
    while prefix < len(outputs) and remaining[prefix] == 0:
        prefix += 1
    assert ids == list(range(start + 1, start + 1 + len(outputs)))
    assert committer.committed_id == start + prefix
    newest = [p for p in progress[:prefix] if p is not None]
    assert committer.committed_progress == (newest[-1] if newest else "before")
    assert committer.in_flight == len(outputs) - prefix


def test_unknown_or_missing_commit_ids_are_ignored() -> None:
    committer = Committer()
    committer.output_done(None)
    committer.output_done(42)
    cid = committer.begin(None)
    committer.input_done(cid)
    assert committer.committed_id == cid == 1


def test_the_queue_counts_events_and_bytes() -> None:
    queue = EventQueue(max_events=3, max_bytes=8_000)
    tablet = Tablet("root.q.d", [MeasurementSchema("s", "DOUBLE")], np.arange(500), [np.zeros(500)])
    event = TabletInsertionEvent(tablet)
    assert event.nbytes >= 8_000
    assert queue.put(HeartbeatEvent()) == 0
    assert not queue.full()
    assert queue.put(event) == 1
    assert queue.full() and len(queue) == 2  # bytes bound reached before the event bound
    assert isinstance(queue.poll(), HeartbeatEvent)
    assert queue.poll() is event
    assert queue.poll() is None and queue.nbytes == 0
    for _ in range(3):
        queue.put(HeartbeatEvent())
    assert queue.full()
    assert len(queue.drain()) == 3 and queue.nbytes == 0
