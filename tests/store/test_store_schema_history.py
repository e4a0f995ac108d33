"""The store's schema history (`pipecore_storage.schema_history`): a subscription with
``replay_from=R`` and ``schema=True`` gets back the schema changes made after write R - 1, in
order, before the data; the history survives a reopen and a kill, a torn tail is cut, and it
is bounded (a replay that needed a trimmed change says so)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipecore_storage import MeasurementSchema, Store, Tablet
from pipecore_storage import schema_history as history_module
from pipecore_storage.errors import SchemaError
from pipecore_storage.listeners import InsertEvent, StoreDeletion, StoreSchemaChange
from pipecore_storage.origin import Origin


def _tablet(device: str, times: list[int], name: str = "v") -> Tablet:
    t = np.asarray(times, np.int64)
    return Tablet(device, [MeasurementSchema(name, "INT64")], t, [t * 3])


def _changes(events) -> list[list[str]]:
    return [[r["op"] for r in e.records] for e in events if isinstance(e, StoreSchemaChange)]


def _history(store: Store) -> list[StoreSchemaChange]:
    sub = store.subscribe("probe", replay_from=0, schema=True)
    try:
        return [e for e in sub.drain() if isinstance(e, StoreSchemaChange)]
    finally:
        sub.close()


def test_replay_from_r_gives_the_schema_changes_after_write_r_minus_1(tmp_path):
    with Store.open(tmp_path / "s") as store:
        store.insert_tablet(_tablet("root.a.d", [1]))  # creates root.a and root.a.d.v
        r = store.insert_tablet(_tablet("root.a.d", [2])) + 1  # the pipe handed this on
        store.create_database("root.ln0")
        store.create_timeseries("root.a.d.s3", "BOOLEAN", "PLAIN")
        store.insert_tablet(_tablet("root.a.d", [3]))
        sub = store.subscribe("p", replay_from=r, schema=True)
        events = sub.drain()
        assert _changes(events) == [["create_database"], ["create_series"]]
        # the schema comes first, marked as replayed; then the data
        assert all(e.replayed for e in events[:2]) and isinstance(events[2], InsertEvent)
        assert [e.index for e in events[:2]] == [1, 2]  # the insert at 1 made index 0
        assert sub.schema_truncated is False
        # without schema=True the replay has no schema changes
        assert _changes(store.subscribe("d", replay_from=r).drain()) == []


def test_a_change_right_after_the_last_write_handed_on_is_replayed(tmp_path):
    with Store.open(tmp_path / "s") as store:
        seq = store.insert_tablet(_tablet("root.a.d", [1]))
        store.create_database("root.b")  # after write `seq`: a pipe at R = seq + 1 owes it
        assert _changes(store.subscribe("p", replay_from=seq + 1, schema=True).drain()) == [
            ["create_database"]
        ]
        assert _changes(store.subscribe("p", replay_from=seq + 2, schema=True).drain()) == []


def test_schema_from_leaves_out_changes_before_the_pipe(tmp_path):
    with Store.open(tmp_path / "s") as store:
        seq = store.insert_tablet(_tablet("root.a.d", [1]))
        store.create_database("root.before")
        mark = store.schema_position
        store.create_database("root.after")
        sub = store.subscribe("p", replay_from=seq + 1, schema=True, schema_from=mark)
        replayed = [e for e in sub.drain() if isinstance(e, StoreSchemaChange)]
        assert [e.records[0]["name"] for e in replayed] == ["root.after"]


def test_live_changes_are_numbered_and_not_marked_replayed(tmp_path):
    with Store.open(tmp_path / "s") as store:
        store.create_database("root.a")
        sub = store.subscribe("p", replay_from=store.last_seq + 1, schema=True)
        first = sub.drain()
        store.create_database("root.b")
        (live,) = sub.drain()
        assert [e.replayed for e in first] == [True] and live.replayed is False
        assert (first[0].index, live.index) == (0, 1)


def test_deletions_and_schema_removals_replay_in_their_place(tmp_path):
    with Store.open(tmp_path / "s") as store:
        store.insert_tablet(_tablet("root.a.d", [1]))
        store.insert_tablet(_tablet("root.b.d", [1]))
        r = store.last_seq + 1
        store.delete_timeseries("root.a.d.v")  # deletion seq s, then its schema record at s
        store.delete_database("root.b")  # schema record at s, then the deletion at s + 1
        events = store.subscribe("p", replay_from=r, schema=True).drain()
        d1, d2 = (e for e in events if isinstance(e, StoreDeletion))
        c1, c2 = (e for e in events if isinstance(e, StoreSchemaChange))
        assert (c1.records[0]["op"], c2.records[0]["op"]) == ("delete_series", "delete_database")
        assert d1.seq == c1.seq and c2.seq == c1.seq and d2.seq == c2.seq + 1


def test_published_records_are_logged_with_their_origin(tmp_path):
    origin = Origin.pipe("other-cluster", ("first",))
    with Store.open(tmp_path / "s") as store:
        store.publish_schema([{"op": "set_ttl", "path": "root.a.**", "ttl": 5}], origin=origin)
    with Store.open(tmp_path / "s") as store:
        (change,) = _history(store)
        assert change.records == ({"op": "set_ttl", "path": "root.a.**", "ttl": 5},)
        assert change.origin == origin


def test_inserts_that_create_no_schema_log_nothing(tmp_path):
    with Store.open(tmp_path / "s") as store:
        store.insert_tablet(_tablet("root.a.d", [1]))
        log = store.layout.system / "schema_history.log"
        size = log.stat().st_size
        for t in range(2, 50):
            store.insert_tablet(_tablet("root.a.d", [t]))
        assert log.stat().st_size == size
        store.insert_tablet(_tablet("root.a.d", [60], name="w"))  # a new series: one line
        assert log.stat().st_size > size
        assert len(_history(store)) == 2


def test_the_history_survives_a_reopen_and_a_kill(tmp_path):
    store = Store.open(tmp_path / "s")
    store.insert_tablet(_tablet("root.a.d", [1]))
    r = store.last_seq + 1
    store.create_timeseries("root.a.d.s3", "BOOLEAN", "PLAIN")
    store.close()
    store = Store.open(tmp_path / "s")
    store.create_database("root.ln0")
    store._abandon()  # on disk what a kill -9 leaves
    with Store.open(tmp_path / "s") as store:
        sub = store.subscribe("p", replay_from=r, schema=True)
        assert _changes(sub.drain()) == [["create_series"], ["create_database"]]
        store.create_database("root.next")
        assert [e.index for e in _history(store)] == [0, 1, 2, 3]  # numbering goes on


@pytest.mark.parametrize("tail", [b"0badc0de [5,", b"\x00\x00\x00", b"12345678 [1,2]\n"])
def test_a_torn_or_corrupt_tail_is_cut_off(tmp_path, tail):
    with Store.open(tmp_path / "s") as store:
        store.create_database("root.a")
        store.create_database("root.b")
    log = tmp_path / "s" / "system" / "schema_history.log"
    good = log.read_bytes()
    log.write_bytes(good + tail)
    with Store.open(tmp_path / "s") as store:
        assert log.read_bytes() == good
        store.create_database("root.c")
        assert [e.records[0]["name"] for e in _history(store)] == ["root.a", "root.b", "root.c"]


def test_the_history_is_trimmed_and_a_replay_past_it_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(history_module, "MAX_ENTRIES", 4)
    with Store.open(tmp_path / "s") as store:
        for i in range(9):  # 9 > 2 * 4: trimmed to the newest 4 once
            store.create_database(f"root.db{i}")
        names = [e.records[0]["name"] for e in _history(store)]
        assert names == [f"root.db{i}" for i in range(5, 9)]
        old = store.subscribe("old", replay_from=0, schema=True)
        assert old.schema_truncated is True
        assert store.subscribe("p4", replay_from=0, schema=True, schema_from=4).schema_truncated
        recent = store.subscribe("p5", replay_from=0, schema=True, schema_from=5)
        assert recent.schema_truncated is False  # it needs nothing that was dropped
    with Store.open(tmp_path / "s") as store:  # the marker survives a reopen
        assert store.subscribe("old", replay_from=0, schema=True).schema_truncated is True
        assert store.schema_position == 9


def test_the_history_is_bounded_in_bytes(tmp_path, monkeypatch):
    monkeypatch.setattr(history_module, "MAX_BYTES", 2000)
    with Store.open(tmp_path / "s") as store:
        for i in range(60):
            store.create_timeseries(f"root.sg.d.s{i:03d}", "INT32")
        log = store.layout.system / "schema_history.log"
        assert log.stat().st_size <= 2 * 2000
        changes = _history(store)
        assert changes[-1].records[0]["measurement"] == "s059"
        assert [e.index for e in changes] == list(range(changes[0].index, 60))


_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("insert"), st.integers(0, 3), st.integers(0, 2)),
        st.tuples(st.just("database"), st.integers(0, 3), st.just(0)),
        st.tuples(st.just("delete"), st.integers(0, 3), st.integers(0, 2)),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=25, deadline=None)
@given(ops=_OPS, data=st.data())
def test_replay_is_the_live_changes_from_r_minus_1_on(tmp_path_factory, ops, data):
    """The law: for every R, the replayed changes are exactly the live changes published
    with ``seq >= R - 1``, in the same order (and nothing made before ``schema_from``)."""
    with Store.open(tmp_path_factory.mktemp("h")) as store:
        live = store.subscribe("live", schema=True)
        for op, a, b in ops:
            try:
                if op == "insert":
                    store.insert_tablet(_tablet(f"root.g{a}.d", [len(ops)], name=f"m{b}"))
                elif op == "database":
                    store.create_database(f"root.x{a}")
                else:
                    store.delete_timeseries(f"root.g{a}.d.m{b}")
            except SchemaError:  # exists already / nothing to delete
                pass
        published = [e for e in live.drain() if isinstance(e, StoreSchemaChange)]
        r = data.draw(st.integers(0, store.last_seq + 2))
        k = data.draw(st.integers(0, len(published)))
        sub = store.subscribe("p", replay_from=r, schema=True, schema_from=k)
        got = [e for e in sub.drain() if isinstance(e, StoreSchemaChange)]
        want = [e for e in published if e.seq >= r - 1 and e.index >= k]
        assert [(e.seq, e.index, e.records) for e in got] == [
            (e.seq, e.index, e.records) for e in want
        ]
