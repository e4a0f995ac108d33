"""A full disk never loses an acknowledged write and never brings back a refused one.

A child process writes batches to a store on a small tmpfs (mounted by the test; this needs
root). Each round the disk is filled to the last byte while the child writes, freed, filled
again, and the child is killed with SIGKILL at a random moment; the store is then reopened
and must hold every acknowledged batch, and no row of any refused batch.
"""

from __future__ import annotations

import errno
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from small_disk import fill, mounted_tmpfs
from store_diskfull_child import DEVICES, op_records, store_config

from pipecore_storage.store import Store

CHILD = Path(__file__).with_name("store_diskfull_child.py")
ROUNDS = 12


@pytest.fixture
def small_disk(tmp_path: Path):
    with mounted_tmpfs(tmp_path / "disk") as mnt:
        yield mnt


class Child:
    def __init__(self, store: Path, first: int, seed: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(CHILD), str(store), str(first), str(seed)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=CHILD.parent,
        )
        self.acked: set[int] = set()
        self.refused: set[int] = set()
        self.ready = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        assert self.ready.wait(30), "child did not start"

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            word, *rest = line.split()
            if word == "READY":
                self.ready.set()
            elif word == "ACK":
                self.acked.add(int(rest[0]))
            elif word == "REFUSED":
                self.refused.add(int(rest[0]))

    def wait_for(self, what: str, more: int, timeout: float = 20) -> None:
        box = self.acked if what == "ack" else self.refused
        target = len(box) + more
        deadline = time.monotonic() + timeout
        while len(box) < target:
            assert self.proc.poll() is None, "the child died"
            assert time.monotonic() < deadline, f"no {more} more {what}s in {timeout}s"
            time.sleep(0.01)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.reader.join(10)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


def stored_times(store: Store) -> dict[str, set[int]]:
    out = {}
    for device in DEVICES:
        try:
            r = store.query([f"{device}.v"])
        except Exception:  # the device was never written
            out[device] = set()
            continue
        out[device] = {int(t) for t, _v in r.rows()}
    return out


def test_full_disk_loses_nothing_acknowledged_and_resurrects_nothing_refused(small_disk):
    rng = random.Random(12)
    store_dir = small_disk / "store"
    filler = small_disk / "filler"
    seed, first = 7, 1
    acked: set[int] = set()
    refused: set[int] = set()
    for round_ in range(ROUNDS):
        child = Child(store_dir, first, seed)
        try:
            child.wait_for("ack", 5)
            fill(filler)  # the disk is full: writes are refused
            child.wait_for("refused", 3)
            filler.unlink()  # space is back: writes are acknowledged again
            child.wait_for("ack", 10)
            fill(filler, leave=rng.choice([0, 4096, 40000]))
            time.sleep(rng.uniform(0, 0.3))
            if rng.random() < 0.5:
                child.wait_for("refused", 1)
        finally:
            child.kill()
        assert not child.acked & child.refused
        acked |= child.acked
        refused |= child.refused
        first = max(child.acked | child.refused) + 2  # the op in flight is neither
        filler.unlink(missing_ok=True)
        with Store.open(store_dir, store_config()) as store:
            stored = stored_times(store)
        for k in sorted(acked):
            for device, t, _row in op_records(k, seed):
                assert t in stored[device], f"round {round_}: acknowledged op {k} lost ({t})"
        for k in sorted(refused):
            back = [t for device, t, _row in op_records(k, seed) if t in stored[device]]
            assert not back, f"round {round_}: refused op {k} came back ({len(back)} rows)"
    assert len(refused) >= 3 * ROUNDS and len(acked) >= 15 * ROUNDS


def test_store_keeps_serving_after_a_failed_flush_and_resumes_when_space_returns(small_disk):
    """A flush and a WAL roll that fail on a full disk leave the store writable (before, the
    roll closed the WAL: every later write failed with 'WAL is closed' until a restart), the
    numbers of refused writes are not given again, and everything lands once space is back."""
    filler = small_disk / "filler"
    with Store.open(small_disk / "store", store_config()) as store:
        store.insert_records(op_records(1, 0))
        fill(filler)
        with pytest.raises(OSError) as info:
            for k in range(2, 200):
                store.insert_records(op_records(k, 0))
                store.flush()
        assert info.value.errno == errno.ENOSPC
        before = store.last_seq
        with pytest.raises(OSError):
            store.insert_records(op_records(500, 0))
        assert store.last_seq > before  # a refused write's sequence numbers are used up
        with pytest.raises(OSError):
            store.flush()
        filler.unlink()
        seq = store.insert_records(op_records(501, 0))[0]
        assert seq > store.last_seq - len(op_records(501, 0))
        assert store.flush()  # the flush that failed is done now
        stored = stored_times(store)
    assert not {t for d, t, _r in op_records(500, 0) if t in stored[d]}
    assert all(t in stored[d] for d, t, _r in op_records(501, 0))
    with Store.open(small_disk / "store", store_config()) as store:
        assert stored_times(store) == stored
