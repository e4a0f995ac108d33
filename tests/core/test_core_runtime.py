"""The runtime: every point accounted for, commit in order, back-pressure, heartbeats, failures
contained, timeouts, retries, automatic restart, no thread left behind."""

from __future__ import annotations

import threading
import time
import tracemalloc
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

import pipecore
from pipecore import Extractor, TabletInsertionEvent, hookimpl
from pipecore.pipe_catalog import read_json
from pipecore.testing import plugins

MILLION = 1_000_000


def _source(points: int, **extra: str) -> dict[str, str]:
    return {"source": "generated-source", "source.points": str(points), **extra}


def _expected_rows(devices: int, rows: int, per_tablet: int) -> dict[str, int]:
    """Rows per device the generated source produces (tablets go round-robin over devices)."""
    per_device = dict.fromkeys((f"root.generated.d{d}" for d in range(devices)), 0)
    done, k = 0, 0
    while done < rows:
        n = min(per_tablet, rows - done)
        per_device[f"root.generated.d{k % devices}"] += n
        done, k = done + n, k + 1
    return per_device


def _check_exact(tablets: list, devices: int, rows: int, per_tablet: int) -> None:
    """Every (device, time) exactly once, every value right."""
    expected = _expected_rows(devices, rows, per_tablet)
    by_device: dict[str, list] = {}
    for t in tablets:
        by_device.setdefault(t.device, []).append(t)
    assert set(by_device) == set(expected)
    for device, parts in by_device.items():
        times = np.concatenate([t.timestamps for t in parts])
        assert np.array_equal(np.sort(times), np.arange(expected[device])), device
        for j in range(len(parts[0].columns)):
            values = np.concatenate([t.columns[j] for t in parts])
            assert np.array_equal(values, times.astype(np.float64) * (j + 1))


