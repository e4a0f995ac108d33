"""`Store`: the embedded TsFile store — schema, WAL, memtables, sealed files, queries, pipes.

The store behaves like a small IoTDB data node (tree model). See docs/store.md for the user
guide; this module is the public facade and the write path. Flushing is in `flush`, queries
in `query`, LOAD in `load`, crash recovery in `recovery`.

Locking: one re-entrant state lock guards the schema, memtables, the file set, the sequence
counter, WAL appends and event publication, so sequence numbers, WAL order, memtable order
and event order agree. Flush work, deletions, LOAD and DELETE DATABASE are additionally
serialized by a maintenance lock. fsync of the WAL (SYNC mode) happens outside both locks.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from . import file_mods as _file_mods
from . import flush as _flush
from . import load as _load
from . import query as _query
from . import recovery as _recovery
from . import schema_statements as _schema_statements
from .config import StoreConfig
from .deletions import MAX_DELETIONS, DeletionLog
from .errors import SchemaError, StoreClosedError
from .files import FileSet, PinError, StoreLayout, pin_file, pinned_files, unpin_all, unpin_file
from .listeners import (
    Event,
    InsertEvent,
    Publisher,
    StoreDeletion,
    StoreSchemaChange,
    Subscription,
    replay_events,
)
from .memtable import MemTable
from .mods import MAX_TIME, MIN_TIME, Deletion, append_mods, read_tsfile_tablets
from .origin import CLIENT, Origin
from .paths import canonical_device, join_path, parse_pattern, split_path
from .query import AggregateSpec, QueryResult, StoreRows, ValueFilter
from .resource import SealedFile
from .rows import rows_tablet
from .schema import SchemaLog, SchemaRegistry, SeriesInfo
from .schema_history import SchemaHistory
from .series_meta import SeriesMeta
from .stats import StoreStats, store_stats
from .tablet import Tablet
from .types import TSDataType
from .values import record_tablet
from .wal import WalWriter, frame, frame_parts, write_checkpoint
from .walcodec import (
    encode_batch,
    encode_delete,
    encode_delete_database,
    insert_parts,
)

__all__ = ["Store"]

log = logging.getLogger(__name__)


class Store:
    """An embedded TsFile store in a directory. Open it with `Store.open(path, config)`."""

    # ------------------------------------------------------------------ lifecycle
    def __init__(self, path: Path, config: StoreConfig) -> None:
        self.path = path
        self.config = config
        self.layout = StoreLayout(path)
        self._lock = threading.RLock()
        self._maintenance = threading.RLock()
        self._closed = False
        self._schema = SchemaRegistry()
        self._schema_log = SchemaLog(self.layout.schema_log)
        self._files = FileSet()
        self._seq = -1
        self._working: dict[tuple[str, bool], MemTable] = {}
        self._flushing: list[_flush.Generation] = []
        self._last_flushed: dict[str, int] = {}
        self._deletions: list[StoreDeletion] = []  # the history, for replay (see deletions)
        self._deletion_log = DeletionLog(
            self.layout.system / "deletions.log", sync=config.wal_mode != "DISABLE"
        )
        self._schema_history = SchemaHistory(  # schema changes, for pipes to replay
            self.layout.system / "schema_history.log", sync=config.wal_mode == "SYNC"
        )
        self._publisher = Publisher()
        self._readers = _query.ReaderCache()
        self._retention: Callable[[str], int | None] | None = None
        self._wal: WalWriter
        self._flusher: _flush.Flusher
        self._lock_fd: int | None = None
        self.recovery_report: _recovery.RecoveryReport

    @classmethod
    def open(cls, path: str | os.PathLike[str], config: StoreConfig | Mapping | None = None):
        """Open (creating if needed) the store in directory `path`; recovers after a crash."""
        if config is None:
            config = StoreConfig()
        elif not isinstance(config, StoreConfig):
            config = StoreConfig.from_mapping(config)
        store = cls(Path(path).absolute(), config)
        store.layout.root.mkdir(parents=True, exist_ok=True)
        store._acquire_dir_lock()
        try:
            store.layout.make()
            store.recovery_report = _recovery.recover(store)
            store._schema_history.load()
            store._flusher = _flush.Flusher(store)
        except BaseException:
            store._release_dir_lock()
            raise
        return store

    def _acquire_dir_lock(self) -> None:
        fd = os.open(self.layout.lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreClosedError(f"{self.path}: the store is open in another process") from None
        self._lock_fd = fd

    def _release_dir_lock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def close(self) -> None:
        """Seal every memtable into TsFiles, stop background work, release the directory."""
        if self._closed:
            return
        try:
            self.flush()
            with self._lock:
                if not self._working and not self._flushing:
                    # everything is sealed (deletions are in .mods): nothing left to replay
                    write_checkpoint(self.layout.wal, self._seq)
        except OSError as exc:
            # a full disk: what could not be sealed is in the WAL, replayed at the next open
            log.warning(
                "%s: closing without sealing every memtable (%s); the WAL keeps "
                "them for the next open",
                self.path,
                exc,
            )
        finally:
            self._shutdown(clean=True)

    def _shutdown(self, clean: bool) -> None:
        with self._lock:
            self._closed = True
        self._flusher.stop()
        self._publisher.close_all()
        if clean:
            self._wal.close()
        else:
            self._wal.abandon()
        self._schema_log.close()
        self._readers.close()
        self._release_dir_lock()

    def _abandon(self) -> None:
        """Stop without flushing or fsyncing: on disk exactly what a kill -9 leaves (tests)."""
        if not self._closed:
            self._shutdown(clean=False)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError(f"{self.path}: the store is closed")

    @property
    def last_seq(self) -> int:
        """The sequence number of the latest write or event (-1 for a new store)."""
        return self._seq

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    # ------------------------------------------------------------------ schema
    def create_database(self, database: str, *, origin: Origin = CLIENT) -> None:
        """CREATE DATABASE; SchemaError if it exists or overlaps an existing database.
        `origin` (here and in the other schema calls): who asked — a pipe receiver passes the
        sender's, so that a pipe from this node can leave the change out (forwarding)."""
        self._check_open()
        with self._lock:
            nodes = self._schema.check_new_database(database)
            self._log_schema([{"op": "create_database", "name": join_path(nodes)}], origin)

    def delete_database(self, database: str, *, origin: Origin = CLIENT) -> list[str]:
        """DELETE DATABASE (a name or a pattern such as ``root.**``): drop schema and data.

        Returns the deleted databases; SchemaError if nothing matches.
        """
        self._check_open()
        pattern = parse_pattern(database)
        with self._maintenance:
            with self._lock:
                names = [n for n, nodes in self._schema.databases.items() if pattern.matches(nodes)]
                if not names:
                    raise SchemaError(f"database {database} does not exist", database)
                gone = []
                for name in names:
                    gone += self._drop_database_locked(name, origin)
            for f in gone:
                self._readers.evict(f.path)
                for p in f.side_paths():
                    p.unlink(missing_ok=True)
        return names

    def _drop_database_locked(self, name: str, origin: Origin = CLIENT) -> list[SealedFile]:
        self._log_schema([{"op": "delete_database", "name": name}], origin)
        seq = self._next_seq()
        body = encode_delete_database(name)
        self._wal.sync(self._wal.append([frame(seq, body)], seq))
        for key in [k for k in self._working if k[0] == name]:
            del self._working[key]
        for gen in self._flushing:
            gen.memtables = [m for m in gen.memtables if m.database != name]
        files = self._files.of_database(name)
        for f in files:
            self._files.remove(f)
        prefix = split_path(name)
        for device in [d for d in self._last_flushed if split_path(d)[: len(prefix)] == prefix]:
            del self._last_flushed[device]
        event = StoreDeletion(seq, f"{name}.**", MIN_TIME, MAX_TIME, origin)
        self._record_deletion(event, replay=False)
        self._publisher.publish(event)
        return files

    def create_timeseries(
        self,
        path: str,
        data_type: TSDataType | str,
        encoding: object = None,
        compressor: object = None,
        props: Mapping[str, str] | None = None,
        *,
        alias: str | None = None,
        tags: Mapping[str, str] | None = None,
        attributes: Mapping[str, str] | None = None,
    ) -> SeriesInfo:
        """CREATE TIMESERIES; IoTDB's default encoding/compressor when omitted; an optional
        alias, tags and attributes (`SeriesMeta`)."""
        device, name = _schema_statements.split_series_path(path)
        spec = (name, data_type, encoding, compressor, props)
        meta = SeriesMeta(alias, tags, attributes)
        return self.create_series_groups([(device, [spec], False, [meta])])[0]

    def create_aligned_timeseries(
        self,
        device: str,
        measurements: Sequence[str],
        data_types: Sequence[TSDataType | str],
        encodings: Sequence[object] | None = None,
        compressors: Sequence[object] | None = None,
        metas: Sequence[SeriesMeta | None] | None = None,
    ) -> list[SeriesInfo]:
        """CREATE ALIGNED TIMESERIES device(m1 type, m2 type, ...)."""
        n = len(measurements)
        if len(data_types) != n:
            raise SchemaError(f"{device}: {n} measurements but {len(data_types)} types", device)
        encs = list(encodings) if encodings is not None else [None] * n
        comps = list(compressors) if compressors is not None else [None] * n
        specs: list[_schema_statements.SeriesSpec] = [
            (m, t, e, c, None)
            for m, t, e, c in zip(measurements, data_types, encs, comps, strict=True)
        ]
        return self.create_series_groups([(device, specs, True, metas)])

    def create_series_groups(
        self,
        groups: Sequence[
            tuple[
                str,
                Sequence[_schema_statements.SeriesSpec],
                bool,
                Sequence[SeriesMeta | None] | None,
            ]
        ],
        *,
        origin: Origin = CLIENT,
        template: str | None = None,
    ) -> list[SeriesInfo]:
        """Create the series of several devices at once — ``(device, specs, aligned, metas)``
        each — all or none (one schema-log append); their `SeriesInfo`s in order.
        `template`: the schema template that makes them (its activation or extension); their
        records carry ``"template": name`` (`publish_schema`)."""
        self._check_open()
        with self._lock:
            scratch = _copy_schema(self._schema)
            records: list[dict] = []
            names: list[str] = []
            for device, specs, aligned, metas in groups:
                canonical, recs = _schema_statements.plan_create_series(
                    scratch, self.config, device, specs, aligned, metas
                )
                for r in recs:
                    scratch.apply(r)
                records += recs
                names += [f"{canonical}.{join_path([spec[0]])}" for spec in specs]
            self._log_schema(_marked(records, template), origin)
            out = [self._schema.resolve(name) for name in names]
        return [s for s in out if s is not None]

    def set_series_meta(
        self, path: str, meta: SeriesMeta, *, origin: Origin = CLIENT
    ) -> SeriesInfo:
        """Replace the alias, tags and attributes of the series at `path` (name or alias)."""
        self._check_open()
        with self._lock:
            records = _schema_statements.plan_series_meta(self._schema, path, meta)
            self._log_schema(records, origin)
            entry = self._schema.devices[records[0]["device"]]
            return entry.info(records[0]["measurement"])

    def delete_timeseries(
        self, pattern: str, *, origin: Origin = CLIENT, template: str | None = None
    ) -> list[str]:
        """DELETE TIMESERIES: drop the matching series and all their data; their paths.

        SchemaError when nothing matches. `template`: a schema template's deactivation
        removes them (their records carry ``"template": name``).
        """
        self._check_open()
        compiled = parse_pattern(pattern)
        with self._maintenance:
            with self._lock:
                series = list(self._schema.iter_series(compiled))
                if not series:
                    raise SchemaError(f"timeseries {pattern} does not exist", pattern)
                seq = self._next_seq()
                body = encode_delete(compiled.text, MIN_TIME, MAX_TIME, origin)
                position = self._wal.append([frame(seq, body)], seq)
                self._apply_delete(compiled.text, MIN_TIME, MAX_TIME, seq, origin, replay=False)
                records = [
                    {"op": "delete_series", "device": s.device, "measurement": s.measurement}
                    for s in series
                ]
                self._log_schema(_marked(records, template), origin)
            self._wal.sync(position)
        return [s.path for s in series]

    def _log_schema(self, records: list[dict], origin: Origin = CLIENT) -> None:
        if not records:
            return
        self._schema_log.append(records)
        for r in records:
            self._schema.apply(r)
        self._history_schema(records, origin)

    def _history_schema(self, records: Sequence[dict], origin: Origin) -> None:
        """Log a schema change for pipes to replay (`schema_history`) and publish it."""
        index = self._schema_history.append(self._seq, records, origin)
        if self._publisher.active:
            change = StoreSchemaChange(self._seq, tuple(records), origin, index=index)
            self._publisher.publish(change)

    def publish_schema(self, records: Sequence[dict], *, origin: Origin = CLIENT) -> None:
        """Hand schema records of what the store does not keep itself (the kernel's schema
        templates: ``create_template``, ``set_template``, ``activate_template`` …) to the
        schema subscribers, in order with the store's own schema changes and data. They are
        not logged (their owner persists them) and never applied to the store's schema.
        Records of series a template makes or removes carry ``"template": name``
        (`create_series_groups`, `delete_timeseries`): a pipe sends the template's record
        instead of them. They are logged in the schema history (`schema_history`) that a
        pipe's subscription replays."""
        self._check_open()
        with self._lock:
            if records:
                self._history_schema(records, origin)

    @property
    def schema_position(self) -> int:
        """The index the next schema change gets in the schema history: what a new pipe
        passes as `subscribe`'s ``schema_from`` (changes before it are not its own)."""
        with self._lock:
            return self._schema_history.next_index

    def schema_records(self) -> list[dict]:
        """The records that rebuild the current schema (databases, series, their metadata):
        a consistent snapshot for a pipe's schema history."""
        self._check_open()
        with self._lock:
            return list(self._schema.records())

    def series(self, path: str) -> SeriesInfo | None:
        """The series at a full path, or None."""
        with self._lock:
            return self._schema.resolve(path)

    def devices_in_creation_order(self) -> list[str]:
        """The devices (canonical paths) in the order their first series was created (the
        order `schema_records` rebuilds; `device_types` lists each one's measurements in
        theirs): what IoTDB's column order of a wildcard SELECT depends on."""
        with self._lock:
            return list(self._schema.devices)

    def device_types(self, device: str) -> dict[str, TSDataType] | None:
        """{measurement: data type} of a device (a canonical path), one lookup for a whole
        tablet; None when the device has no series. Aliases are not keys (`series` resolves
        them)."""
        with self._lock:
            entry = self._schema.devices.get(device)
            if entry is None:
                return None
            return {name: schema.data_type for name, schema in entry.measurements.items()}

    def device_aligned(self, device: str) -> bool | None:
        """Whether the device (a canonical path) is aligned; None when it has no series."""
        with self._lock:
            entry = self._schema.devices.get(device)
            return None if entry is None else entry.aligned

    def list_series(self, pattern: str = "root.**") -> list[SeriesInfo]:
        """Series matching a pattern, ordered by device then measurement."""
        with self._lock:
            return list(self._schema.iter_series(parse_pattern(pattern)))

    def show_databases(self, pattern: str = "root.**") -> StoreRows:
        """SHOW DATABASES' data: `DatabaseRow`s (database, schema and data replication factor,
        time partition interval: 1, 1 and `time_partition_interval` here)."""
        with self._lock:
            return _schema_statements.show_databases(self._schema, pattern, self.config)

    def show_timeseries(self, pattern: str = "root.**") -> StoreRows:
        """SHOW TIMESERIES' data: `SeriesRow`s, IoTDB 1.3's fields (alias, tags... None)."""
        with self._lock:
            return _schema_statements.show_timeseries(self._schema, pattern)

    def show_devices(self, pattern: str = "root.**") -> StoreRows:
        """SHOW DEVICES' data: `DeviceRow`s (device, aligned "true"/"false", template None)."""
        with self._lock:
            return _schema_statements.show_devices(self._schema, pattern)

    def count_timeseries(self, pattern: str = "root.**") -> int:
        return len(self.list_series(pattern))

    # ------------------------------------------------------------------ writes
    def insert_tablet(self, tablet: Tablet, origin: Origin = CLIENT) -> int:
        """Write a tablet; returns its sequence number once the WAL has it (see wal_mode)."""
        return self.insert_tablets([tablet], origin)[-1]

    def insert_tablets(
        self, tablets: Sequence[Tablet], origin: Origin = CLIENT, *, copy: bool = True
    ) -> list[int]:
        """Write several tablets as one atomic batch (one WAL write); their sequence numbers.

        The store keeps a private copy of each tablet; ``copy=False`` hands the tablets over
        instead (the caller made them for this call and never touches their arrays again)."""
        self._check_open()
        if copy:
            return self._insert([_prepare_tablet(t) for t in tablets], origin)
        return self._insert([_canonical_tablet(t) for t in tablets], origin)

    def _insert(self, tablets: list[Tablet], origin: Origin) -> list[int]:
        """Write tablets that are private to the store and have canonical device paths."""
        prepared = [t for t in tablets if t.row_count and t.schemas]  # all-null: nothing
        if not prepared:
            return [self._seq] * max(1, len(tablets))
        bodies = [insert_parts(t, origin) for t in prepared] if self._wal.enabled else []
        switch = False
        with self._lock:
            self._check_open()
            records: list[dict] = []
            scratch = None
            for t in prepared:
                recs = self._plan(t, scratch)
                if recs:
                    scratch = scratch or _copy_schema(self._schema)
                    for r in recs:
                        scratch.apply(r)
                    records += recs
            if records:
                self._log_schema(records, origin)
            seqs = list(range(self._seq + 1, self._seq + 1 + len(prepared)))
            position = 0
            if bodies:
                if len(bodies) == 1:  # written from the tablet's own arrays (no joined copy)
                    frames = frame_parts(seqs[0], bodies[0])
                else:  # a multi-row statement is one entry: all of it survives, or none
                    joined = [b"".join(b) for b in bodies]
                    frames = [frame(seqs[-1], encode_batch(seqs, joined))]
                try:
                    position = self._wal.append(frames, seqs[-1])
                except BaseException:
                    self._seq = seqs[-1]  # a refused write's numbers are never given again
                    raise
            for seq, t in zip(seqs, prepared, strict=True):
                self._seq = seq
                self._apply_insert(t, seq, origin)
            switch = self._over_threshold()
            if switch:
                self._switch_locked()
        self._wal.sync(position)
        if switch:
            self._flusher.kick()
        return seqs

    def _plan(self, tablet: Tablet, scratch: SchemaRegistry | None) -> list[dict]:
        schema = scratch or self._schema
        return schema.plan_writes(tablet.device, tablet.schemas, tablet.aligned, self.config)

    def insert_record(
        self,
        device: str,
        timestamp: int,
        values: Mapping[str, object],
        *,
        data_types: Mapping[str, object] | None = None,
        aligned: bool = False,
        origin: Origin = CLIENT,
    ) -> int:
        """Write one row: {measurement: value} (None = null). See `values` for typing rules."""
        return self.insert_records(
            [(device, timestamp, values)], data_types=data_types, aligned=aligned, origin=origin
        )[0]

    def insert_records(
        self,
        records: Iterable[tuple[str, int, Mapping[str, object]]] | Sequence[str],
        timestamps: Sequence[int] | None = None,
        values: Sequence[Mapping[str, object]] | None = None,
        *,
        data_types: Mapping[str, object] | None = None,
        aligned: bool = False,
        origin: Origin = CLIENT,
    ) -> list[int]:
        """Write several rows as one atomic batch; one sequence number per row.

        Either ``insert_records([(device, timestamp, {measurement: value}), ...])`` or, as
        IoTDB's session API, ``insert_records(devices, timestamps, [{measurement: value}])``.
        """
        self._check_open()
        rows: list[tuple[Any, Any, Any]]
        if timestamps is not None or values is not None:
            if timestamps is None or values is None:
                raise TypeError("insert_records(devices, timestamps, values) needs all three")
            devices = list(records)
            if not len(devices) == len(timestamps) == len(values):
                raise ValueError(
                    f"insert_records: {len(devices)} devices, {len(timestamps)} timestamps and "
                    f"{len(values)} value maps"
                )
            rows = list(zip(devices, timestamps, values, strict=True))
        else:
            rows = list(records)  # type: ignore[arg-type]
        tablets = []
        for device, timestamp, row in rows:
            device = canonical_device(device)[0]
            with self._lock:
                entry = self._schema.devices.get(device)
                known = {m: s.data_type for m, s in entry.measurements.items()} if entry else {}
            tablets.append(
                record_tablet(device, timestamp, row, known, self.config, data_types, aligned)
            )
        return self._insert(tablets, origin)  # built here: no copy needed

    def insert_rows(
        self,
        device: str,
        timestamps: Sequence[int],
        rows: Sequence[Mapping[str, object]],
        *,
        data_types: Mapping[str, object] | None = None,
        aligned: bool = False,
        origin: Origin = CLIENT,
    ) -> int:
        """Write rows of one device as ONE write (one sequence number, one listener event),
        as IoTDB writes a multi-row INSERT: see `rows.rows_tablet` for typing, order and
        rows sharing a timestamp. Returns the write's sequence number."""
        self._check_open()
        device = canonical_device(device)[0]
        with self._lock:
            entry = self._schema.devices.get(device)
            known = {m: s.data_type for m, s in entry.measurements.items()} if entry else {}
        tablet = rows_tablet(device, timestamps, rows, known, self.config, data_types, aligned)
        if tablet is None:
            return self._seq
        return self._insert([tablet], origin)[0]

    def _apply_insert(self, tablet: Tablet, seq: int, origin: Origin) -> None:
        entry = self._schema.devices[tablet.device]
        boundary = self._last_flushed.get(tablet.device)
        times = tablet.timestamps
        bounds = (int(np.minimum.reduce(times)), int(np.maximum.reduce(times)))
        if boundary is None or bounds[0] > boundary:
            parts = [(True, tablet)]
        elif bounds[1] <= boundary:
            parts = [(False, tablet)]
        else:
            newer = times > boundary
            parts = [(True, tablet.take(newer)), (False, tablet.take(~newer))]
        for sequence, part in parts:
            key = (entry.database, sequence)
            mt = self._working.get(key)
            if mt is None:
                mt = self._working[key] = MemTable(entry.database, sequence)
            mt.append(part, entry.nodes, seq, origin, bounds if part is tablet else None)
        if self._publisher.active:
            self._publisher.publish(InsertEvent(seq, tablet, origin, entry.database))

    def _over_threshold(self) -> bool:
        total = sum(m.nbytes for m in self._working.values())
        if total >= self.config.memtable_size_threshold:
            return True
        limit = self.config.avg_series_point_number_threshold
        return any(m.avg_series_points() >= limit for m in self._working.values())

    def _switch_locked(self) -> _flush.Generation | None:
        """Move the working memtables to a new flush generation (under the state lock)."""
        memtables = [m for m in self._working.values() if not m.empty]
        self._working = {}
        if not memtables:
            return None
        gen = _flush.Generation(memtables, self._seq)
        for m in memtables:
            if m.sequence:
                for device, data in m.devices.items():
                    old = self._last_flushed.get(device, MIN_TIME)
                    self._last_flushed[device] = max(old, data.max_time)
        self._flushing.append(gen)
        self._wal.roll()
        return gen

    # ------------------------------------------------------------------ deletion
    def delete(
        self,
        path_pattern: str,
        start: int = MIN_TIME,
        end: int = MAX_TIME,
        origin: Origin = CLIENT,
    ) -> int:
        """DELETE FROM pattern WHERE start <= time <= end; returns the deletion's sequence."""
        self._check_open()
        pattern = parse_pattern(path_pattern)
        if start > end:
            return self._seq
        with self._maintenance:
            with self._lock:
                self._check_open()
                seq = self._next_seq()
                body = encode_delete(pattern.text, start, end, origin)
                position = self._wal.append([frame(seq, body)], seq)
                self._apply_delete(pattern.text, start, end, seq, origin, replay=False)
            self._wal.sync(position)
        return seq

    def _apply_delete(
        self, pattern_text: str, start: int, end: int, seq: int, origin: Origin, replay: bool
    ) -> None:
        pattern = parse_pattern(pattern_text)
        for mt in self._all_memtables():
            mt.delete(pattern, start, end)
        deletion = Deletion(pattern_text, start, end)
        for f in self._files.all():
            if f.seal_seq > seq or not _file_may_match(f, pattern, start, end):
                continue
            if replay and any(d.same_effect(deletion) for d in f.mods):
                continue
            offset = f.path.stat().st_size if f.path.exists() else 0
            d = Deletion(pattern_text, start, end, offset)
            append_mods(f.mods_path, [d], sync=self.config.wal_mode != "DISABLE")
            first_mods = not f.mods
            f.mods = (*f.mods, d)
            if first_mods:
                f.write_side_files(sync=False)
        event = StoreDeletion(seq, pattern_text, start, end, origin)
        self._record_deletion(event, replay)
        if not replay:
            self._publisher.publish(event)

    def _record_deletion(self, event: StoreDeletion, replay: bool) -> None:
        """Add a deletion to the history pipes replay from (durable; see `deletions`)."""
        history = self._deletions
        if replay and history and event.seq <= history[-1].seq:
            return  # recovery: already recorded before the crash
        history.append(event)
        self._deletion_log.append(event)
        if len(history) > MAX_DELETIONS:
            del history[: len(history) - MAX_DELETIONS]
            if self._deletion_log.lines > 2 * MAX_DELETIONS:
                self._deletion_log.rewrite(history)

    def _all_memtables(self) -> list[MemTable]:
        out = [m for g in self._flushing for m in g.memtables]
        return out + list(self._working.values())

    # ------------------------------------------------------------------ flush
    def flush(self) -> list[SealedFile]:
        """FLUSH: seal every memtable into TsFiles now; returns the files sealed."""
        self._check_open()
        with self._lock:
            gen = self._switch_locked()
            pending = list(self._flushing)
        if not pending:
            return []
        self._flusher.kick()
        for g in pending:
            g.wait()
        return gen.sealed if gen is not None else []

    def flush_async(self) -> bool:
        """Start sealing every memtable now without waiting for it (a pipe source that hands
        on sealed files asks for this rather than waiting for an unrelated flush); True when
        there was something to seal. The seals are published to subscribers as usual."""
        self._check_open()
        with self._lock:
            gen = self._switch_locked()
        if gen is None:
            return False
        self._flusher.kick()
        return True

    # ------------------------------------------------------------------ LOAD
    def load_tsfile(
        self,
        path: str | os.PathLike[str],
        origin: Origin = CLIENT,
        *,
        on_success: str = "none",
        verify: bool = True,
        encodings: Mapping[str, str] | None = None,
    ) -> SealedFile:
        """LOAD a TsFile (format v3 or v4): validate, create missing schema, add atomically.

        `on_success` = "delete" removes the source file after a successful load (IoTDB's
        ``onSuccess=delete``). A file that fails validation raises CorruptFileError /
        UnsupportedFormatError / SchemaError and nothing is loaded. `encodings` (series path ->
        encoding name): what a series the load creates is declared with, where the file's
        chunks had to use another encoding (a pipe sender's BOOLEAN RLE is written PLAIN).
        """
        self._check_open()
        return _load.load_tsfile(
            self, Path(path), origin, on_success=on_success, verify=verify, encodings=encodings
        )

    def record_file_deletions(
        self,
        path: str | os.PathLike[str],
        deletions: Sequence[Deletion],
        expect: Sequence[Deletion],
    ) -> tuple[Deletion, ...] | None:
        """Record `deletions` against the one sealed file at `path` (a pipe receiver given the
        same TsFile again with newer mods); None, nothing changed, when the file is gone, its
        mods are not `expect` any more or newer data overlaps it (see `file_mods`)."""
        return _file_mods.record_file_deletions(self, Path(path), deletions, expect)

    # ------------------------------------------------------------------ queries
    def query(
        self,
        paths: str | Sequence[str],
        start: int | None = None,
        end: int | None = None,
        value_filter: ValueFilter | None = None,
        *,
        limit: int | None = None,
        offset: int = 0,
    ) -> QueryResult:
        """Raw data of series (full paths or patterns) with start <= time <= end.

        Memtables and sealed files are merged (last write wins, deletions applied). The result
        is aligned by time: one row per timestamp any selected series has.
        """
        self._check_open()
        return _query.run_query(self, paths, start, end, value_filter, limit, offset)

    def set_retention(self, visible_from: Callable[[str], int | None] | None) -> None:
        """Hide old data from queries: `visible_from(device)` is the earliest time of the
        device that `query`, `aggregate` and `last` return (None: all of it) — the kernel's
        TTL (`pipecore.ttl`). None removes the hook."""
        self._retention = visible_from

    @property
    def retention(self) -> Callable[[str], int | None] | None:
        """The hook `set_retention` installed (None: none)."""
        return self._retention

    def aggregate(
        self,
        specs: Sequence[AggregateSpec | tuple[str, str]],
        start: int | None = None,
        end: int | None = None,
    ) -> StoreRows:
        """Aggregates, e.g. ``[("count", "root.sg.**"), ("avg", "root.sg.d1.s1")]``: one row,
        one column per (function, series), named like IoTDB (``count(root.sg.d1.s1)``)."""
        self._check_open()
        return _query.run_aggregate(self, specs, start, end)

    def last(self, paths: str | Sequence[str], start: int | None = None) -> StoreRows:
        """SELECT LAST: columns Time, Timeseries, Value, DataType; one row per series."""
        self._check_open()
        return _query.run_last(self, paths, start)

    def _snapshot(self, paths: str | Sequence[str], start: int, end: int) -> _query.Snapshot:
        with self._lock:
            self._check_open()
            series = _query.resolve_series(self._schema, paths)
            devices = {s.device for s in series}
            files = [
                (f, f.mods)
                for f in self._files.all()
                if any(
                    d in f.device_times and _overlaps(f.device_times[d], start, end)
                    for d in devices
                )
            ]
            mems = [m.snapshot() for m in self._all_memtables()]
        return _query.Snapshot(series, files, mems)

    # ------------------------------------------------------------------ pipes
    def subscribe(
        self,
        name: str,
        capacity_events: int | None = None,
        capacity_bytes: int | None = None,
        *,
        replay_from: int | None = None,
        on_event: Callable[[], None] | None = None,
        schema: bool = False,
        schema_from: int = 0,
    ) -> Subscription:
        """A subscription to every event with a sequence number after `last_seq`.

        `on_event`, when given, is called after each live event is queued (on the writer's
        thread, with no store lock held): a consumer that polls uses it to wake up at once
        instead of on its next poll. It must be quick and must not block.

        With `schema`, the subscription also receives a `StoreSchemaChange` for every schema
        change (never dropped by a full queue).

        With `replay_from`, the queue first holds (atomically, nothing missed in between)
        what the store still has from that sequence number on: `TsFileSealedEvent`s for sealed
        files that cover it, then the memtable's inserts and deletions (see `replay`). With
        `schema` too, the schema changes the store made after write ``replay_from - 1`` (and
        numbered at least `schema_from` in the schema history: `schema_position`) come first,
        in order, marked ``replayed`` (`schema_history`); ``sub.schema_truncated`` says some
        of them were trimmed from the history.
        """
        self._check_open()
        cap_e = capacity_events or self.config.pipe_subscription_capacity_events
        cap_b = capacity_bytes or self.config.pipe_subscription_capacity_bytes
        with self._lock:
            sub = Subscription(
                name, cap_e, cap_b, self._seq + 1, self._publisher.remove, on_event, schema
            )
            if replay_from is not None:
                events = self._replay_locked(replay_from, with_files=True)
                if schema:
                    replay = self._schema_history.replay(replay_from, schema_from)
                    sub.schema_truncated = replay.truncated
                    events = [*replay.changes, *events]
                sub.prefill(events)
            self._publisher.add(sub)
        return sub

    def sealed_files(self, database: str | None = None) -> list[SealedFile]:
        """Every sealed and loaded file (oldest version first), optionally of one database."""
        with self._lock:
            files = self._files.all()
        return [f for f in files if database is None or f.database == database]

    def files_covering(self, first_seq: int, last_seq: int) -> list[SealedFile]:
        """Sealed files holding writes (or sealed by events) with sequence in the range."""
        with self._lock:
            return [f for f in self._files.all() if f.covers_seq(first_seq, last_seq)]

    def sealed_below(self) -> int:
        """Every write with a smaller sequence number is in a sealed file whose
        `TsFileSealedEvent` has been published: the smallest sequence number still held by a
        memtable (working or being flushed), or ``last_seq + 1`` when none holds any."""
        with self._lock:
            held = [m.min_seq for m in self._all_memtables() if m.min_seq >= 0]
            return min(held) if held else self._seq + 1

    def replay(self, from_seq: int) -> list[Event]:
        """Inserts and deletions with sequence >= `from_seq` still in memtables, in order."""
        with self._lock:
            return self._replay_locked(from_seq, with_files=False)

    def _replay_locked(self, from_seq: int, with_files: bool) -> list[Event]:
        files = self._files.all() if with_files else []
        return replay_events(files, self._all_memtables(), self._deletions, from_seq)

    def read_sealed(
        self,
        file: SealedFile | str | os.PathLike[str],
        pattern: str = "root.**",
        start: int | None = None,
        end: int | None = None,
        max_rows: int = 65536,
    ) -> Iterator[Tablet]:
        """A sealed (or pinned) file's rows as tablets, its deletions applied, restricted to
        series matching `pattern` and to ``[start, end]`` (how a pipe turns a file into
        tablet events). A `SealedFile` uses the deletions known now; a path its ``.mods``."""
        path = file.path if isinstance(file, SealedFile) else Path(file)
        deletions = file.mods if isinstance(file, SealedFile) else None
        lo = MIN_TIME if start is None else start
        hi = MAX_TIME if end is None else end
        return read_tsfile_tablets(path, pattern, lo, hi, deletions=deletions, max_rows=max_rows)

    def pin(self, file: SealedFile | str | os.PathLike[str], pipe_name: str) -> Path:
        """Hard-link a sealed file (and its side files) under ``pipe/<pipe_name>/``."""
        with self._lock:
            f = file if isinstance(file, SealedFile) else self._files.get(Path(file))
            if f is None or self._files.get(f.path) is None:
                raise PinError(f"{file} is not a sealed file of the store at {self.path}")
            return pin_file(self.layout, f, pipe_name)

    def unpin(self, file: SealedFile | str | os.PathLike[str], pipe_name: str) -> bool:
        f = file if isinstance(file, SealedFile) else Path(file)
        return unpin_file(self.layout, f, pipe_name)

    def unpin_all(self, pipe_name: str) -> None:
        unpin_all(self.layout, pipe_name)

    def pinned(self, pipe_name: str) -> list[Path]:
        return pinned_files(self.layout, pipe_name)

    # ------------------------------------------------------------------ statistics
    def stats(self) -> StoreStats:
        """WAL, memtable, flush, sealed and pinned figures now (`pipecore_storage.stats`)."""
        return store_stats(self)


