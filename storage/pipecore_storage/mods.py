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
from collections.abc import Iterable, Sequence
from pathlib import Path

import attrs
import numpy as np

from .errors import CorruptFileError
from .fsutil import write_all
from .paths import PathPattern, parse_pattern

__all__ = ["MAX_TIME", "MIN_TIME", "Deletion", "append_mods", "mask_deleted", "read_mods"]

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
    """The deletions in a .mods file ([] when it does not exist)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
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