def test_a_million_points_through_do_nothing_processor_to_a_counting_sink(open_node, wait):
    node = open_node()
    plugins.reset("million")
    node.create_pipe(
        "million",
        _source(
            MILLION,
            **{"source.devices": "4", "source.measurements": "2", "source.rows-per-tablet": "2000"},
        ),
        {"processor": "do-nothing-processor"},
        {"sink": "counting-sink", "sink.counter": "million"},
    )
    counts = plugins.counts("million")
    wait(lambda: counts.points >= MILLION)
    info = wait(lambda: (i := node.get_pipe("million")).facts.remaining_event_count == 0 and i)
    assert (counts.points, counts.rows, counts.tablets) == (MILLION, MILLION // 2, 250)
    assert info.facts.committed_commit_id == 250
    assert info.state == "RUNNING" and info.exceptions == ()


def test_a_million_points_arrive_exactly_once_with_their_values(open_node, wait) -> None:
    node = open_node()
    plugins.reset("exact")
    node.create_pipe(
        "exact",
        _source(MILLION, **{"source.devices": "3", "source.rows-per-tablet": "4999"}),
        None,
        {"sink": "collecting-sink", "sink.collector": "exact"},
    )
    tablets = plugins.collected("exact")
    wait(lambda: sum(t.row_count for t in tablets) >= MILLION)
    _check_exact(list(tablets), 3, MILLION, 4999)


def test_commits_advance_in_order_and_progress_is_persisted(open_node, wait) -> None:
    node = open_node()
    plugins.reset("order")
    node.create_pipe(
        "order",
        _source(50_000, **{"source.rows-per-tablet": "500"}),
        None,
        {"sink": "counting-sink", "sink.counter": "order"},
    )
    counts = plugins.counts("order")
    wait(lambda: counts.points == 50_000)
    ids = counts.last_commit_ids
    assert ids == sorted(ids) and len(set(ids)) == len(ids) and ids[-1] == 100
    meta_file = next(node.catalog.meta_dir.glob("order.json"))
    meta = wait(lambda: (m := read_json(meta_file))["commit_id"] == 100 and m)
    assert meta["progress"]["rows"] == 50_000


def test_a_restart_resumes_from_the_committed_progress(open_node, wait) -> None:
    plugins.reset("resume")
    node = open_node()
    node.create_pipe(
        "resume",
        _source(100_000, **{"source.devices": "2", "source.rows-per-tablet": "1000"}),
        None,
        {"sink": "collecting-sink", "sink.collector": "resume", "sink.delay-ms": "3"},
    )
    tablets = plugins.collected("resume")
    wait(lambda: len(tablets) >= 30)
    node.close()  # stops mid-way, saving the committed progress
    first_run = len(tablets)
    assert first_run < 100
    node = open_node()
    wait(lambda: sum(t.row_count for t in tablets) >= 100_000, 60)
    wait(lambda: node.get_pipe("resume").facts.remaining_event_count == 0)
    rows = {(t.device, int(x)) for t in tablets for x in t.timestamps}
    assert len(rows) == 100_000  # nothing lost
    assert len(tablets) <= 100 + 5  # resumed, not restarted from scratch (few duplicates)


def test_a_slow_sink_applies_back_pressure_and_memory_stays_bounded(open_node, wait) -> None:
    max_bytes = 1 << 20
    node = open_node(
        pipe_sink_pending_queue_max_events=8, pipe_sink_pending_queue_max_bytes=max_bytes
    )
    plugins.reset("slow")
    tablet_bytes = 20_000 * 16  # timestamps + one DOUBLE column per tablet
    tracemalloc.start()
    try:
        node.create_pipe(
            "slow",
            _source(120 * 20_000, **{"source.rows-per-tablet": "20000"}),
            None,
            {"sink": "counting-sink", "sink.counter": "slow", "sink.delay-ms": "4"},
        )
        task = node.pipes.task("slow")
        counts = plugins.counts("slow")
        peak_queue = 0
        blocked_seen = False
        while counts.tablets < 120:
            peak_queue = max(peak_queue, task.queue.nbytes)
            if counts.tablets < 100:
                blocked_seen = blocked_seen or task.facts().back_pressured
            assert task.supplied - counts.tablets <= 8 + 2  # the source is held back
            time.sleep(0.002)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert blocked_seen  # sources can see it (a hybrid source switches to files)
    assert peak_queue <= max_bytes + tablet_bytes + 4096
    # unbounded, the 120 tablets (38 MB) would all be in memory before the sink caught up
    assert peak < 12 * (1 << 20)


def test_heartbeats_reach_the_sink(open_node, wait) -> None:
    node = open_node(pipe_subtask_executor_cron_heartbeat_event_interval_seconds=0.02)
    plugins.reset("beat")
    node.create_pipe(
        "beat",
        {"source": "do-nothing-source"},
        None,
        {"sink": "counting-sink", "sink.counter": "beat"},
    )
    counts = plugins.counts("beat")
    wait(lambda: counts.heartbeats >= 3)
    assert counts.tablets == 0 and counts.others == 0


@pytest.mark.parametrize(
    ("source", "processor", "sink", "expected"),
    [
        (
            _source(10_000, **{"source.rows-per-tablet": "100"}),
            None,
            {"sink": "failing-sink", "sink.fail-at": "3"},
            "sink FAILING-SINK failed in connector_transfer_tablet: ValueError: boom at tablet 3",
        ),
        (
            {"source": "failing-source"},
            None,
            {"sink": "do-nothing-sink"},
            "source FAILING-SOURCE failed in extractor_supply: RuntimeError: source broke",
        ),
        (
            _source(1000),
            {"processor": "failing-processor"},
            {"sink": "do-nothing-sink"},
            "processor FAILING-PROCESSOR failed in processor_process_tablet: KeyError",
        ),
    ],
)
def test_a_raising_plugin_stops_only_its_pipe(
    open_node, wait, source, processor, sink, expected
) -> None:
    node = open_node()
    plugins.reset("healthy")
    node.create_pipe(
        "healthy",
        _source(60_000, **{"source.rows-per-tablet": "100"}),
        None,
        {"sink": "counting-sink", "sink.counter": "healthy", "sink.delay-ms": "0.1"},
    )
    before = time.time() * 1000
    node.create_pipe("bad", source, processor, sink)
    info = wait(lambda: (i := node.get_pipe("bad")).state == "STOPPED" and i)
    assert info.stopped_by_runtime_exception
    (record,) = info.exceptions
    assert record.message.startswith(expected), record.message
    assert before - 1000 <= record.time <= time.time() * 1000
    wait(lambda: plugins.counts("healthy").points == 60_000)
    assert node.get_pipe("healthy").state == "RUNNING"


def test_a_sink_hanging_past_the_timeout_stops_its_pipe_only(open_node, wait, control) -> None:
    node = open_node(pipe_sink_timeout_ms=300)
    plugins.reset("alive")
    node.create_pipe("hung", _source(1000), None, {"sink": "hanging-sink"})
    started = time.monotonic()
    info = wait(lambda: (i := node.get_pipe("hung")).state == "STOPPED" and i, 10)
    assert 0.25 < time.monotonic() - started < 5
    assert "did not return from a transfer within pipe_sink_timeout_ms=300" in (
        info.exceptions[0].message
    )
    # the stuck worker was replaced: other pipes still have the whole pool
    node.create_pipe(
        "alive", _source(50_000), None, {"sink": "counting-sink", "sink.counter": "alive"}
    )
    wait(lambda: plugins.counts("alive").points == 50_000)
    hanging = control["hanging"]
    assert all(s.released.is_set() for s in hanging[1:])  # close() unblocked the transfer


def _pipecore_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("pipecore")]


