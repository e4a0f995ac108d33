"""iotdb-source end to end in one process: a node with a store, a pipe, a recording sink."""

from __future__ import annotations

import time

import pytest
from source_helpers import (
    gate,
    int_tablet,
    open_node,
    recording,
    store_points,
    wait_until,
)

from pipecore_storage import Origin

SINK = {"sink": "recording-sink"}


@pytest.fixture
def node(tmp_path):
    n = open_node(tmp_path / "node")
    yield n
    n.close()


def _write(store, device: str, first: int, count: int, measurements=("s1",)) -> None:
    store.insert_tablet(int_tablet(device, range(first, first + count), measurements))


def _points(store, pattern="root.**", start=None, end=None):
    pts = store_points(store, pattern)
    return {p for p in pts if (start is None or p[1] >= start) and (end is None or p[1] <= end)}


def test_full_sync_history_memtable_and_realtime(node):
    store = node.store
    _write(store, "root.sg.d1", 0, 100)
    _write(store, "root.sg2.d1", 0, 100)
    store.flush()
    _write(store, "root.sg.d1", 50, 100)  # out of order: an unsequence memtable
    _write(store, "root.sg.d2", 0, 10)  # not yet sealed when the pipe starts
    node.create_pipe("full", {"source": "iotdb-source"}, {}, {**SINK, "name": "full"})
    for k in range(5):
        _write(store, f"root.sg.d{k}", 1000 + k * 10, 10)
    rec = recording("full")
    wait_until(lambda: rec.point_set() == store_points(store), what="full sync")
    # the history (flushed at start) went as files, the realtime writes as tablets
    assert rec.file_events >= 2 and rec.tablet_events == 5
    assert node.get_pipe("full").facts.source_remaining_events == 0


def test_historical_range_only(node):
    store = node.store
    _write(store, "root.sg.d1", 0, 1000)
    store.flush()
    _write(store, "root.sg.d1", 2000, 100)
    store.flush()
    source = {
        "source": "iotdb-source",
        "source.realtime.enable": "false",
        "source.history.start-time": "100",
        "source.history.end-time": "1970-01-01T00:00:00.499+00:00",  # 499
    }
    node.create_pipe("hist", source, {}, {**SINK, "name": "hist"})
    _write(store, "root.sg.d1", 300, 10)  # realtime: not taken
    rec = recording("hist")
    wanted = _points(store, start=100, end=499) - {
        p for p in store_points(store) if 300 <= p[1] < 310
    }
    wanted |= {("root.sg.d1.s1", t, t + 0.5) for t in range(300, 310)}  # sealed value
    wait_until(lambda: rec.point_set() == wanted, what="history range")
    # the file overlapping the range was split into tablets; the one outside was not taken
    assert rec.file_events == 0 and rec.tablet_events >= 1
    time.sleep(0.2)
    assert rec.point_set() == wanted


def test_pattern_prefix_and_path_filters_split_a_file(node):
    store = node.store
    _write(store, "root.sg.d1", 0, 50, ("s1", "s2"))
    _write(store, "root.sg.d2", 0, 50, ("s1", "s2"))
    _write(store, "root.other.d1", 0, 50)
    store.flush()
    node.create_pipe(
        "prefix",
        {"source.pattern": "root.sg.d1.s"},
        {},
        {**SINK, "name": "prefix"},
    )
    node.create_pipe("path", {"extractor.path": "root.*.d2.s2"}, {}, {**SINK, "name": "path"})
    node.create_pipe("whole", {"pattern": "root.sg"}, {}, {**SINK, "name": "whole"})
    _write(store, "root.sg.d1", 100, 5, ("s1", "s2", "t1"))
    _write(store, "root.sg.d2", 100, 5, ("s1", "s2"))
    prefix, path, whole = recording("prefix"), recording("path"), recording("whole")
    expect_prefix = {p for p in store_points(store) if p[0].startswith("root.sg.d1.s")}
    expect_path = {p for p in store_points(store) if p[0] == "root.sg.d2.s2"}
    expect_whole = _points(store, "root.sg.**")
    wait_until(lambda: prefix.point_set() == expect_prefix, what="prefix pattern")
    wait_until(lambda: path.point_set() == expect_path, what="path pattern")
    wait_until(lambda: whole.point_set() == expect_whole, what="database prefix")
    # root.sg's history file holds only root.sg devices: it went whole; the others were split
    assert whole.file_events == 1
    assert prefix.file_events == 0 and path.file_events == 0


