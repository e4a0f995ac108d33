"""The realtime law: whatever happens — hybrid switching between tablets and files at any
moment, the store dropping events for a slow subscriber (gaps), flushes, out-of-order data,
overwrites, deletions, restarts from any progress the pipe could have committed — a receiver
that applies what the source hands on, in order, ends with exactly the store's data.

The receiver is a model (a dict); the store is real; `Realtime` is driven directly, with its
"pipe queue" facts and its clock under the test's control.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st
from source_helpers import store_points, tablet_points

from pipecore import PipeRuntimeFacts
from pipecore_iotdb_source.events import SourceTsFileInsertionEvent
from pipecore_iotdb_source.options import SourceOptions
from pipecore_iotdb_source.patterns import IoTDBPattern
from pipecore_iotdb_source.realtime import Realtime
from pipecore_storage import MeasurementSchema, Store, Tablet
from pipecore_storage.paths import parse_pattern, split_path

DEVICES = ["root.a.d1", "root.a.d2", "root.b.d1"]


class Receiver:
    def __init__(self) -> None:
        self.points: dict[tuple[str, int], float] = {}

    def apply(self, item) -> None:
        if item.kind == "tablet":
            self._tablet(item.payload.tablet)
        elif item.kind == "file":
            f = item.payload
            event = SourceTsFileInsertionEvent(
                f.path, dict(f.device_times), deletions=tuple(f.mods)
            )
            for e in event.to_tablet_insertion_events():
                self._tablet(e.tablet)
        else:
            d = item.payload
            pattern = parse_pattern(d.pattern)
            for key in [k for k in self.points if d.start <= k[1] <= d.end]:
                if pattern.matches(split_path(key[0])):
                    del self.points[key]

    def _tablet(self, tablet: Tablet) -> None:
        for key, value in tablet_points(tablet):
            self.points[key] = value


class Harness:
    def __init__(self, store: Store, kind: str, rng: random.Random) -> None:
        self.store, self.kind, self.rng = store, kind, rng
        self.options = SourceOptions(
            pattern=IoTDBPattern("root.**"), realtime_mode=kind, include_delete=True
        )
        self.behind = False
        self.now = 0.0
        self.receiver = Receiver()
        self.committed = [store.sealed_below()]  # progress values the pipe could commit
        self.realtime = self._new(self.committed[0])

    def _facts(self) -> PipeRuntimeFacts:
        queued = 4 if self.behind else 0
        return PipeRuntimeFacts(queued_events=queued, queue_max_events=4, queue_max_bytes=10**9)

    def _new(self, covered: int) -> Realtime:
        rt = Realtime(self.store, "model", self.options, covered, self._facts, lambda: self.now)
        rt.open()
        return rt

    def poll(self, n: int) -> None:
        for _ in range(n):
            item = self.realtime.poll()
            if item is None:
                return
            self.receiver.apply(item)
            self.committed.append(self.realtime.covered)

    def restart(self) -> None:
        """The pipe restarts from some progress it had committed — the newest, or an older one
        when the newer ones were not yet persisted — and the receiver keeps what it got,
        possibly more. What was not persisted is gone: the core persists only forward, so
        the next restart cannot come back to it."""
        self.realtime.close()
        index = self.rng.randrange(max(0, len(self.committed) - 20), len(self.committed))
        del self.committed[index + 1 :]
        self.realtime = self._new(self.committed[index])

    def drain(self) -> None:
        self.store.flush()
        self.behind = False
        self.now += 10.0
        for _ in range(200):
            self.poll(10_000)
            if not self.realtime.has_more:
                break


def _write(store: Store, rng: random.Random) -> None:
    device = rng.choice(DEVICES)
    n = rng.randint(1, 8)
    base = rng.choice([rng.randint(0, 200), rng.randint(1000, 1200)])
    times = np.unique(np.asarray([base + rng.randint(0, 30) for _ in range(n)], np.int64))
    values = np.asarray([rng.choice([1.5, 2.5, float(rng.randint(0, 9))]) for _ in times])
    names = rng.sample(["s1", "s2"], rng.randint(1, 2))
    store.insert_tablet(
        Tablet(
            device, [MeasurementSchema(m, "DOUBLE") for m in names], times, [values] * len(names)
        )
    )


def _load(store: Store, tmp: Path, rng: random.Random) -> None:
    """LOAD an external TsFile (its rows never arrive as inserts)."""
    from pipecore_storage.tsfile import TsFileWriter

    device = rng.choice(DEVICES)
    times = np.arange(rng.randint(0, 1200), rng.randint(1201, 1300), dtype=np.int64)
    schema = MeasurementSchema("s1", "DOUBLE")
    path = tmp / f"load-{rng.getrandbits(64)}.tsfile"
    writer = TsFileWriter(path)
    writer.register_timeseries(device, schema)
    writer.write_tablet(Tablet(device, [schema], times, [times * 0.25]))
    writer.close()
    store.load_tsfile(path, on_success="delete")


def _run(tmp: Path, kind: str, seed: int, steps: int) -> None:
    rng = random.Random(seed)
    config = {"pipe_subscription_capacity_events": rng.choice([3, 8, 1000])}
    with Store.open(tmp / f"{kind}-{seed}", config) as store:
        for _ in range(rng.randint(0, 5)):
            _write(store, rng)
        h = Harness(store, kind, rng)
        for _ in range(steps):
            op = rng.random()
            if op < 0.45:
                _write(store, rng)
            elif op < 0.55:
                store.flush()
            elif op < 0.6:
                device = rng.choice(DEVICES)
                lo = rng.randint(0, 1200)
                store.delete(f"{device}.{rng.choice(['s1', '*'])}", lo, lo + rng.randint(0, 50))
            elif op < 0.7:
                h.behind = not h.behind
            elif op < 0.75:
                h.now += rng.choice([0.1, 2.0])
            elif op < 0.78:
                h.restart()
            elif op < 0.8:
                _load(store, tmp, rng)
            else:
                h.poll(rng.randint(1, 20))
        h.drain()
        expected = {(s, t): v for s, t, v in store_points(store)}
        assert h.receiver.points == expected, (kind, seed)


@settings(max_examples=25, deadline=None)
@example(seed=1232202, kind="hybrid")  # restart from old progress, then from newer
@given(seed=st.integers(0, 2**32 - 1), kind=st.sampled_from(["hybrid", "stream", "batch"]))
def test_receiver_ends_exact_whatever_the_interleaving(tmp_path_factory, seed, kind):
    _run(tmp_path_factory.mktemp("m"), kind, seed, steps=60)


def test_long_hybrid_run_with_small_subscriptions(tmp_path):
    for seed in range(3):
        _run(tmp_path, "hybrid", 1000 + seed, steps=300)