# ---------------------------------------------------------------------- helpers
def _prepare_tablet(tablet: Tablet) -> Tablet:
    """A private copy of `tablet` with its device path in canonical form."""
    device = canonical_device(tablet.device)[0]
    return Tablet(
        device,
        tablet.schemas,
        np.array(tablet.timestamps, dtype=np.int64, copy=True),
        [np.array(c, copy=True) for c in tablet.columns],
        [None if m is None else np.array(m, copy=True) for m in tablet.null_masks],
        tablet.aligned,
    )


def _canonical_tablet(tablet: Tablet) -> Tablet:
    """`tablet` itself when its device path is canonical, else with the canonical path."""
    device = canonical_device(tablet.device)[0]
    if device == tablet.device:
        return tablet
    return attrs.evolve(tablet, device=device)


def _marked(records: list[dict], template: str | None) -> list[dict]:
    """`records` with ``"template": template`` (the registry ignores the key)."""
    if template is None:
        return records
    return [{**r, "template": template} for r in records]


def _copy_schema(schema: SchemaRegistry) -> SchemaRegistry:
    copy = SchemaRegistry()
    copy.databases = dict(schema.databases)
    copy.devices = {
        d: attrs.evolve(e, measurements=dict(e.measurements), meta=dict(e.meta))
        for d, e in schema.devices.items()
    }
    return copy


def _overlaps(rng: tuple[int, int], start: int, end: int) -> bool:
    return rng[0] <= end and rng[1] >= start


def _file_may_match(f: SealedFile, pattern, start: int, end: int) -> bool:
    for device, rng in f.device_times.items():
        if _overlaps(rng, start, end) and pattern.may_match_device(split_path(device)):
            return True
    return False