def test_loose_range_sends_the_file_whole(node):
    store = node.store
    _write(store, "root.sg.d1", 0, 100)
    _write(store, "root.sg.d2", 0, 100)
    store.flush()
    node.create_pipe(
        "loose",
        {"path": "root.sg.d1.s1", "start-time": "10", "end-time": "20",
         "history.loose-range": "time, path", "realtime.enable": "false"},
        {},
        {**SINK, "name": "loose"},
    )  # fmt: skip
    rec = recording("loose")
    # the recorder counts an event before it takes its points: wait on the points
    wait_until(lambda: rec.point_set() == store_points(store), what="the file")  # not split
    assert rec.file_events == 1
    node.create_pipe(
        "exact",
        {"path": "root.sg.d1.s1", "start-time": "10", "end-time": "20",
         "realtime.enable": "false"},
        {},
        {**SINK, "name": "exact"},
    )  # fmt: skip
    exact = recording("exact")
    wanted = {p for p in store_points(store) if p[0] == "root.sg.d1.s1" and 10 <= p[1] <= 20}
    wait_until(lambda: exact.point_set() == wanted, what="split")
    assert exact.file_events == 0


@pytest.mark.parametrize("mode", ["stream", "batch", "hybrid"])
def test_realtime_modes(node, mode):
    store = node.store
    name = f"rt-{mode}"
    node.create_pipe(name, {"source.realtime.mode": mode}, {}, {**SINK, "name": name})
    for k in range(20):
        _write(store, f"root.sg.d{k % 3}", k * 10, 10)
    rec = recording(name)
    if mode == "batch":
        time.sleep(0.2)
        assert rec.tablet_events == 0 and rec.points == {}  # nothing sealed yet
        store.flush()
    wait_until(lambda: rec.point_set() == store_points(store), what=mode)
    if mode == "batch":
        assert rec.tablet_events == 0 and rec.file_events >= 1
    else:
        assert rec.tablet_events == 20 and rec.file_events == 0
        store.flush()  # the sealed file's rows went out as tablets: not sent again
        time.sleep(0.2)
        assert rec.file_events == 0


def test_hybrid_degrades_to_files_under_a_slow_sink_and_loses_nothing(tmp_path):
    config = {"pipe_sink_pending_queue_max_events": 8}
    node = open_node(tmp_path / "n", {"avg_series_point_number_threshold": 400}, **config)
    try:
        store = node.store
        node.create_pipe("slow", {}, {}, {**SINK, "name": "slow", "delay-ms": "20"})
        for k in range(300):
            _write(store, f"root.sg.d{k % 4}", k * 5, 5, ("a", "b"))
        store.flush()
        rec = recording("slow")
        wait_until(lambda: rec.point_set() == store_points(store), 30, "slow hybrid")
        task = node.pipes.task("slow")
        realtime = task.stages["source"].instance.realtime
        assert realtime.switches >= 1 and rec.file_events >= 1
        assert rec.tablet_events < 300  # tablets were dropped for files
        # every point exactly: nothing missing, nothing the store does not have
        assert rec.point_set() == store_points(store)
    finally:
        node.close()


def test_deletions_are_forwarded_when_included(node):
    store = node.store
    _write(store, "root.sg.d1", 0, 100)
    store.flush()
    node.create_pipe(
        "del", {"inclusion": "data", "path": "root.sg.**"}, {}, {**SINK, "name": "del"}
    )
    node.create_pipe("nodel", {}, {}, {**SINK, "name": "nodel"})
    rec, nodel = recording("del"), recording("nodel")
    wait_until(lambda: rec.point_set() == store_points(store))
    before = store_points(store)
    wait_until(lambda: nodel.point_set() == before)
    store.delete("root.sg.d1.s1", 10, 19)
    _write(store, "root.sg.d1", 15, 1)  # written again after the deletion
    wait_until(lambda: rec.point_set() == store_points(store), what="deletion")
    assert rec.deletions == [("root.sg.d1.s1", 10, 19)]
    time.sleep(0.1)
    assert nodel.deletions == []


def test_a_deletion_before_the_history_file_is_sent_is_applied_to_it(node):
    store = node.store
    _write(store, "root.sg.d1", 0, 100)
    store.flush()
    store.delete("root.sg.d1.s1", 0, 49)
    node.create_pipe("mods", {"realtime.enable": "false"}, {}, {**SINK, "name": "mods"})
    rec = recording("mods")
    wait_until(lambda: rec.point_set() == store_points(store), what="deleted points left out")
    assert len(rec.points) == 50


