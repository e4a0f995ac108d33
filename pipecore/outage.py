"""What a pipe's sink is going through: a receiver that is down, full or refusing.

A sink that retries (a connection it cannot make, a receiver answering 1808 for a full disk,
a refusal retried by the ``exception.*`` rules) calls ``configuration.outage.retry(message)``
at each attempt and ``configuration.outage.recovered()`` once a transfer goes through; the
runtime does the same for the connection errors it retries itself. SHOW PIPES shows an
ongoing outage in ExceptionMessage at once: when it began, the retry count, the last error.
"""

from __future__ import annotations

import threading
import time

import attrs

__all__ = ["Outage", "OutageReport"]

MAX_MESSAGE = 500


@attrs.frozen
class Outage:
    """A snapshot: `retries` so far, the `last_error`, when it began and when last retried
    (epoch ms)."""

    retries: int
    last_error: str
    since_ms: int
    last_ms: int


class OutageReport:
    """The live outage of one pipe (thread-safe; sinks report from any thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: Outage | None = None

    def retry(self, message: str) -> None:
        now = int(time.time() * 1000)
        text = str(message)[:MAX_MESSAGE]
        with self._lock:
            current = self._current
            if current is None:
                self._current = Outage(1, text, now, now)
            else:
                self._current = Outage(current.retries + 1, text, current.since_ms, now)

    def recovered(self) -> None:
        if self._current is None:
            return
        with self._lock:
            self._current = None

    def snapshot(self) -> Outage | None:
        return self._current
