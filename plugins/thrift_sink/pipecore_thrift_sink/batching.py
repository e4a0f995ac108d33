"""Tablet events gathered into one type-6 request (``batch.enable``), and the footprint that
tells which requests may not overtake each other."""

from __future__ import annotations

import time
from concurrent.futures import Future

from pipecore_storage.tablet import Tablet

from .protocol import TabletBatchBuilder

__all__ = ["Footprint", "PendingBatch", "footprint_of_tablet", "overlaps"]

#: device -> (first time, last time) a request writes
Footprint = dict[str, tuple[int, int]]


def footprint_of_tablet(tablet: Tablet) -> Footprint:
    if tablet.row_count == 0:
        return {}
    times = tablet.timestamps
    return {tablet.device: (int(times.min()), int(times.max()))}


def merge(into: Footprint, other: Footprint) -> None:
    for device, (lo, hi) in other.items():
        old = into.get(device)
        into[device] = (lo, hi) if old is None else (min(old[0], lo), max(old[1], hi))


def overlaps(a: Footprint, b: Footprint) -> bool:
    """Whether two requests write a common device in overlapping time ranges (then the
    later one must reach the receiver after the earlier one)."""
    if len(a) > len(b):
        a, b = b, a
    for device, (lo, hi) in a.items():
        other = b.get(device)
        if other is not None and lo <= other[1] and other[0] <= hi:
            return True
    return False


class PendingBatch:
    """A batch being filled: its body builder, its events' common future, when it began."""

    def __init__(self, lineage: tuple[str, ...] = ()) -> None:
        self.lineage = lineage  # every tablet of a batch has the same (protocol/lineage.py)
        self.builder = TabletBatchBuilder()
        self.future: Future[None] = Future()
        self.started = time.monotonic()
        self.events = 0
        self.footprint: Footprint = {}

    def add(self, tablet: Tablet) -> None:
        self.builder.add_tablet(tablet)
        self.events += 1
        merge(self.footprint, footprint_of_tablet(tablet))

    @property
    def size_bytes(self) -> int:
        return self.builder.size_bytes

    def due(self, max_delay: float | None, now: float | None = None) -> bool:
        if max_delay is None:
            return False
        return (now if now is not None else time.monotonic()) - self.started >= max_delay

    def describe(self) -> str:
        return (
            f"a batch of {self.builder.tablet_count} tablets ({self.builder.point_count} points, "
            f"{self.size_bytes} bytes)"
        )
