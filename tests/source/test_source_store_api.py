"""The two store additions iotdb-source relies on: `Store.sealed_below()` and
`Subscription.nbytes` (plus `MemTable.min_seq` staying the minimum)."""

from __future__ import annotations

import numpy as np

from pipecore_storage import MeasurementSchema, Store, Tablet
from pipecore_storage.listeners import TsFileSealedEvent
from pipecore_storage.memtable import MemTable
from pipecore_storage.origin import CLIENT, Origin


def _tablet(device: str, times: list[int]) -> Tablet:
    t = np.asarray(times, np.int64)
    return Tablet(device, [MeasurementSchema("v", "INT64")], t, [t * 3])


def test_sealed_below_tracks_what_memtables_still_hold(tmp_path):
    with Store.open(tmp_path / "s") as store:
        assert store.sealed_below() == 0  # empty store: last_seq + 1
        a = store.insert_tablet(_tablet("root.a.d", [1, 2]))
        b = store.insert_tablet(_tablet("root.b.d", [1]))
        assert store.sealed_below() == a
        sub = store.subscribe("p")
        store.flush()
        below = store.sealed_below()
        assert below == store.last_seq + 1 and below > b
        # every write below it is in a file whose seal event was published before
        sealed = [e for e in sub.drain() if isinstance(e, TsFileSealedEvent)]
        assert {s for e in sealed for s in (e.min_seq, e.max_seq)} >= {a, b}
        c = store.insert_tablet(_tablet("root.a.d", [3]))
        assert store.sealed_below() == c


def test_sealed_below_counts_memtables_being_flushed(tmp_path):
    with Store.open(tmp_path / "s") as store:
        first = store.insert_tablet(_tablet("root.a.d", [1]))
        with store._lock:  # switched out, not yet sealed: still held
            store._switch_locked()
            assert store.sealed_below() == first
        store.flush()
        assert store.sealed_below() == store.last_seq + 1


def test_memtable_min_seq_is_the_minimum_whatever_the_append_order():
    mt = MemTable("root.a", True)
    nodes = ("root", "a", "d")
    mt.append(_tablet("root.a.d", [5]), nodes, 9, CLIENT)
    mt.append(_tablet("root.a.d", [6]), nodes, 4, CLIENT)  # a failed flush's data given back
    assert (mt.min_seq, mt.max_seq) == (4, 9)


def test_subscription_nbytes_counts_live_events_only(tmp_path):
    with Store.open(tmp_path / "s") as store:
        store.insert_tablet(_tablet("root.a.d", list(range(100))))
        sub = store.subscribe("p", replay_from=0)
        assert len(sub) == 1 and sub.nbytes == 0  # replayed: references the memtable
        store.insert_tablet(_tablet("root.a.d", list(range(100, 150))))
        assert len(sub) == 2 and sub.nbytes == 50 * 8 * 2
        sub.drain()
        assert sub.nbytes == 0


def test_replay_keeps_deletions_after_their_generation_is_sealed_and_after_reopen(tmp_path):
    from pipecore_storage.listeners import StoreDeletion

    with Store.open(tmp_path / "s") as store:
        store.insert_tablet(_tablet("root.a.d", [1, 2, 3]))
        d1 = store.delete("root.a.d.v", 1, 1)
        store.flush()  # the WAL entry of the deletion is gone after this checkpoint
        d2 = store.delete_database("root.a")
        kept = [e for e in store.replay(d1) if isinstance(e, StoreDeletion)]
        assert [(e.seq, e.pattern) for e in kept] == [(d1, "root.a.d.v"), (d1 + 2, "root.a.**")]
        assert d2 == ["root.a"]
    with Store.open(tmp_path / "s") as store:
        again = [e for e in store.replay(0) if isinstance(e, StoreDeletion)]
        assert [(e.seq, e.pattern, e.start, e.end) for e in again] == [
            (d1, "root.a.d.v", 1, 1),
            (d1 + 2, "root.a.**", -(2**63), 2**63 - 1),
        ]
        assert [e.seq for e in store.replay(d1 + 1) if isinstance(e, StoreDeletion)] == [d1 + 2]


def test_deletion_history_after_a_crash_has_each_deletion_once(tmp_path):
    from pipecore_storage.listeners import StoreDeletion

    store = Store.open(tmp_path / "s", {"wal_mode": "SYNC"})
    store.insert_tablet(_tablet("root.a.d", [1, 2, 3]))
    seq = store.delete("root.a.d.v", 2, 2, origin=Origin.pipe("c1"))
    store._abandon()  # what kill -9 leaves: the WAL still holds the deletion
    with Store.open(tmp_path / "s") as store:
        found = [e for e in store.replay(0) if isinstance(e, StoreDeletion)]
        assert [(e.seq, e.origin) for e in found] == [(seq, Origin.pipe("c1"))]
        assert store.recovery_report.replayed_entries == 2


def test_deletion_history_is_bounded(tmp_path, monkeypatch):
    from pipecore_storage import store as store_module
    from pipecore_storage.listeners import StoreDeletion

    monkeypatch.setattr(store_module, "MAX_DELETIONS", 5)
    with Store.open(tmp_path / "s", {"wal_mode": "DISABLE"}) as store:
        store.insert_tablet(_tablet("root.a.d", [1]))
        seqs = [store.delete("root.a.d.v", t, t) for t in range(12)]
        kept = [e.seq for e in store.replay(0) if isinstance(e, StoreDeletion)]
        assert kept == seqs[-5:]
        assert store._deletion_log.lines <= 10  # rewritten when twice the bound