def test_stop_and_start_resume_without_gaps(node):
    store = node.store
    _write(store, "root.sg.d1", 0, 100)
    store.flush()
    node.create_pipe("resume", {}, {}, {**SINK, "name": "resume"})
    rec = recording("resume")
    wait_until(lambda: rec.point_set() == store_points(store))
    node.stop_pipe("resume")
    _write(store, "root.sg.d1", 100, 100)  # written while stopped
    store.flush()
    _write(store, "root.sg.d2", 0, 10)
    node.start_pipe("resume")
    transfers = rec.transfers
    wait_until(lambda: rec.point_set() == store_points(store), what="resumed")
    # resumed from the committed progress: the old history file is not sent again
    assert rec.transfers - transfers <= 3
    wait_until(lambda: store.pinned("resume") == [], what="pins released on commit")


def test_node_restart_resumes_from_committed_progress(tmp_path):
    path = tmp_path / "n"
    node = open_node(path)
    _write(node.store, "root.sg.d1", 0, 100)
    node.create_pipe("p", {}, {}, {**SINK, "name": "restart"})
    rec = recording("restart")
    wait_until(lambda: rec.point_set() == store_points(node.store))
    node.close()
    node = open_node(path)
    try:
        _write(node.store, "root.sg.d1", 100, 10)
        wait_until(lambda: rec.point_set() == store_points(node.store), what="after reopen")
        assert rec.file_events == 1  # the history file was acknowledged: not sent again
    finally:
        node.close()


@pytest.fixture
def slow_node(tmp_path):
    """A node whose pipes hold one event at a time, with one sealed file per database
    ``root.db0`` … ``root.db3`` (100 points each)."""
    n = open_node(tmp_path / "n", pipe_sink_pending_queue_max_events=1)
    for k in range(4):
        _write(n.store, f"root.db{k}.d1", 0, 100)
        n.store.flush()
    yield n
    n.close()


def test_pins_are_released_after_commit_and_protect_unsent_files(slow_node):
    node = slow_node
    store = node.store
    node.create_pipe("pin", {}, {}, {**SINK, "name": "pin", "delay-ms": "300"})
    time.sleep(0.1)
    assert len(store.pinned("pin")) >= 2  # taken and pinned, not yet sent
    store.delete_database("root.db2")  # its file is still pinned for the pipe
    rec = recording("pin")
    wanted = {(f"root.db{k}.d1.s1", t, t + 0.5) for k in range(4) for t in range(100)}
    wait_until(lambda: set(rec.point_set()) == wanted, what="pinned file sent")
    wait_until(lambda: store.pinned("pin") == [], what="pins released")


def test_drop_pipe_releases_its_pins(slow_node):
    store = slow_node.store
    slow_node.create_pipe("drop", {}, {}, {**SINK, "name": "drop", "delay-ms": "500"})
    wait_until(lambda: len(store.pinned("drop")) >= 2, what="files pinned")
    slow_node.drop_pipe("drop")
    assert store.pinned("drop") == []


def test_lag_facts(slow_node):
    node = slow_node
    node.create_pipe("lag", {}, {}, {**SINK, "name": "lag", "delay-ms": "200"})
    time.sleep(0.1)
    source = node.pipes.task("lag").stages["source"].instance
    lag = source.lag()
    assert lag.remaining_events >= 1 and lag.remaining_bytes > 0
    assert lag.oldest_unsent_ms is not None and lag.oldest_unsent_ms <= time.time() * 1000
    assert node.get_pipe("lag").facts.remaining_event_count >= 2
    wait_until(lambda: node.get_pipe("lag").facts.remaining_event_count == 0)
    wait_until(lambda: source.lag().oldest_unsent_ms is None, what="caught up")
    assert source.lag().remaining_events == 0


def test_pipe_generated_history_files_are_skipped_without_forwarding(node):
    store = node.store
    _write(store, "root.sg.d1", 0, 10)
    store.flush()
    store.insert_tablet(int_tablet("root.sg.d2", range(10)), origin=Origin.pipe("other"))
    store.flush()  # a file written only by a pipe receiver
    node.create_pipe("nofwd", {"forwarding-pipe-requests": "false"}, {}, {**SINK, "name": "nf"})
    node.create_pipe("fwd", {}, {}, {**SINK, "name": "fw"})
    store.insert_tablet(int_tablet("root.sg.d3", range(5)), origin=Origin.pipe("other"))
    _write(store, "root.sg.d4", 0, 5)
    nf, fw = recording("nf"), recording("fw")
    wait_until(lambda: fw.point_set() == store_points(store))
    client = {p for p in store_points(store) if p[0] in ("root.sg.d1.s1", "root.sg.d4.s1")}
    wait_until(lambda: nf.point_set() == client, what="only client data")