def test_the_pool_is_shared_and_close_leaves_no_thread(open_node, wait) -> None:
    before = _pipecore_threads()
    node = open_node(pipe_sink_timeout_ms=200)
    for i in range(8):
        node.create_pipe(
            f"p{i}", _source(20_000), None, {"sink": "counting-sink", "sink.counter": f"pool{i}"}
        )
    node.create_pipe("hung", _source(1000), None, {"sink": "hanging-sink"})
    store = {"pipecore-flush", "pipecore-wal-fsync"}  # the node's store (issue 5) has its own
    threads = [t for t in _pipecore_threads() if t not in before and t.name not in store]
    assert len(threads) == node.config.pipe.subtask_thread_count + 1  # workers + the timer
    wait(lambda: node.get_pipe("hung").state == "STOPPED")
    for i in range(8):
        wait(lambda i=i: plugins.counts(f"pool{i}").points == 20_000)
    node.close()
    wait(lambda: [t for t in _pipecore_threads() if t not in before] == [], 5)


def test_connection_errors_are_retried_with_a_handshake(open_node, wait, control) -> None:
    node = open_node()
    node.create_pipe(
        "flaky",
        _source(10_000),
        None,
        {"sink": "flaky-sink", "sink.failures": "3", "sink.name": "f1"},
    )
    wait(lambda: control["f1"]["points"] == 10_000)
    info = node.get_pipe("flaky")
    assert info.state == "RUNNING" and info.exceptions == ()
    assert control["f1"]["handshakes"] == 2 + 3  # CREATE's check, start, one per retry


def test_connection_errors_stop_the_pipe_when_not_retried_locally(open_node, wait, control) -> None:
    node = open_node(pipe_sink_retry_locally_for_connection_error=False)
    node.create_pipe(
        "flaky",
        _source(10_000),
        None,
        {"sink": "flaky-sink", "sink.failures": "100", "sink.name": "f2"},
    )
    info = wait(lambda: (i := node.get_pipe("flaky")).state == "STOPPED" and i)
    assert "PipeConnectionError: target unreachable" in info.exceptions[0].message
    assert control["f2"]["handshakes"] == 2 + 5


def test_error_stopped_pipes_restart_after_the_back_off_but_user_stopped_never(
    open_node, wait, control
):
    node = open_node(
        pipe_auto_restart_enabled=True,
        pipe_meta_syncer_initial_sync_delay_minutes=0,
        pipe_meta_syncer_sync_interval_minutes=0.005,  # 0.3 s
    )
    control["switch-fail"] = True
    node.create_pipe("auto", _source(1000), None, {"sink": "switch-sink"})
    node.create_pipe("user", _source(1000), None, {"sink": "switch-sink"})
    wait(lambda: node.get_pipe("auto").state == node.get_pipe("user").state == "STOPPED")
    failed_at = time.monotonic()
    node.stop_pipe("user")  # a user STOP: never restarted, even though an error stopped it
    control["switch-fail"] = False
    info = wait(lambda: (i := node.get_pipe("auto")).state == "RUNNING" and i, 10)
    assert time.monotonic() - failed_at >= 0.2
    assert info.exceptions == () and not info.stopped_by_runtime_exception
    time.sleep(0.5)
    assert node.get_pipe("user").state == "STOPPED"


def test_a_failed_restart_is_recorded_and_tried_again(open_node, wait, control) -> None:
    node = open_node(
        pipe_auto_restart_enabled=True,
        pipe_meta_syncer_initial_sync_delay_minutes=0,
        pipe_meta_syncer_sync_interval_minutes=0.002,
    )
    control["switch-fail"] = True
    node.create_pipe("again", _source(1000), None, {"sink": "switch-sink"})
    wait(lambda: node.get_pipe("again").state == "STOPPED")
    control["switch-fail-handshake"] = True
    wait(lambda: any("handshake refused" in e.message for e in node.get_pipe("again").exceptions))
    assert node.get_pipe("again").state == "STOPPED"
    control["switch-fail-handshake"] = control["switch-fail"] = False
    wait(lambda: node.get_pipe("again").state == "RUNNING", 10)


