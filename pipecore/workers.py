"""The subtask executor: a bounded pool of worker threads shared by every pipe of a node.

A *subtask* is an object with a ``run_subtask() -> float | None`` method that does a bounded
slice of work and returns what should happen next: ``0`` — run me again soon (more work is
ready), a positive number — wake me after that many seconds, ``None`` — park until someone
calls `SubtaskExecutor.wake`. A subtask is never run by two threads at once; a wake while it
runs makes it run again right after.

One extra thread keeps the timers (`call_later`): it only wakes subtasks and queues jobs, so a
plugin stuck in a call cannot delay it. `abandon_current_worker` lets a watchdog give up on a
worker stuck in a plugin call: a fresh worker takes its place so the pool keeps its size, and
the stuck thread exits when the call returns.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

__all__ = ["Subtask", "SubtaskExecutor", "TimerHandle"]

log = logging.getLogger(__name__)

_IDLE, _QUEUED, _RUNNING, _RERUN = range(4)


class Subtask(Protocol):
    def run_subtask(self) -> float | None: ...


class TimerHandle:
    __slots__ = ("cancelled", "deadline", "fn")

    def __init__(self, deadline: float, fn: Callable[[], None]) -> None:
        self.deadline = deadline
        self.fn = fn
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class _Job:
    """A one-shot callable queued like a subtask."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[], None]) -> None:
        self.fn = fn

    def run_subtask(self) -> float | None:
        self.fn()
        return None


