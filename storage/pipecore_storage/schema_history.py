"""The store's schema history, for pipes: every schema change with its place among the writes.

A schema change takes no sequence number of its own. Its place is ``seq``, the store's last
sequence number when it happened (it comes after that write and before the next one), and
``index``, a counter of schema changes that never goes back. A pipe whose realtime progress R
says "every write below R was handed on" still owes every schema change with
``seq >= R - 1`` (one made right after write R - 1 may not have gone out); `replay` gives
them back, so that a pipe stopped while the schema changed sends the changes when it starts
again (IoTDB's schema region and config node keep a listening queue that a pipe reads from
its committed index). A new pipe also gives ``from_index``, the index when it was created:
changes made before it (at the same ``seq``) are not its own.

Everything `Store._log_schema` applies is logged (databases, series, their metadata, their
deletion) and everything the kernel publishes through `Store.publish_schema` (schema
templates, TTL, users and privileges): one line per change — never one per insert, only an
insert that creates schema changes it.

The log is ``system/schema_history.log``: ``<crc32 hex> <json>\\n`` per change, appended
after the schema log has the change (a crash in between loses the history line of a change
the client was never told about). A torn or corrupt tail is cut off when the log is loaded.
It is fsynced per append only with ``wal_mode = SYNC`` (a kill -9 keeps what was written; a
power loss in ASYNC mode may lose the newest lines, as it may lose the newest writes).

It is bounded: past `MAX_ENTRIES` lines or `MAX_BYTES` bytes it is rewritten (atomically)
with the newest ones, and a first line saying where the dropped part ended. A replay that
needed a dropped change says so (`Replay.truncated`): the pipe then sends a snapshot of the
whole schema instead (idempotent at a receiver).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import attrs

from .crc_lines import crc_line, read_crc_line
from .fsutil import atomic_write, write_all
from .listeners import StoreSchemaChange
from .origin import Origin

__all__ = ["MAX_BYTES", "MAX_ENTRIES", "Replay", "SchemaHistory"]

log = logging.getLogger(__name__)

MAX_ENTRIES = 65536
MAX_BYTES = 32 * 1024 * 1024
_TRIMMED = "trimmed"


@attrs.frozen
class Replay:
    """What `SchemaHistory.replay` found: the changes in order, and whether some it should
    have had were dropped by trimming."""

    changes: list[StoreSchemaChange]
    truncated: bool


@attrs.define
class _Entry:
    index: int
    seq: int
    offset: int
    length: int


class SchemaHistory:
    """The on-disk history with an in-memory index of its lines (used under the store's
    lock)."""

    def __init__(self, path: Path, sync: bool) -> None:
        self.path = path
        self.sync = sync
        self.entries: list[_Entry] = []
        self.size = 0
        self.next_index = 0
        self.dropped: tuple[int, int] | None = None  # (seq, index) of the last change dropped
        self.dropped_bytes = 0  # cut off at load (a torn tail)

    # ------------------------------------------------------------------ load
    def load(self) -> None:
        """Index the log; cut a torn or corrupt tail."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            raw = b""
        good = 0
        for line in raw.splitlines(keepends=True):
            row = _parse(line)
            if row is None:
                break
            if row[0] == _TRIMMED:
                self.dropped = (int(row[1]), int(row[2]))
                self.next_index = max(self.next_index, int(row[2]) + 1)
            else:
                index, seq = int(row[0]), int(row[1])
                self.entries.append(_Entry(index, seq, good, len(line)))
                self.next_index = max(self.next_index, index + 1)
            good += len(line)
        self.size = good
        if good < len(raw):
            self.dropped_bytes = len(raw) - good
            log.warning(
                "%s: %d bytes of a torn or corrupt tail cut off", self.path, self.dropped_bytes
            )
            with open(self.path, "r+b") as f:
                f.truncate(good)
                os.fsync(f.fileno())
        if self._over():
            self._trim()

    @property
    def last_seq(self) -> int:
        """The place of the newest change (-1: none)."""
        if self.entries:
            return self.entries[-1].seq
        return self.dropped[0] if self.dropped is not None else -1

    # ------------------------------------------------------------------ append
    def append(self, seq: int, records: Sequence[dict], origin: Origin) -> int:
        """Log one change (`records`, made after write `seq`); its index."""
        index = self.next_index
        o = origin
        line = _format([index, seq, o.generated_by_pipe, o.cluster_id, list(o.lineage), records])
        self.next_index = index + 1
        try:
            size = self._write(line)
        except OSError as exc:
            # the change is made (the schema log has it): a pipe that needs this line later
            # is told its replay is incomplete and sends a schema snapshot instead
            log.warning("%s: change %d not logged (%s)", self.path, index, exc)
            self._mark_dropped(seq, index)
            return index
        self.entries.append(_Entry(index, seq, size, len(line)))
        self.size = size + len(line)
        if self._over(slack=2):
            try:
                self._trim()
            except OSError as exc:  # the log stays as it is, to be trimmed on a later append
                log.warning("%s: not trimmed (%s)", self.path, exc)
        return index

    def _write(self, line: bytes) -> int:
        """Append `line`; the offset it was written at."""
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            size = os.fstat(fd).st_size
            try:
                write_all(fd, line)
                if self.sync:
                    os.fsync(fd)
            except OSError:
                os.ftruncate(fd, size)  # a full disk: no torn line in front of the next one
                raise
        finally:
            os.close(fd)
        return size

    def _mark_dropped(self, seq: int, index: int) -> None:
        if self.dropped is None or self.dropped[1] < index:
            self.dropped = (seq, index)

    # ------------------------------------------------------------------ replay
    def replay(self, from_seq: int, from_index: int = 0) -> Replay:
        """The changes a pipe whose writes below `from_seq` went out still owes: those made
        after write ``from_seq - 1`` with an index of at least `from_index`, oldest first."""
        first = next(
            (
                i
                for i, e in enumerate(self.entries)
                if e.seq >= from_seq - 1 and e.index >= from_index
            ),
            None,
        )
        d = self.dropped
        truncated = d is not None and d[0] >= from_seq - 1 and d[1] >= from_index
        if first is None:
            return Replay([], truncated)
        start = self.entries[first].offset
        with open(self.path, "rb") as f:
            f.seek(start)
            raw = f.read(self.size - start)
        changes = []
        for line in raw.splitlines(keepends=True):
            row = _parse(line)
            if row is None or row[0] == _TRIMMED:
                continue
            index, seq, pipe, cluster, lineage, records = row
            if seq < from_seq - 1 or index < from_index:
                continue
            origin = Origin(bool(pipe), cluster, tuple(lineage))
            changes.append(
                StoreSchemaChange(seq, tuple(records), origin, index=index, replayed=True)
            )
        return Replay(changes, truncated)

    # ------------------------------------------------------------------ trimming
    def _over(self, slack: int = 1) -> bool:
        return len(self.entries) > slack * MAX_ENTRIES or self.size > slack * MAX_BYTES

    def _trim(self) -> None:
        """Keep the newest changes within `MAX_ENTRIES` and `MAX_BYTES` (at least one)."""
        keep = len(self.entries)
        total = 0
        for i in range(len(self.entries) - 1, -1, -1):
            e = self.entries[i]
            if len(self.entries) - i > MAX_ENTRIES or (total + e.length > MAX_BYTES and total):
                break
            total += e.length
            keep = i
        if keep == 0:
            return
        last = self.entries[keep - 1]
        start = self.entries[keep].offset
        with open(self.path, "rb") as f:
            f.seek(start)
            tail = f.read(self.size - start)
        head = _format([_TRIMMED, last.seq, last.index])
        atomic_write(self.path, head + tail, sync=self.sync)
        shift = len(head) - start
        self.entries = [
            _Entry(e.index, e.seq, e.offset + shift, e.length) for e in self.entries[keep:]
        ]
        self.size = len(head) + len(tail)
        self._mark_dropped(last.seq, last.index)


def _format(row: list) -> bytes:
    return crc_line(row)


def _parse(line: bytes) -> list | None:
    row = read_crc_line(line)
    if not isinstance(row, list) or not row:
        return None
    if row[0] == _TRIMMED:
        return row if len(row) == 3 and all(isinstance(v, int) for v in row[1:]) else None
    if len(row) != 6 or not isinstance(row[0], int) or not isinstance(row[1], int):
        return None
    return row