def test_boundary_survives_a_stop_before_the_first_commit(node):
    store = node.store
    _write(store, "root.sg.d1", 0, 10)  # before the pipe: history, not wanted
    node.create_pipe(
        "late", {"history.enable": "false"}, {}, {**SINK, "name": "late"}
    )  # nothing to send yet: nothing committed
    node.stop_pipe("late")
    _write(store, "root.sg.d1", 100, 10)  # while stopped: realtime of the pipe
    node.start_pipe("late")
    rec = recording("late")
    wanted = {p for p in store_points(store) if p[1] >= 100}
    wait_until(lambda: rec.point_set() == wanted, what="written while stopped")
    time.sleep(0.1)
    assert rec.point_set() == wanted


def test_altering_the_source_starts_afresh(node):
    store = node.store
    _write(store, "root.sg.d1", 0, 10)
    node.create_pipe("alt", {"path": "root.sg.d1.s1"}, {}, {**SINK, "name": "alt"})
    rec = recording("alt")
    wait_until(lambda: len(rec.points) == 10)
    _write(store, "root.sg.d2", 0, 10)
    node.alter_pipe("alt", {"path": "root.sg.**"}, replace={"source"})
    wait_until(lambda: rec.point_set() == store_points(store), what="history of the new pattern")


def test_batch_progress_moves_on_without_data_events(node):
    store = node.store
    node.create_pipe("bp", {"realtime.mode": "batch"}, {}, {**SINK, "name": "bp"})
    _write(store, "root.sg.d1", 0, 10)
    store.flush()
    rec = recording("bp")
    wait_until(lambda: rec.point_set() == store_points(store))
    time.sleep(1.3)  # a heartbeat carries the progress the seal allowed
    node.stop_pipe("bp")
    node.start_pipe("bp")
    _write(store, "root.sg.d1", 10, 10)
    store.flush()
    wait_until(lambda: rec.point_set() == store_points(store))
    assert rec.file_events == 2  # the first file was not sent again


def test_a_file_only_a_pin_holds_is_sent_after_a_restart(tmp_path):
    path = tmp_path / "n"
    node = open_node(path, pipe_sink_pending_queue_max_events=1)
    for k in range(3):
        _write(node.store, f"root.db{k}.d1", 0, 100)
        node.store.flush()
    node.create_pipe("orphan", {}, {}, {**SINK, "name": "orphan", "delay-ms": "400"})
    time.sleep(0.1)
    node.store.delete_database("root.db2")  # its file is still to be sent: pinned
    node.close()  # before it was sent
    rec = recording("orphan")
    wanted = {(f"root.db{k}.d1.s1", t, t + 0.5) for k in range(3) for t in range(100)}
    assert rec.point_set() != wanted
    node = open_node(path)
    try:
        wait_until(lambda: rec.point_set() == wanted, what="the orphan sent from its pin")
        wait_until(lambda: node.store.pinned("orphan") == [], what="pins released")
    finally:
        node.close()


def test_a_file_sent_whole_carries_the_mods_recorded_after_it_was_pinned(tmp_path):
    node = open_node(tmp_path / "n", pipe_sink_pending_queue_max_events=1)
    try:
        store = node.store
        for k in range(3):
            _write(store, f"root.db{k}.d1", 0, 100)
            store.flush()
        source = {"mods.enable": "true", "realtime.enable": "false"}
        sink = {**SINK, "name": "mods2", "gate": "mods2"}
        node.create_pipe("mods2", source, {}, sink)
        rec = recording("mods2")
        # the sink holds the first file at its gate, the queue the second: nothing sent yet
        wait_until(lambda: len(store.pinned("mods2")) >= 3, what="all three pinned")
        wait_until(lambda: rec.at_gate == 1, what="the first file at the sink's gate")
        assert rec.file_events == 0
        store.delete("root.db2.d1.s1", 0, 9)  # creates that file's .mods after the pin
        gate("mods2").set()
        # the deletion applied (points are taken after a file is counted: wait for both)
        want = store_points(store)
        wait_until(lambda: rec.point_set() == want, what="every point but the deleted ones")
        assert rec.file_events == 3  # three files sent whole
        (third,) = [f for f in store.sealed_files() if f.database == "root.db2"]
        assert "DELETION,root.db2.d1.s1," in (rec.mods[third.path.name] or "")
    finally:
        node.close()


