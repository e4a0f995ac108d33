"""Deletions of sealed data: IoTDB's ``.mods`` file (version 1, text), next to each TsFile.

One deletion per line, appended and fsynced::

    DELETION,<path pattern>,<tsFileOffset>,<startTime>,<endTime>

``tsFileOffset`` is the TsFile's length when the deletion was recorded (sealed files never
grow, so it covers the whole file). The pattern may itself contain commas: the last three
fields are numbers, everything between the first comma and them is the pattern. The older
form ``DELETION,<path>,<versionNum>,<endTime>`` (start = minus infinity) is read too.
Readers drop points of matching series with ``startTime <= t <= endTime``; the TsFile itself
is never changed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import attrs
import numpy as np

from .errors import CorruptFileError
from .fsutil import write_all
from .paths import PathPattern, parse_pattern, split_path
from .tablet import Tablet
from .tsfile import TsFileReader

__all__ = [
    "MAX_TIME",
    "MIN_TIME",
    "Deletion",
    "append_mods",
    "mask_deleted",
    "read_mods",
    "read_mods_beside",
    "read_tsfile_tablets",
]

MIN_TIME = -(2**63)
MAX_TIME = 2**63 - 1
SUFFIX = ".mods"


@attrs.frozen
class Deletion:
    """Points of series matching `pattern` with start <= time <= end are deleted."""

    pattern: str
    start: int
    end: int
    offset: int = 0

    @property
    def compiled(self) -> PathPattern:
        return parse_pattern(self.pattern)

    def line(self) -> str:
        return f"DELETION,{self.pattern},{self.offset},{self.start},{self.end}\n"

    def same_effect(self, other: Deletion) -> bool:
        return (self.pattern, self.start, self.end) == (other.pattern, other.start, other.end)


def read_mods(path: Path) -> list[Deletion]:
    """The deletions in a .mods file ([] when it does not exist).

    The binary format of IoTDB 2.x (``.mods2``, see mods_v2) is recognised by its first byte
    (a record type, 0 or 1, where a text file starts with ``D``): an IoTDB 2.x sender's mods
    arrive under any name.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    if raw[:1] in (b"\x00", b"\x01"):
        from .mods_v2 import parse_mods_v2

        return parse_mods_v2(path, raw)
    out: list[Deletion] = []
    pos = 0
    for line in raw.splitlines(keepends=True):
        if not line.endswith(b"\n"):
            break  # torn last line of an interrupted append: not acknowledged, ignore it
        text = line.decode("utf-8", "surrogateescape").rstrip("\r\n")
        if text:
            out.append(_parse(path, pos, text))
        pos += len(line)
    return out


def read_mods_beside(tsfile: Path) -> list[Deletion]:
    """The deletions of a TsFile: its ``.mods`` (IoTDB 1.x, pipecore) or ``.mods2`` (IoTDB 2.x)."""
    deletions = read_mods(tsfile.with_name(tsfile.name + SUFFIX))
    return deletions + read_mods(tsfile.with_name(tsfile.name + SUFFIX + "2"))


def _parse(path: Path, pos: int, text: str) -> Deletion:
    head, _, rest = text.partition(",")
    if head != "DELETION":
        raise CorruptFileError(path, pos, f"unknown modification type {head!r}")
    fields = rest.rsplit(",", 3)
    try:
        if len(fields) == 4:
            pattern, offset, start, end = fields
            return Deletion(pattern, int(start), int(end), int(offset))
        if len(fields) == 3:
            pattern, _version, end = fields
            return Deletion(pattern, MIN_TIME, int(end), 0)
    except ValueError:
        pass
    raise CorruptFileError(path, pos, f"malformed deletion {text!r}")


def append_mods(path: Path, deletions: Iterable[Deletion], *, sync: bool = True) -> None:
    data = "".join(d.line() for d in deletions).encode("utf-8", "surrogateescape")
    if not data:
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        write_all(fd, data)
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


def mask_deleted(
    deletions: Sequence[Deletion],
    device_nodes: Sequence[str],
    measurement: str,
    times: np.ndarray,
) -> np.ndarray | None:
    """Bool mask of the `times` that survive the deletions of this series (None = all)."""
    keep: np.ndarray | None = None
    for d in deletions:
        if not d.compiled.matches_series(device_nodes, measurement):
            continue
        hit = (times >= d.start) & (times <= d.end)
        if hit.any():
            keep = ~hit if keep is None else keep & ~hit
    return keep


def affects(
    deletions: Sequence[Deletion], device_nodes: Sequence[str], measurement: str
) -> list[Deletion]:
    return [d for d in deletions if d.compiled.matches_series(device_nodes, measurement)]


def read_tsfile_tablets(
    path: Path | str,
    pattern: str = "root.**",
    start: int = MIN_TIME,
    end: int = MAX_TIME,
    *,
    deletions: Sequence[Deletion] | None = None,
    max_rows: int = 65536,
) -> Iterator[Tablet]:
    """The rows of a TsFile as tablets, deletions applied: what a pipe sends of a file.

    Only series matching `pattern` and times in ``[start, end]``; the deletions are the
    ``.mods`` next to the file unless given. Deleted points become nulls; rows left with no
    value are dropped.
    """
    path = Path(path)
    compiled = parse_pattern(pattern)
    if deletions is None:
        deletions = read_mods_beside(path)
    with TsFileReader(path) as reader:
        for device in reader.devices():
            nodes = split_path(device)
            if not compiled.may_match_device(nodes):
                continue
            names = [m for m in reader.measurements(device) if compiled.matches_series(nodes, m)]
            if not names:
                continue
            for tablet in reader.read_tablets(device, names, start, end, max_rows):
                cleaned = _without_deleted(tablet, nodes, deletions)
                if cleaned is not None:
                    yield cleaned


def _without_deleted(
    tablet: Tablet, nodes: Sequence[str], deletions: Sequence[Deletion]
) -> Tablet | None:
    if not deletions:
        return tablet
    masks = list(tablet.null_masks)
    changed = False
    for i, s in enumerate(tablet.schemas):
        keep = mask_deleted(deletions, nodes, s.name, tablet.timestamps)
        if keep is not None:
            masks[i] = tablet.null_mask(i) | ~keep
            changed = True
    if not changed:
        return tablet
    out = Tablet(
        tablet.device, tablet.schemas, tablet.timestamps, tablet.columns, masks, tablet.aligned
    )
    alive = np.zeros(out.row_count, np.bool_)
    for i in range(len(out.schemas)):
        alive |= ~out.null_mask(i)
    if not alive.any():
        return None
    return out if alive.all() else out.take(alive)
