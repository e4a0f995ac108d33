"""The store's deletion history, for pipes: every deletion with its sequence number.

A deletion's effect on sealed data lives in the files' ``.mods`` (without sequence numbers)
and the WAL entry that carried it is dropped at the next checkpoint. A pipe that resumes
from an older sequence number (after a restart, or after its subscription overflowed) still
has to hand the deletion on, so `Store.replay` takes deletions from this history. It is kept
in ``system/deletions.log``, one JSON record per line (a torn last line is ignored), and
bounded: the newest `MAX_DELETIONS` are kept.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .fsutil import atomic_write, write_all
from .listeners import StoreDeletion
from .origin import Origin

__all__ = ["MAX_DELETIONS", "DeletionLog"]

MAX_DELETIONS = 65536


def _record(event: StoreDeletion) -> bytes:
    o = event.origin
    row = [event.seq, event.pattern, event.start, event.end, o.generated_by_pipe, o.cluster_id]
    if o.lineage:
        row.append(list(o.lineage))
    return (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8", "surrogateescape")


class DeletionLog:
    """The on-disk history (used under the store's lock)."""

    def __init__(self, path: Path, sync: bool) -> None:
        self.path = path
        self.sync = sync
        self.lines = 0

    def load(self) -> list[StoreDeletion]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        out: list[StoreDeletion] = []
        for line in raw.split(b"\n"):
            try:
                seq, pattern, start, end, pipe, cluster, *rest = json.loads(line)
                lineage = tuple(rest[0]) if rest else ()
                origin = Origin(bool(pipe), cluster, lineage)
                out.append(StoreDeletion(seq, pattern, start, end, origin))
            except (ValueError, TypeError):
                continue  # a torn last line: that deletion was not acknowledged
        self.lines = len(out)
        if len(out) > MAX_DELETIONS:
            out = out[-MAX_DELETIONS:]
            self.rewrite(out)
        return out

    def append(self, event: StoreDeletion) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            size = os.fstat(fd).st_size
            try:
                write_all(fd, _record(event))
                if self.sync:
                    os.fsync(fd)
            except OSError:
                os.ftruncate(fd, size)  # a full disk: no torn line to swallow the next record
                raise
        finally:
            os.close(fd)
        self.lines += 1

    def rewrite(self, events: list[StoreDeletion]) -> None:
        atomic_write(self.path, b"".join(_record(e) for e in events), sync=self.sync)
        self.lines = len(events)