class SubtaskExecutor:
    def __init__(self, max_threads: int, name: str = "pipecore") -> None:
        if max_threads < 1:
            raise ValueError("the executor needs at least one thread")
        self.max_threads = max_threads
        self.name = name
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)  # workers wait here for ready subtasks
        self._timer_cond = threading.Condition(self._lock)  # the timer thread waits here
        self._idle_cond = threading.Condition(self._lock)  # `cancel` waits here
        self._idle_waiters = 0
        self._ready: deque[Subtask] = deque()
        self._state: dict[int, int] = {}  # id(subtask) -> state
        self._running: dict[int, threading.Thread] = {}  # id(subtask) -> worker running it
        self._timers: list[tuple[float, int, TimerHandle]] = []
        self._seq = itertools.count()
        self._workers: set[threading.Thread] = set()
        self._abandoned: set[threading.Thread] = set()
        self._closed = False
        self._worker_ids = itertools.count(1)
        for _ in range(max_threads):
            self._spawn_worker()
        self._timer_thread = threading.Thread(
            target=self._timer_loop, name=f"{name}-timer", daemon=True
        )
        self._timer_thread.start()

    # ------------------------------------------------------------------ public API
    def wake(self, subtask: Subtask) -> None:
        """Have `subtask` run soon (no-op when it is queued already)."""
        with self._cond:
            self._wake_locked(subtask)

    def submit(self, fn: Callable[[], None]) -> None:
        """Run `fn` once on a worker thread."""
        with self._cond:
            if self._closed:
                return
            self._ready.append(_Job(fn))
            self._cond.notify()

    def call_later(self, delay: float, fn: Callable[[], None]) -> TimerHandle:
        """Call `fn` on the timer thread after `delay` seconds. `fn` must be quick (wake a
        subtask, `submit` a job); cancel with the returned handle."""
        handle = TimerHandle(time.monotonic() + max(0.0, delay), fn)
        with self._cond:
            heapq.heappush(self._timers, (handle.deadline, next(self._seq), handle))
            self._timer_cond.notify()
        return handle

    def wake_later(self, delay: float, subtask: Subtask) -> TimerHandle:
        return self.call_later(delay, lambda: self.wake(subtask))

    def cancel(self, subtask: Subtask, timeout: float | None = None) -> bool:
        """Unqueue `subtask` and wait until no worker runs it (a worker that was abandoned
        does not count). Returns False if it was still running after `timeout`."""
        key = id(subtask)
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            if self._state.get(key) == _QUEUED:
                with contextlib.suppress(ValueError):
                    self._ready.remove(subtask)
            while key in self._running and self._running[key] not in self._abandoned:
                if self._running[key] is threading.current_thread():
                    break  # cancelled from inside its own run: it simply won't be rescheduled
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._idle_waiters += 1
                try:
                    self._idle_cond.wait(left)
                finally:
                    self._idle_waiters -= 1
            self._state.pop(key, None)
            return True

    def is_running(self, subtask: Subtask) -> bool:
        with self._cond:
            return id(subtask) in self._running

    def abandon_worker_of(self, subtask: Subtask) -> bool:
        """Give up on the worker running `subtask` (stuck in a plugin call): start a new worker
        in its place. The stuck thread exits once the call returns."""
        with self._cond:
            thread = self._running.get(id(subtask))
            if thread is None or thread in self._abandoned:
                return False
            self._abandoned.add(thread)
            self._workers.discard(thread)
            self._state[id(subtask)] = _IDLE
            self._running.pop(id(subtask), None)
            if not self._closed:
                self._spawn_worker()
            self._idle_cond.notify_all()
            return True

    def shutdown(self, timeout: float = 10.0) -> list[threading.Thread]:
        """Stop every thread; return those still alive after `timeout` (abandoned workers
        stuck in a plugin call)."""
        with self._cond:
            self._closed = True
            self._ready.clear()
            self._timers.clear()
            self._cond.notify_all()
            self._timer_cond.notify_all()
            self._idle_cond.notify_all()
            threads = [*self._workers, *self._abandoned, self._timer_thread]
        deadline = time.monotonic() + timeout
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))
        return [t for t in threads if t.is_alive()]

    @property
    def closed(self) -> bool:
        return self._closed

    # ------------------------------------------------------------------ internals
    def _wake_locked(self, subtask: Subtask) -> None:
        if self._closed:
            return
        key = id(subtask)
        state = self._state.get(key, _IDLE)
        if state == _IDLE:
            self._state[key] = _QUEUED
            self._ready.append(subtask)
            self._cond.notify()
        elif state == _RUNNING:
            self._state[key] = _RERUN

    def _spawn_worker(self) -> None:
        thread = threading.Thread(
            target=self._worker_loop,
            name=f"{self.name}-worker-{next(self._worker_ids)}",
            daemon=True,
        )
        self._workers.add(thread)
        thread.start()

    def _next(self) -> Subtask | None:
        with self._cond:
            while not self._ready:
                if self._closed or threading.current_thread() in self._abandoned:
                    return None
                self._cond.wait()
            item = self._ready.popleft()
            if not isinstance(item, _Job):
                self._state[id(item)] = _RUNNING
                self._running[id(item)] = threading.current_thread()
            return item

    def _worker_loop(self) -> None:
        me = threading.current_thread()
        while True:
            item = self._next()
            if item is None:
                return
            try:
                after = item.run_subtask()
            except Exception:  # a subtask handles its plugin's errors; this is a bug guard
                log.exception("subtask %r raised", item)
                after = None
            if not isinstance(item, _Job):
                self._finish(item, after, me)
            if me in self._abandoned:
                with self._lock:
                    self._abandoned.discard(me)  # the stuck call returned: this thread ends
                return

    def _finish(self, item: Subtask, after: float | None, me: threading.Thread) -> None:
        key = id(item)
        with self._lock:
            if self._idle_waiters:
                self._idle_cond.notify_all()
            if self._running.get(key) is me:
                del self._running[key]
            elif me in self._abandoned:
                return  # the subtask was given up on; whoever owns it now decides
            state = self._state.get(key)
            if state is None:  # cancelled while running
                return
            self._state[key] = _IDLE
            if state == _RERUN or after == 0:
                self._wake_locked(item)
            elif after is not None and after > 0:
                handle = TimerHandle(time.monotonic() + after, lambda: self.wake(item))
                heapq.heappush(self._timers, (handle.deadline, next(self._seq), handle))
                self._timer_cond.notify()

    def _timer_loop(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._closed:
                        return
                    now = time.monotonic()
                    if self._timers and self._timers[0][0] <= now:
                        handle = heapq.heappop(self._timers)[2]
                        break
                    wait = self._timers[0][0] - now if self._timers else None
                    self._timer_cond.wait(wait)
            if not handle.cancelled:
                try:
                    handle.fn()
                except Exception:
                    log.exception("timer callback %r raised", handle.fn)
