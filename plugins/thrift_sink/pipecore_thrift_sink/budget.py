"""A node-wide byte budget for what receivers hold in memory before anything is written:
decompressed requests (type 300) and slice sequences being assembled (type 400).

A request reserves what it declares (the decompressed lengths, the announced size of the
sliced request) before a byte is allocated; when the budget cannot take it within a short
wait, the receiver answers 1808 and the sender retries later. One client can therefore not
make the node allocate more than `pipe_receiver_memory_budget_in_bytes` in all, however many
connections it opens.
"""

from __future__ import annotations

import threading
import time

__all__ = ["MemoryBudget"]


class MemoryBudget:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.used = 0
        self._cv = threading.Condition()

    def reserve(self, n: int, wait: float = 2.0) -> bool:
        """Take `n` bytes, waiting up to `wait` seconds for them; False when they were not
        free (or `n` is more than the whole budget)."""
        if n > self.capacity:
            return False
        deadline = time.monotonic() + wait
        with self._cv:
            while self.used + n > self.capacity:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cv.wait(left)
            self.used += n
            return True

    def release(self, n: int) -> None:
        with self._cv:
            self.used = max(0, self.used - n)
            self._cv.notify_all()