def test_realtime_time_range_filters_tablets(node):
    store = node.store
    node.create_pipe(
        "rtr",
        {"start-time": "100", "end-time": "199", "realtime.mode": "stream"},
        {},
        {**SINK, "name": "rtr"},
    )
    _write(store, "root.sg.d1", 50, 100)  # 50..149: half inside
    _write(store, "root.sg.d1", 300, 10)  # outside
    _write(store, "root.sg.d1", 150, 10)  # inside
    rec = recording("rtr")
    wait_until(lambda: rec.point_set() == _points(store, start=100, end=199), what="range")
    time.sleep(0.1)
    assert rec.tablet_events == 2 and rec.point_set() == _points(store, start=100, end=199)


def test_a_deletion_wider_than_the_pattern_is_narrowed_to_it(node):
    store = node.store
    _write(store, "root.sg.d1", 0, 10, ("s1", "s2"))
    _write(store, "root.sg.d2", 0, 10)
    node.create_pipe(
        "narrow", {"inclusion": "data", "path": "root.sg.d1.**"}, {}, {**SINK, "name": "nar"}
    )
    store.delete("root.**", 0, 4)
    store.delete("root.sg.d1.s1", 8, 8)  # inside the pattern: sent as written
    store.delete("root.sg.d2.s1", 0, 100)  # outside: not sent
    rec = recording("nar")
    wait_until(lambda: len(rec.deletions) == 3, what="deletions")
    assert sorted(rec.deletions) == [
        ("root.sg.d1.s1", 0, 4),
        ("root.sg.d1.s1", 8, 8),
        ("root.sg.d1.s2", 0, 4),
    ]
    wait_until(lambda: rec.point_set() == _points(store, "root.sg.d1.**"))


def test_the_seed_statements_through_sql(node):
    node.execute("INSERT INTO root.sg.d1(time, s1) VALUES (2023-08-22T00:00:00+00:00, 1.0)")
    node.execute("INSERT INTO root.sg.d1(time, s1) VALUES (2023-09-01T00:00:00+00:00, 2.0)")
    node.execute("FLUSH")
    node.execute(
        "create pipe A2B WITH SOURCE ('source'= 'iotdb-source', "
        "'source.realtime.mode'='hybrid', "
        "'source.realtime.enable'='false', "
        "'source.history.start-time' = '2023.08.23T08:00:00+00:00', "
        "'source.history.end-time' = '2023.10.23T08:00:00+00:00') "
        "with SINK ('sink'='recording-sink', 'sink.name'='seed')"
    )
    rec = recording("seed")
    wait_until(lambda: len(rec.points) == 1, what="the range only")
    assert rec.point_set() == {("root.sg.d1.s1", 1693526400000, 2.0)}
    table = node.execute("SHOW PIPES")
    row = dict(zip(table.columns, table.rows[0], strict=True))
    assert row["ID"] == "A2B" and row["State"] == "RUNNING"
    wait_until(lambda: node.get_pipe("A2B").facts.remaining_event_count == 0)
    row = dict(zip(table.columns, node.execute("SHOW PIPES").rows[0], strict=True))
    assert row["RemainingEventCount"] == "0"


def test_an_idle_stream_pipe_delivers_a_new_write_at_once(node):
    """The store wakes the source when a write lands (`subscribe(on_event=...)`): an idle
    pipe does not wait for its next poll (the runtime backs an idle source off up to 100 ms,
    so without the wake-up a write waits for a random part of that)."""
    store = node.store
    node.create_pipe(
        "idle", {"source": "iotdb-source", "realtime.mode": "stream"}, {}, {**SINK, "name": "idle"}
    )
    rec = recording("idle")
    delays = []
    for k in range(20):
        time.sleep(0.3)  # long enough for the poll back-off to reach its maximum
        before = len(rec.point_set())
        started = time.monotonic()
        _write(store, "root.idle.d", k * 10, 1)
        while len(rec.point_set()) <= before:
            assert time.monotonic() - started < 10, "the write never arrived"
            time.sleep(0.0005)
        delays.append(time.monotonic() - started)
    delays.sort()
    assert delays[15] < 0.02, [round(d * 1000, 1) for d in delays]
