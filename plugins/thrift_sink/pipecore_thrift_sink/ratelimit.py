"""A token bucket: ``rate-limit-bytes-per-second`` per endpoint, and the node-wide
``pipe_all_sinks_rate_limit_bytes_per_second``."""

from __future__ import annotations

import threading
import time

__all__ = ["RateLimiter"]


class RateLimiter:
    """`acquire(n)` blocks until `n` bytes may be sent at `rate` bytes/s (bursts up to one
    second's worth). A rate <= 0 means no limit. `wake()` ends every wait (closing)."""

    def __init__(self, rate: float) -> None:
        self.rate = float(rate)
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._available = self.rate
        self._stamp = time.monotonic()

    @property
    def limited(self) -> bool:
        return self.rate > 0

    def acquire(self, nbytes: int) -> None:
        if self.rate <= 0 or nbytes <= 0:
            return
        with self._lock:
            now = time.monotonic()
            self._available = min(self.rate, self._available + (now - self._stamp) * self.rate)
            self._stamp = now
            self._available -= nbytes  # may go negative: a large request waits for its share
            wait = -self._available / self.rate if self._available < 0 else 0.0
        if wait > 0:
            self._closed.wait(wait)

    def wake(self) -> None:
        self._closed.set()