def test_remaining_events_and_eta_are_counted(open_node, wait) -> None:
    node = open_node()
    plugins.reset("eta")
    node.create_pipe(
        "eta",
        _source(40_000, **{"source.rows-per-tablet": "1000"}),
        None,
        {"sink": "counting-sink", "sink.counter": "eta", "sink.delay-ms": "15"},
    )
    counts = plugins.counts("eta")
    wait(lambda: counts.tablets >= 10)
    facts = node.get_pipe("eta").facts
    assert 0 < facts.remaining_event_count <= 40 - counts.tablets + 1
    assert facts.events_per_second > 0
    assert facts.estimated_remaining_seconds is not None
    assert 0 < facts.estimated_remaining_seconds < 10
    wait(lambda: node.get_pipe("eta").facts.remaining_event_count == 0)


class Tracking(Extractor):
    """Supplies 50 one-row tablets, progress = index; records commit notifications."""

    commits: ClassVar[list[tuple[int, object, str]]] = []

    def extractor_customize(self, parameters, configuration) -> None:
        self.next = (configuration.progress or 0) + 1
        Tracking.commits.append((configuration.commit_id, configuration.progress, "customize"))

    def extractor_supply(self):
        if self.next > 50:
            return None
        schema = pipecore.MeasurementSchema("s", pipecore.TSDataType.INT64)
        tablet = pipecore.Tablet("root.t.d", [schema], [self.next], [[self.next]])
        self.next += 1
        return TabletInsertionEvent(tablet, progress=self.next - 1)

    def extractor_commit(self, commit_id: int, progress: object) -> None:
        Tracking.commits.append((commit_id, progress, threading.current_thread().name))


class TrackingPlugin:
    @hookimpl
    def register_pipe_plugins(self, register) -> None:
        register("source", "tracking-source", Tracking)


def test_the_source_is_told_of_commits_in_order_and_resumes(tmp_path: Path, wait) -> None:
    Tracking.commits = []
    config = {"pipe_heartbeat_interval_seconds_for_collecting_pipe_meta": 0.01}
    with pipecore.Node.open(tmp_path, config, plugins=[TrackingPlugin(), plugins]) as node:
        node.create_pipe(
            "t",
            {"source": "tracking-source"},
            None,
            {"sink": "counting-sink", "sink.counter": "track", "delay-ms": "1"},
        )
        wait(lambda: Tracking.commits[-1][:2] == (50, 50))
    commits = [c for c in Tracking.commits if c[2] != "customize"]
    assert [c[0] for c in commits] == sorted({c[0] for c in commits})  # increasing, no repeats
    assert all(cid == progress for cid, progress, _ in commits)
    Tracking.commits = []
    with pipecore.Node.open(tmp_path, config, plugins=[TrackingPlugin(), plugins]) as node:
        assert Tracking.commits[0] == (50, 50, "customize")  # resumes from the durable point
        node.drop_pipe("t")


class EagerWaker(Extractor):
    """Calls `wakeup()` while it starts (as a source subscribed to a busy store does from the
    writers' threads), then waits so the executor can act on it before the pipe is bound."""

    def extractor_customize(self, parameters, configuration) -> None:
        self.configuration = configuration
        self.sent = False

    def extractor_start(self) -> None:
        self.configuration.wakeup()
        time.sleep(0.2)

    def extractor_supply(self):
        if self.sent:
            return None
        self.sent = True
        schema = pipecore.MeasurementSchema("s", pipecore.TSDataType.INT64)
        return TabletInsertionEvent(pipecore.Tablet("root.w.d", [schema], [1], [[1]]))


class EagerWakerPlugin:
    @hookimpl
    def register_pipe_plugins(self, register) -> None:
        register("source", "eager-waker-source", EagerWaker)


def test_a_wakeup_before_the_pipe_has_started_is_harmless(tmp_path: Path, wait) -> None:
    with pipecore.Node.open(tmp_path, plugins=[EagerWakerPlugin(), plugins]) as node:
        node.create_pipe(
            "w",
            {"source": "eager-waker-source"},
            None,
            {"sink": "counting-sink", "sink.counter": "w"},
        )
        counts = plugins.counts("w")
        wait(lambda: counts.points == 1)
        info = node.get_pipe("w")
        assert info.state == "RUNNING" and info.exceptions == (), info.exceptions
