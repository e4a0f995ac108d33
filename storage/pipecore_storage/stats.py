"""`StoreStats`: what the store has done and holds, read on demand (for a node's metrics).

Nothing is counted on the write path beyond two integers: the WAL counts the bytes it hands to
the operating system and its fsyncs, the flush thread counts flushes and the files they seal.
Everything else (memtable size, sealed files and their bytes, pinned files per pipe) is read
from the store's state when `store_stats` is called — a scrape, not every write, pays for it.
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from .store import Store

__all__ = ["PinnedStats", "StoreStats", "memtable_backlog", "store_stats"]


@attrs.frozen
class PinnedStats:
    """The files one pipe holds pinned (hard links under ``pipe/<name>/``) and their bytes."""

    files: int = 0
    bytes: int = 0


@attrs.frozen
class StoreStats:
    """A snapshot of the store.

    * `wal_bytes` / `wal_fsyncs` — bytes appended to the WAL and fsyncs of its segments since
      the store opened; `wal_segments` — segment files now.
    * `memtable_bytes` / `memtable_points` — held by memtables (working and being flushed).
    * `flushes` / `flushed_files` — memtable generations sealed since open, and their files.
    * `sealed_files` / `sealed_bytes` — sealed and loaded TsFiles now in the store.
    * `pinned` — per pipe name, the files pinned for it.
    * `last_seq` — the store's sequence number.
    """

    wal_bytes: int = 0
    wal_fsyncs: int = 0
    wal_segments: int = 0
    memtable_bytes: int = 0
    memtable_points: int = 0
    flushes: int = 0
    flushed_files: int = 0
    sealed_files: int = 0
    sealed_bytes: int = 0
    pinned: dict[str, PinnedStats] = attrs.field(factory=dict)
    last_seq: int = -1


def _size(path: os.PathLike[str] | str) -> int:
    with contextlib.suppress(OSError):
        return os.stat(path).st_size
    return 0


def store_stats(store: Store) -> StoreStats:
    """The figures of `store` now (file sizes are read from disk: O(files))."""
    with store._lock:
        memtables = store._all_memtables()
        memtable_bytes = sum(m.nbytes for m in memtables)
        memtable_points = sum(m.points for m in memtables)
        files = store._files.all()
        wal = store._wal
        last_seq = store._seq
    flusher = getattr(store, "_flusher", None)
    pinned: dict[str, PinnedStats] = {}
    root = store.layout.pipe
    if root.is_dir():
        for folder in sorted(root.iterdir()):
            if folder.is_dir():
                links = list(folder.rglob("*.tsfile"))
                pinned[folder.name] = PinnedStats(len(links), sum(_size(p) for p in links))
    return StoreStats(
        wal_bytes=wal.bytes_written,
        wal_fsyncs=wal.fsyncs,
        wal_segments=wal.segment_count,
        memtable_bytes=memtable_bytes,
        memtable_points=memtable_points,
        flushes=flusher.generations if flusher is not None else 0,
        flushed_files=flusher.files if flusher is not None else 0,
        sealed_files=len(files),
        sealed_bytes=sum(_size(f.path) for f in files),
        pinned=pinned,
        last_seq=last_seq,
    )


def memtable_backlog(store: Store, from_seq: int) -> tuple[int, int]:
    """(points, bytes) held by memtables (working or being flushed) that hold writes with a
    sequence number >= `from_seq` — what a pipe waiting for files to be sealed has still to
    get from them (whole memtables: a memtable straddling `from_seq` counts fully)."""
    with store._lock:
        held = [m for m in store._all_memtables() if m.max_seq >= from_seq]
        return sum(m.points for m in held), sum(m.nbytes for m in held)
