"""Sealed files as pipe events: which files a range and pattern take, and whether a file must
be split (turned into tablets) to honour them.

A file is *taken* when it may hold a series of the pattern inside the time range (its
device → time index says so). It goes out whole as one `SourceTsFileInsertionEvent` when
everything in it is wanted — or when ``loose-range`` says not to be exact about time and/or
path; otherwise it is split: read device by device, filtered to the range and pattern, its
deletions applied, and handed on as tablet events.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from pipecore import TabletInsertionEvent
from pipecore_storage.paths import split_path
from pipecore_storage.resource import SealedFile

from .events import SourceTsFileInsertionEvent
from .patterns import SeriesPattern

__all__ = ["file_event", "needs_split", "split_events", "takes_file"]

MIN_TIME = -(2**63)
MAX_TIME = 2**63 - 1


def takes_file(f: SealedFile, pattern: SeriesPattern, start: int, end: int) -> bool:
    """Whether the file may hold a series of the pattern with points in [start, end]."""
    return any(
        a <= end and b >= start and pattern.may_match_device(device)
        for device, (a, b) in f.device_times.items()
    )


def needs_split(
    f: SealedFile,
    pattern: SeriesPattern,
    start: int,
    end: int,
    loose: frozenset[str],
    mods_enabled: bool,
) -> bool:
    """Whether sending `f` whole would send more than asked (or resurrect deleted points)."""
    if f.mods and not mods_enabled:
        return True  # a sink sending the file without its .mods would undo the deletions
    if f.mods and _series_wholly_deleted(f):
        return True  # sent whole, the receiver would create a series with no point
    if "time" not in loose and any(a < start or b > end for a, b in f.device_times.values()):
        return True
    return (
        "path" not in loose
        and not pattern.is_root
        and not all(pattern.covers_device(device) for device in f.device_times)
    )


def _series_wholly_deleted(f: SealedFile) -> bool:
    """Whether a deletion may remove every point a series has in the file: one whose time
    range covers a device's whole range and whose pattern may match a series of it."""
    for d in f.mods:
        pattern = d.compiled
        for device, (a, b) in f.device_times.items():
            if d.start <= a and d.end >= b and pattern.may_match_device(split_path(device)):
                return True
    return False


def file_event(f: SealedFile, pinned: Path, mods_enabled: bool) -> SourceTsFileInsertionEvent:
    """The whole file as one event (`pinned` is the pipe's hard link to it)."""
    mods = pinned.with_name(pinned.name + ".mods")
    return SourceTsFileInsertionEvent(
        pinned,
        dict(f.device_times),
        origin=f.origin,
        deletions=tuple(f.mods),
        mods_path=mods if mods_enabled and f.mods and mods.exists() else None,
        points=f.points,
        file_name=f.path.name,
    )


def split_events(
    f: SealedFile,
    pinned: Path,
    pattern: SeriesPattern,
    start: int,
    end: int,
    loose: frozenset[str],
) -> Iterator[TabletInsertionEvent]:
    """The wanted rows of the file as tablet events, device by device (lazily)."""
    whole = file_event(f, pinned, mods_enabled=False)
    yield from whole.to_tablet_insertion_events(
        None if "path" in loose or pattern.is_root else pattern,
        None if "time" in loose else start,
        None if "time" in loose else end,
    )
