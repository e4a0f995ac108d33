"""The batch flusher both thrift sinks share: one daemon thread that sleeps until the current
batch's ``batch.max-delay-seconds`` has passed (or a held batch's back-off has ended) and then
lets the sink flush it.

The sink owns the batch and the lock; the flusher only waits on the sink's condition and asks
two questions of it: *when* is something next due (`next_due`, a ``time.monotonic()`` instant,
or None when nothing is batched) and *flush now* (`flush`; returning False ends the thread).
A sink notifies the condition when a new batch starts, when it reconnects and when it closes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["BatchFlusher"]


class BatchFlusher:
    """The flusher thread of one sink (see the module docstring)."""

    def __init__(
        self,
        name: str,
        condition: threading.Condition,
        next_due: Callable[[], float | None],
        flush: Callable[[], bool | None],
        closed: Callable[[], bool],
    ) -> None:
        self._condition = condition
        self._next_due = next_due
        self._flush = flush
        self._closed = closed
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float) -> None:
        """Wait for the thread to end (not when called from the flusher itself)."""
        if self._thread.ident is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _loop(self) -> None:
        with self._condition:
            while not self._closed():
                due = self._next_due()
                if due is None:
                    self._condition.wait()
                    continue
                left = due - time.monotonic()
                if left > 0:
                    self._condition.wait(left)
                    continue
                if self._flush() is False:
                    return
