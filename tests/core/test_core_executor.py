"""The shared subtask executor: bounded threads, wake/re-run semantics, timers, cancel,
replacing a worker stuck in a plugin call, shutdown."""

from __future__ import annotations

import threading
import time

from pipecore.workers import SubtaskExecutor


class Recorder:
    def __init__(self, after=None, block: threading.Event | None = None) -> None:
        self.runs = 0
        self.threads: set[str] = set()
        self.after = after
        self.block = block
        self.running = threading.Event()
        self.concurrent = 0
        self.max_concurrent = 0
        self.lock = threading.Lock()

    def run_subtask(self):
        with self.lock:
            self.concurrent += 1
            self.max_concurrent = max(self.max_concurrent, self.concurrent)
        self.running.set()
        self.runs += 1
        self.threads.add(threading.current_thread().name)
        if self.block is not None:
            self.block.wait(10)
        time.sleep(0.001)
        with self.lock:
            self.concurrent -= 1
        return self.after(self) if callable(self.after) else self.after


def wait_for(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def test_a_subtask_never_runs_twice_at_once_and_a_wake_while_running_reruns_it() -> None:
    executor = SubtaskExecutor(2, "t-exec")
    try:
        gate = threading.Event()
        task = Recorder(block=gate)
        executor.wake(task)
        task.running.wait(2)
        for _ in range(5):
            executor.wake(task)  # while it runs: one re-run, not five, not in parallel
        task.block = None
        gate.set()
        wait_for(lambda: task.runs == 2 and not executor.is_running(task))
        time.sleep(0.05)
        assert task.runs == 2 and task.max_concurrent == 1
    finally:
        assert executor.shutdown(5) == []


def test_return_values_reschedule_now_later_or_never() -> None:
    executor = SubtaskExecutor(1, "t-exec")
    try:
        again = Recorder(after=lambda r: 0 if r.runs < 10 else None)
        executor.wake(again)
        wait_for(lambda: again.runs == 10)
        later = Recorder(after=lambda r: 0.1 if r.runs == 1 else None)
        started = time.monotonic()
        executor.wake(later)
        wait_for(lambda: later.runs == 2)
        assert time.monotonic() - started >= 0.09
        fired = threading.Event()
        executor.call_later(0.02, fired.set)
        wrongly = threading.Event()
        executor.call_later(0.02, wrongly.set).cancel()
        assert fired.wait(2)
        time.sleep(0.05)
        assert not wrongly.is_set()
    finally:
        assert executor.shutdown(5) == []


def test_cancel_waits_for_the_running_subtask_and_unqueues_it() -> None:
    executor = SubtaskExecutor(1, "t-exec")
    try:
        gate = threading.Event()
        busy = Recorder(block=gate)
        queued = Recorder()
        executor.wake(busy)
        busy.running.wait(2)
        executor.wake(queued)  # waits behind `busy` on the only worker
        assert executor.cancel(queued, 1)
        assert executor.cancel(busy, 0.05) is False  # still running
        threading.Timer(0.05, gate.set).start()
        assert executor.cancel(busy, 2) is True
        time.sleep(0.05)
        assert queued.runs == 0
    finally:
        assert executor.shutdown(5) == []


def test_a_stuck_worker_is_replaced_and_the_pool_keeps_its_size() -> None:
    executor = SubtaskExecutor(1, "t-exec")
    gate = threading.Event()
    stuck = Recorder(block=gate)
    executor.wake(stuck)
    stuck.running.wait(2)
    assert executor.abandon_worker_of(stuck)
    other = Recorder()
    executor.wake(other)
    wait_for(lambda: other.runs == 1)  # a fresh worker ran it while the first is stuck
    assert other.threads.isdisjoint(stuck.threads)
    gate.set()
    assert executor.shutdown(5) == []
    assert not [t for t in threading.enumerate() if t.name.startswith("t-exec")]
