"""Opening a store: read the schema, the sealed files and the WAL; repair what a crash left.

Order of work (all before the store accepts writes):

1. ``system/store.properties`` — created on first open; a later open with a different
   ``timestamp_precision`` is refused (the stored times would change meaning).
2. The schema log.
3. Sealed files: a ``.tsfile`` without its ``.resource`` (a flush or load cut short) is
   deleted with its side files — its data is still in the WAL (flush) or was never
   acknowledged (load). So is a flushed file newer than ``wal/checkpoint`` (its generation
   did not finish: the WAL replays it whole), and the files of a database that no longer
   exists. Side files that cannot be parsed put the file aside as ``.broken``.
4. The WAL: entries after the checkpoint are replayed in order into memtables (inserts),
   onto memtables and files (deletions; a deletion already in a file's ``.mods`` is not
   added twice) and drop database data (DELETE DATABASE).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from .errors import CorruptFileError, StoreClosedError
from .fsutil import atomic_write
from .listeners import StoreDeletion
from .mods import MAX_TIME, MIN_TIME
from .origin import CLIENT
from .paths import split_path
from .resource import load_sealed, parse_tsfile_name
from .tablet import Tablet
from .wal import WalReadReport, WalWriter, read_checkpoint, read_wal
from .walcodec import (
    KIND_BATCH,
    DeleteDatabaseEntry,
    DeleteEntry,
    InsertEntry,
    decode_entry,
    split_batch,
)

if TYPE_CHECKING:
    from .store import Store

__all__ = ["RecoveryReport", "recover"]

log = logging.getLogger(__name__)


@attrs.define
class RecoveryReport:
    """What opening found and repaired."""

    replayed_entries: int = 0
    skipped_entries: int = 0
    removed_files: list[str] = attrs.field(factory=list)
    broken_files: list[str] = attrs.field(factory=list)
    wal_truncations: list[tuple[str, int, str]] = attrs.field(factory=list)
    schema_bytes_dropped: int = 0


def recover(store: Store) -> RecoveryReport:
    report = RecoveryReport()
    _check_properties(store)
    store._schema_log.load(store._schema)
    report.schema_bytes_dropped = store._schema_log.dropped
    checkpoint = read_checkpoint(store.layout.wal)
    max_seq = max(checkpoint, _scan_files(store, checkpoint, report))
    _clean_temporaries(store)
    for f in store._files.all():
        if f.sequence:
            for device, (_a, b) in f.device_times.items():
                store._last_flushed[device] = max(store._last_flushed.get(device, b), b)
    store._deletions = store._deletion_log.load()
    wal_report = WalReadReport()
    store._seq = max_seq
    for seq, body in _expand(read_wal(store.layout.wal, wal_report), report):
        if seq <= checkpoint:
            continue
        store._seq = max(store._seq, seq)
        try:
            entry = decode_entry(body)
        except ValueError as exc:
            log.warning("WAL entry %d undecodable (%s): skipped", seq, exc)
            report.skipped_entries += 1
            continue
        _replay(store, seq, entry, report)
    report.wal_truncations = wal_report.truncated
    segments = [(p, v, s) for p, v, s in wal_report.segments if s > checkpoint or s < 0]
    for p, _v, s in wal_report.segments:
        if 0 <= s <= checkpoint:
            p.unlink(missing_ok=True)
    empty = [p for p, _v, s in segments if s < 0]
    for p in empty:
        p.unlink(missing_ok=True)
    store._wal = WalWriter(
        store.layout.wal,
        store.config.wal_mode,
        fsync_delay_ms=store.config.wal_async_mode_fsync_delay_in_ms,
        segment_size=store.config.wal_file_size_threshold_in_byte,
        next_version=wal_report.next_version,
        old_segments=[(p, v, s) for p, v, s in segments if s >= 0],
    )
    if store._schema_log.count > 4 * (len(store._schema.databases) + _series_count(store)) + 64:
        store._schema_log.rewrite(store._schema)
    return report


def _expand(
    entries: Iterator[tuple[int, memoryview]], report: RecoveryReport
) -> Iterator[tuple[int, memoryview]]:
    """The entries of the log with batch entries opened up (all of a batch, or none)."""
    for seq, body in entries:
        if len(body) and body[0] == KIND_BATCH:
            try:
                parts = split_batch(body)
            except ValueError as exc:
                log.warning("WAL batch entry %d undecodable (%s): skipped", seq, exc)
                report.skipped_entries += 1
                continue
            yield from parts
        else:
            yield seq, body


def _series_count(store: Store) -> int:
    return sum(len(d.measurements) for d in store._schema.devices.values())


def _check_properties(store: Store) -> None:
    path = store.layout.properties
    wanted = {"timestamp_precision": store.config.timestamp_precision, "store_format": "1"}
    if not path.exists():
        text = "".join(f"{k}={v}\n" for k, v in wanted.items())
        atomic_write(path, text.encode())
        return
    found = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep:
            found[key.strip()] = value.strip()
    precision = found.get("timestamp_precision", "ms")
    if precision != store.config.timestamp_precision:
        raise StoreClosedError(
            f"{store.path}: timestamp_precision is {precision} in this store; it cannot be "
            f"changed to {store.config.timestamp_precision}"
        )


def _scan_files(store: Store, checkpoint: int, report: RecoveryReport) -> int:
    """Register every complete sealed file; the highest sequence number seen."""
    max_seq = -1
    for database, sequence, folder in store.layout.database_folders():
        for tsfile in sorted(folder.glob("*/*/*.tsfile")):
            if parse_tsfile_name(tsfile.name) is None:
                continue
            res = tsfile.with_name(tsfile.name + ".resource")
            known_db = database in store._schema.databases
            if not res.exists() or not known_db:
                _remove(tsfile, report)
                continue
            try:
                f = load_sealed(tsfile, database, sequence)
            except (CorruptFileError, OSError, KeyError, ValueError) as exc:
                log.warning("sealed file %s unreadable (%s): set aside as .broken", tsfile, exc)
                tsfile.rename(tsfile.with_name(tsfile.name + ".broken"))
                report.broken_files.append(str(tsfile))
                continue
            max_seq = max(max_seq, f.seal_seq, f.max_seq)
            if not f.loaded and f.max_seq > checkpoint:
                _remove(tsfile, report)  # its flush generation did not finish: WAL replays it
                continue
            store._files.add(f)
            store._files.next_version = max(store._files.next_version, f.version + 1)
        for leftover in folder.glob("*/*/*.tsfile.*.tmp"):
            leftover.unlink(missing_ok=True)
    # versions of removed files are not reused either
    for database, sequence, folder in store.layout.database_folders():
        del database, sequence
        for p in folder.glob("*/*/*.tsfile*"):
            parsed = parse_tsfile_name(p.name.split(".tsfile")[0] + ".tsfile")
            if parsed is not None:
                store._files.next_version = max(store._files.next_version, parsed[1] + 1)
    return max_seq


def _remove(tsfile: Path, report: RecoveryReport) -> None:
    for suffix in ("", ".resource", ".mods", ".meta", ".resource.tmp", ".meta.tmp"):
        tsfile.with_name(tsfile.name + suffix).unlink(missing_ok=True)
    report.removed_files.append(str(tsfile))


def _clean_temporaries(store: Store) -> None:
    if store.layout.load.is_dir():
        for p in store.layout.load.iterdir():
            if p.is_file():
                p.unlink()


def _still_in_schema(store: Store, tablet: Tablet) -> Tablet | None:
    """The columns of a logged insert whose series still exist with the same type.

    A column whose series was deleted (or deleted and created again with another type) after
    the write is dropped: a later entry of the log deleted its data anyway.
    """
    device = store._schema.devices.get(tablet.device)
    if device is None or device.aligned != tablet.aligned:
        return None
    keep = [
        s.name
        for s in tablet.schemas
        if (known := device.measurements.get(s.name)) is not None and known.data_type == s.data_type
    ]
    if not keep:
        return None
    return tablet if len(keep) == len(tablet.schemas) else tablet.select(keep)


def _replay(store: Store, seq: int, entry, report: RecoveryReport) -> None:
    if isinstance(entry, InsertEntry):
        tablet = _still_in_schema(store, entry.tablet)
        if tablet is None:
            report.skipped_entries += 1  # its series were deleted later
            return
        store._apply_insert(tablet, seq, entry.origin)
    elif isinstance(entry, DeleteEntry):
        store._apply_delete(entry.pattern, entry.start, entry.end, seq, entry.origin, replay=True)
    elif isinstance(entry, DeleteDatabaseEntry):
        prefix = split_path(entry.database)
        for key in [k for k in store._working if k[0] == entry.database]:
            del store._working[key]
        stale = [d for d in store._last_flushed if split_path(d)[: len(prefix)] == prefix]
        for name in stale:
            del store._last_flushed[name]
        deleted = StoreDeletion(seq, f"{entry.database}.**", MIN_TIME, MAX_TIME, CLIENT)
        store._record_deletion(deleted, replay=True)
    report.replayed_entries += 1
