"""Durability: a real child process writes to a store (inserts, some deletions, flushes) and is
killed with SIGKILL at random moments; after every kill the store is reopened and must hold
every acknowledged write, honour every acknowledged deletion, hold nothing that was never
written, and nothing twice."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from store_kill_child import DEVICES, delete_target, op_tablet, store_config

from pipecore_storage.listeners import InsertEvent
from pipecore_storage.store import Store
from pipecore_storage.tsfile import TsFileReader

CHILD = Path(__file__).with_name("store_kill_child.py")
KILLS = 20


def _expected(ops: set[int], seed: int) -> dict[tuple[str, int], tuple[int, str]]:
    out = {}
    for k in ops:
        t = op_tablet(k, seed)
        for time_, v, s in zip(
            t.timestamps.tolist(), t.columns[0].tolist(), t.columns[1].tolist(), strict=True
        ):
            out[(t.device, time_)] = (v, s)
    return out


def _stored(store: Store) -> dict[tuple[str, int], tuple[int, str]]:
    out = {}
    for device in DEVICES:
        r = store.query([f"{device}.v", f"{device}.t"])
        for t, v, s in r.rows():
            out[(device, t)] = (v, s)
    return out


def _no_point_twice(store: Store) -> None:
    """Sealed files and memtable hold disjoint points (a replayed WAL entry must not come
    back next to the file it was sealed in), and the memtable only holds writes newer than
    every sealed one."""
    seen: set[tuple[str, int]] = set()
    seqs = []
    for f in store.sealed_files():
        seqs.append((f.min_seq, f.max_seq))
        with TsFileReader(f.path) as r:
            for device in r.devices():
                times, _ = r.read_series(device, ["v"])["v"]
                keys = {(device, t) for t in times.tolist()}
                assert not keys & seen, f"points of {f.path.name} stored twice"
                seen |= keys
    replayed = set()
    for event in store.replay(0):
        if not isinstance(event, InsertEvent):
            continue
        keys = {(event.tablet.device, t) for t in event.tablet.timestamps.tolist()}
        assert not keys & seen, f"replayed insert {event.seq} is also in a sealed file"
        seen |= keys
        replayed.add(event.seq)
    if replayed and seqs:
        # every write still in the memtable is newer than everything sealed
        assert min(replayed) > max(b for _a, b in seqs), (sorted(replayed)[:3], seqs)


def _run_child(path: Path, wal_mode: str, first: int, seed: int, delay: float) -> list[int]:
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), str(path), wal_mode, str(first), str(seed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    acked: list[int] = []
    ready = threading.Event()

    def read() -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            if line.startswith("READY"):
                ready.set()
            elif line.startswith("ACK "):
                acked.append(int(line.split()[1]))
        ready.set()

    with proc:
        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        assert ready.wait(30), "the child did not start"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        reader.join(10)
        err = proc.stderr.read()  # type: ignore[union-attr]
    assert proc.returncode == -signal.SIGKILL, f"the child died by itself:\n{err}"
    return acked


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.parametrize("wal_mode", ["ASYNC", "SYNC"])
def test_every_acknowledged_write_survives_sigkill(tmp_path, wal_mode):
    rng = random.Random(f"kill-{wal_mode}")
    seed = rng.randrange(1000)
    path = tmp_path / "store"
    durable: set[int] = set()  # insert ops whose points must be there
    deleted: set[int] = set()  # insert ops whose points must be gone
    first = 1
    total_acked = deletes = 0
    for kill in range(KILLS):
        acked = _run_child(path, wal_mode, first, seed, rng.uniform(0.02, 0.35))
        total_acked += len(acked)
        for k in acked:
            target = delete_target(k, first)
            if target is None:
                durable.add(k)
            else:
                deleted.add(target)
                deletes += 1
        in_flight = (acked[-1] + 1) if acked else first
        in_flight_target = delete_target(in_flight, first)
        store = Store.open(path, store_config(wal_mode))
        try:
            stored = _stored(store)
            must = _expected(durable - deleted, seed)
            # the op in flight at the kill: an insert or a deletion, all applied or none
            maybe_ops = {in_flight} if in_flight_target is None else {in_flight_target}
            maybe = _expected(maybe_ops, seed)
            missing = [k for k in must if stored.get(k) != must[k] and k not in maybe]
            assert not missing, f"kill {kill}: acknowledged points lost: {missing[:5]}"
            assert not set(stored) & set(_expected(deleted, seed)), (
                f"kill {kill}: deleted points came back"
            )
            extra = set(stored) - set(must)
            assert extra <= set(maybe), f"kill {kill}: points never written: {sorted(extra)[:5]}"
            for k in set(stored) & set(maybe):
                assert stored[k] == maybe[k]
            applied = set(stored) & set(maybe)
            assert applied in (set(), set(maybe)), f"kill {kill}: op {in_flight} half applied"
            if in_flight_target is None and applied:
                durable.add(in_flight)
            elif in_flight_target is not None and not applied:
                deleted.add(in_flight_target)
            _no_point_twice(store)
        finally:
            store._abandon()  # leave the recovered state as is for the next child
        first = in_flight + 1
    assert total_acked > KILLS and deletes > 0, "the children did almost nothing"
    with Store.open(path, store_config(wal_mode)) as store:
        stored = _stored(store)
        expected = _expected(durable - deleted, seed)
        assert len(stored) == len(expected)
        assert np.all([stored[k] == v for k, v in expected.items()])
