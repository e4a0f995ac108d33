"""Deletions recorded against ONE sealed file (not a store-wide DELETE).

A pipe sender may send the same sealed TsFile twice: IoTDB 2.0.1 does when a pipe's historical
and realtime sources both capture a file, one copy taken before a deletion reached the file's
``.mods2`` and one after (see docs/interop.md). The receiver then loads the first copy and,
for the second, records only the deletions of its newer ``.mods`` against that copy — exactly
what the sender holds — instead of loading a second copy whose points the first copy's stale
points would outlive.

`record_file_deletions` does that atomically under the store lock, and only while nothing has
touched the copy since the caller looked at it: same mods as `expect`, and no newer data
(a sealed file of a higher version, or memtable data) overlapping its devices and times —
newer data would make "the copy minus the deletions" differ from "load the file again", whose
points win over everything older. The ``.mods`` file is the durable record (fsynced; read back
by recovery), so no WAL frame is needed; no pipe event is published (a deletion event would
apply store-wide downstream).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .mods import Deletion, append_mods
from .paths import split_path

if TYPE_CHECKING:
    from .resource import SealedFile
    from .store import Store

__all__ = ["record_file_deletions"]


def record_file_deletions(
    store: Store,
    path: Path,
    deletions: Sequence[Deletion],
    expect: Sequence[Deletion],
) -> tuple[Deletion, ...] | None:
    """Add `deletions` (those not already there) to the mods of the sealed file at `path`.

    Returns the file's mods afterwards, or None — and nothing changes — when the file is no
    longer in the store, its mods are not `expect` any more, or newer data overlaps it.
    """
    with store._maintenance, store._lock:
        store._check_open()
        f = store._files.get(path)
        if f is None or _key(f.mods) != _key(expect) or _newer_data_overlaps(store, f):
            return None
        size = f.path.stat().st_size if f.path.exists() else 0
        new: list[Deletion] = []
        for d in deletions:
            if d.start > d.end or any(d.same_effect(m) for m in (*f.mods, *new)):
                continue
            if any(d.compiled.may_match_device(split_path(dev)) for dev in f.device_times):
                new.append(Deletion(d.pattern, d.start, d.end, size))
        if new:
            append_mods(f.mods_path, new, sync=store.config.wal_mode != "DISABLE")
            first = not f.mods
            f.mods = (*f.mods, *new)
            if first:  # the .resource names the mods file
                f.write_side_files(sync=store.config.wal_mode != "DISABLE")
        return f.mods


def _key(mods: Sequence[Deletion]) -> list[tuple[str, int, int]]:
    return [(d.pattern, d.start, d.end) for d in mods]


def _newer_data_overlaps(store: Store, f: SealedFile) -> bool:
    for other in store._files.all():
        if other.version <= f.version or other.database != f.database:
            continue
        if _ranges_overlap(f, other.device_times):
            return True
    for mt in store._all_memtables():
        if mt.database != f.database:
            continue
        for device, (lo, hi) in f.device_times.items():
            data = mt.devices.get(device)
            if data is not None and data.min_time <= hi and data.max_time >= lo:
                return True
    return False


def _ranges_overlap(f: SealedFile, times: dict[str, tuple[int, int]]) -> bool:
    for device, (lo, hi) in f.device_times.items():
        other = times.get(device)
        if other is not None and other[0] <= hi and other[1] >= lo:
            return True
    return False
