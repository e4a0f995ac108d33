"""What a pipe's source sees: ordered events with sequence numbers, gaps, replay, origins, pins."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

from pipecore_storage import MeasurementSchema, Origin, Tablet
from pipecore_storage.files import PinError
from pipecore_storage.listeners import (
    GapEvent,
    InsertEvent,
    StoreDeletion,
    TsFileSealedEvent,
)


def _tablet(device, times, name="v"):
    times = np.asarray(times, np.int64)
    return Tablet(device, [MeasurementSchema(name, "INT64")], times, [times * 10])


def test_events_arrive_in_order_with_their_sequence_numbers(open_store):
    s = open_store()
    sub = s.subscribe("p1")
    a = s.insert_tablet(_tablet("root.sg.d", [1, 2]))
    b = s.insert_tablet(_tablet("root.sg.d", [3]), origin=Origin.pipe("cluster-A"))
    (f,) = s.flush()
    d = s.delete("root.sg.d.v", 0, 1)
    events = sub.drain()
    assert [type(e) for e in events] == [InsertEvent, InsertEvent, TsFileSealedEvent, StoreDeletion]
    seqs = [e.seq for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == 4
    assert (events[0].seq, events[1].seq, events[3].seq) == (a, b, d)
    assert events[0].tablet.timestamps.tolist() == [1, 2] and events[0].database == "root.sg"
    assert events[1].origin == Origin(True, "cluster-A")
    sealed = events[2]
    assert sealed.file is f and (sealed.min_seq, sealed.max_seq) == (a, b)
    assert sealed.file.device_times == {"root.sg.d": (1, 3)}
    assert not sealed.origin.generated_by_pipe  # mixed file: conservatively a client file
    assert (events[3].pattern, events[3].start, events[3].end) == ("root.sg.d.v", 0, 1)
    assert sub.get(timeout=0.01) is None
    sub.close()
    s.insert_tablet(_tablet("root.sg.d", [9]))
    assert sub.get(timeout=0) is None


def test_a_file_written_only_by_pipes_says_so(open_store):
    s = open_store()
    s.insert_tablet(_tablet("root.sg.d", [1]), origin=Origin.pipe("c9"))
    s.insert_tablet(_tablet("root.sg.d", [2]), origin=Origin.pipe("c9"))
    (f,) = s.flush()
    assert f.origin == Origin(True, "c9")
    s.close()
    s = open_store()
    (f,) = s.sealed_files()
    assert f.origin == Origin(True, "c9")  # persisted in the .meta side file


def test_a_slow_subscriber_never_blocks_writers_and_is_told_what_it_lost(open_store):
    s = open_store()
    sub = s.subscribe("slow", capacity_events=3)
    seqs = [s.insert_tablet(_tablet("root.sg.d", [k])) for k in range(10)]
    assert sub.lagging
    events = sub.drain()
    assert [e.seq for e in events[:3]] == seqs[:3]
    (gap,) = events[3:]
    assert isinstance(gap, GapEvent) and (gap.first_seq, gap.last_seq) == (seqs[3], seqs[9])
    assert not sub.lagging
    # the lost writes are still in the memtable (replay) or in the files that cover them
    replayed = [e.seq for e in s.replay(gap.first_seq) if isinstance(e, InsertEvent)]
    assert replayed == seqs[3:]
    files = s.flush()
    assert s.files_covering(gap.first_seq, gap.last_seq) == files
    # a gap reported before the next event that fits
    for k in range(20, 25):
        s.insert_tablet(_tablet("root.sg.d", [k]))
    first = sub.drain()
    assert isinstance(first[0], TsFileSealedEvent)


def test_byte_capacity_bounds_the_queue(open_store):
    s = open_store()
    sub = s.subscribe("bytes", capacity_bytes=1)
    s.insert_tablet(_tablet("root.sg.d", range(100)))  # one event always fits an empty queue
    s.insert_tablet(_tablet("root.sg.d", range(100, 200)))
    events = sub.drain()
    assert isinstance(events[0], InsertEvent) and isinstance(events[1], GapEvent)


def test_resume_after_restart_replays_from_a_sequence_number(open_store):
    s = open_store()
    s.insert_tablet(_tablet("root.sg.d", [1]))
    s.flush()
    mid = s.insert_tablet(_tablet("root.sg.d", [2]))
    s.delete("root.sg.d.v", 1, 1)
    s.insert_tablet(_tablet("root.sg.d", [3]))
    s._abandon()
    s = open_store()
    sub = s.subscribe("resume", replay_from=mid)
    events = sub.drain()
    assert [type(e).__name__ for e in events] == ["InsertEvent", "StoreDeletion", "InsertEvent"]
    assert events[0].seq == mid and events[0].tablet.timestamps.tolist() == [2]
    from_start = s.subscribe("from-start", replay_from=0).drain()
    assert [type(e).__name__ for e in from_start] == [
        "TsFileSealedEvent",
        "InsertEvent",
        "StoreDeletion",
        "InsertEvent",
    ]
    later = s.insert_tablet(_tablet("root.sg.d", [4]))
    assert sub.get(timeout=1).seq == later


def test_listeners_see_every_write_of_concurrent_writers_in_order(open_store):
    s = open_store()
    sub = s.subscribe("all", capacity_events=100000)

    def work(w):
        for k in range(50):
            s.insert_tablet(_tablet(f"root.sg.w{w}", [k]))

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seqs = [e.seq for e in sub.drain()]
    assert len(seqs) == 200 and seqs == sorted(seqs)


def test_pins_keep_files_a_pipe_has_not_sent(open_store, tmp_path):
    s = open_store()
    s.insert_tablet(_tablet("root.sg.d", [1, 2]))
    (f,) = s.flush()
    s.delete("root.sg.d.v", 1, 1)
    pinned = s.pin(f, "pipe1")
    assert pinned == tmp_path / "store/pipe/pipe1/data/sequence/root.sg/0/0" / f.name
    assert os.path.samefile(pinned, f.path)
    assert os.path.samefile(str(pinned) + ".mods", f.mods_path)
    assert os.path.exists(str(pinned) + ".resource")
    s.pin(f.path, "pipe2")
    s.delete_database("root.sg")
    assert not f.path.exists() and pinned.exists()  # the pipe can still send it
    assert s.pinned("pipe1") == [pinned]
    assert s.unpin(pinned, "pipe1")
    assert not pinned.exists() and s.pinned("pipe1") == []
    s.unpin_all("pipe2")
    assert s.pinned("pipe2") == []
    with pytest.raises(PinError):
        s.pin(tmp_path / "nope.tsfile", "pipe1")
    with pytest.raises(PinError):
        s.pinned("../x")


def test_a_pinned_file_reads_back_as_tablets_with_its_deletions(open_store):
    s = open_store()
    s.insert_tablet(_tablet("root.sg.d", range(10)))
    s.insert_tablet(_tablet("root.sg.e", range(5), name="w"))
    (f,) = s.flush()
    s.delete("root.sg.d.v", 2, 4)
    pinned = s.pin(f, "p")
    for source in (f, pinned):
        tablets = list(s.read_sealed(source, "root.sg.d.*", start=1, end=8))
        assert [t.device for t in tablets] == ["root.sg.d"]
        assert tablets[0].timestamps.tolist() == [1, 5, 6, 7, 8]
        assert tablets[0].columns[0].tolist() == [10, 50, 60, 70, 80]
    everything = list(s.read_sealed(pinned))
    assert sorted(t.device for t in everything) == ["root.sg.d", "root.sg.e"]
    s.delete("root.sg.**")  # the whole file deleted: nothing left to send
    assert list(s.read_sealed(pinned)) == []
