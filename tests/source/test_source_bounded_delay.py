"""Hybrid realtime never waits for an unrelated flush (issue 15 #1): with the pipe's facts
and clock under the test's control, inserts dropped in file mode wait in a memtable (and are
counted as remaining) until the pipe catches up; then, `SEAL_DELAY` later, the source has
the store seal them and hands the files on — no FLUSH, no flush interval."""

from __future__ import annotations

import random
import time

from source_helpers import store_points
from test_source_realtime_model import Harness, _write

from pipecore_iotdb_source.realtime import SEAL_DELAY
from pipecore_storage import Store


def test_file_mode_seals_what_waits_once_caught_up(tmp_path) -> None:
    rng = random.Random(5)
    with Store.open(tmp_path / "s", {"pipe_subscription_capacity_events": 1000}) as store:
        h = Harness(store, "hybrid", rng)
        h.behind = True
        for _ in range(40):
            _write(store, rng)
        h.poll(1)  # the source sees it lags ...
        h.now += 1.0  # ... long enough: it falls back to files
        h.poll(10_000)
        rt = h.realtime
        assert rt.file_mode
        assert store.sealed_below() <= store.last_seq  # the rows are in a memtable ...
        assert rt.remaining_events() >= 30  # ... and counted as waiting
        assert rt.remaining_bytes() > 0
        h.poll(10_000)
        assert rt.forced_seals == 0  # still behind: a seal would only queue behind the sink
        h.behind = False
        h.now += SEAL_DELAY
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and store.sealed_below() <= store.last_seq:
            h.poll(10_000)
            time.sleep(0.02)
        assert rt.forced_seals == 1
        for _ in range(50):  # the sealed files arrive and go out
            h.poll(10_000)
            time.sleep(0.02)
        expected = {(s, t): v for s, t, v in store_points(store)}
        assert h.receiver.points == expected
        assert rt.remaining_events() == 0
