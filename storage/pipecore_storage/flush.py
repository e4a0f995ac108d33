"""Flushing: sealing memtables into TsFiles, in the background or on demand.

When the working memtables pass a threshold (`memtable_size_threshold` bytes in all, or
`avg_series_point_number_threshold` points per series in one), on `Store.flush()` and on close,
they move together into a *generation* and the WAL rolls to a new segment. The flush thread
writes one TsFile per memtable (one per database and kind), then under the store lock gives
it a seal sequence number, writes its ``.meta`` and ``.resource`` (the commit point), makes
it visible to queries in place of the memtable, and tells listeners. When every file of the
generation is sealed, ``wal/checkpoint`` records the generation's last sequence number and
the WAL segments it covered are deleted. Generations are sealed in order.
"""

from __future__ import annotations

import errno
import logging
import threading
import time
from typing import TYPE_CHECKING

import attrs
import numpy as np

from .errors import StoreClosedError
from .flush_worker import FlushWorker, WorkerError, memtable_tablets, write_tablets
from .listeners import TsFileSealedEvent
from .memtable import MemTable
from .resource import SealedFile, tsfile_name
from .tablet import MeasurementSchema
from .tsfile.encoding import writable
from .types import TSFILE_DEFAULT_ENCODINGS, TSDataType, TSEncoding
from .wal import write_checkpoint

if TYPE_CHECKING:
    from .store import Store

__all__ = ["Flusher", "Generation", "file_schema", "write_memtable"]

log = logging.getLogger(__name__)


@attrs.define(eq=False)
class Generation:
    """Memtables switched out together, waiting to be sealed."""

    memtables: list[MemTable]
    switch_seq: int
    sealed: list[SealedFile] = attrs.field(factory=list)
    error: BaseException | None = None
    _done: threading.Event = attrs.field(factory=threading.Event)

    def wait(self) -> None:
        """Block until sealed; re-raise the error that made the flush fail."""
        self._done.wait()
        if self.error is not None:
            raise self.error

    @property
    def done(self) -> bool:
        return self._done.is_set()


class Flusher:
    """The store's flush thread."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._cv = threading.Condition()
        self._kicked = False
        self._stop = False
        self.generations = 0  # flushes done since the store opened (for the node's metrics)
        self.files = 0  # TsFiles they sealed
        self.worker = FlushWorker()  # seals large memtables (`flush_worker`)
        self._thread = threading.Thread(target=self._run, name="pipecore-flush", daemon=True)
        self._thread.start()

    def kick(self) -> None:
        with self._cv:
            self._kicked = True
            self._cv.notify()

    def stop(self) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify()
        if self._thread is not threading.current_thread():
            self._thread.join()
        self.worker.close()
        for gen in list(self._store._flushing):  # never sealed: released, data stays in WAL
            if not gen.done:
                gen.error = gen.error or _closed_error(self._store)
                gen._done.set()

    def _run(self) -> None:
        interval = self._store.config.seq_memtable_flush_check_interval_in_ms / 1000.0
        while True:
            with self._cv:
                if not self._kicked and not self._stop:
                    self._cv.wait(interval)
                if self._stop:
                    return
                self._kicked = False
            self._timed_switch()
            self._flush_pending()

    def _timed_switch(self) -> None:
        cfg = self._store.config
        if not cfg.enable_timed_flush_seq_memtable:
            return
        limit = cfg.seq_memtable_flush_interval_in_ms / 1000.0
        now = time.monotonic()
        with self._store._lock:
            if self._store._closed:
                return
            if any(now - m.created_at >= limit for m in self._store._working.values()):
                self._store._switch_locked()

    def _flush_pending(self) -> None:
        store = self._store
        while True:
            with store._lock:
                pending = [g for g in store._flushing if not g.done]
            if not pending:
                return
            gen = pending[0]
            try:
                flush_generation(store, gen)
            except BaseException as exc:  # keep the thread alive; the data stays in the WAL
                if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
                    log.warning("flush postponed: %s (the data stays in memory and the WAL)", exc)
                else:
                    log.exception("flush of a memtable generation failed")
                gen.error = exc
                with store._lock:
                    if gen in store._flushing:
                        store._flushing.remove(gen)
                        # give the data back to the working set so it is not lost from memory
                        for m in gen.memtables:
                            _return_memtable(store, m)
                gen._done.set()
                return
            self.generations += 1
            self.files += len(gen.sealed)
            gen._done.set()


def _closed_error(store: Store) -> BaseException:
    return StoreClosedError(f"{store.path}: closed before the flush finished")


def _return_memtable(store: Store, m: MemTable) -> None:
    key = (m.database, m.sequence)
    existing = store._working.get(key)
    if existing is None:
        store._working[key] = m
        return
    for data, chunk in m.iter_chunks():
        for seq, tablet in chunk.writes(data.device, data.schemas, data.aligned):
            existing.append(tablet, data.nodes, seq, chunk.origin)


def flush_generation(store: Store, gen: Generation) -> None:
    # statistics of series holding +-inf overflow to NaN sums; that is the format's answer
    with store._maintenance, np.errstate(over="ignore", invalid="ignore"):
        for mt in list(gen.memtables):
            f = write_memtable(store, mt)
            with store._lock:
                if mt not in gen.memtables:  # its database was deleted meanwhile
                    _discard(f)
                    continue
                if f is not None:
                    f.seal_seq = store._next_seq()
                    try:  # renamed in now, fsynced below: writers do not wait for the disk
                        f.write_side_files(sync=False)
                    except BaseException:
                        _discard(f)  # a full disk: the memtable stays, the file goes
                        raise
                    store._files.add(f)
                    gen.sealed.append(f)
                gen.memtables.remove(mt)
                if f is not None:
                    store._publisher.publish(TsFileSealedEvent(f.seal_seq, f))
        # The side files reach the disk before the checkpoint lets the WAL go: until then a
        # power loss leaves the WAL to replay the generation (recovery drops files newer than
        # the checkpoint). Outside the store lock: writes go on meanwhile.
        for f in gen.sealed:
            f.sync_side_files()
        write_checkpoint(store.layout.wal, gen.switch_seq)
        with store._lock:
            store._wal.delete_segments_upto(gen.switch_seq)
            if gen in store._flushing:
                store._flushing.remove(gen)


def _discard(f: SealedFile | None) -> None:
    if f is not None:
        for p in f.side_paths():
            p.unlink(missing_ok=True)


def write_memtable(store: Store, mt: MemTable) -> SealedFile | None:
    """Write one memtable as a TsFile (no side files yet); None when it holds no points."""
    with store._lock:
        version = store._files.take_version()
        snapshot = mt.snapshot()
        schemas = _series_schemas(store, snapshot)
    folder = store.layout.folder(mt.database, mt.sequence)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / tsfile_name(int(time.time() * 1000), version)
    devices = []
    for device in sorted(snapshot):
        data, chunks = snapshot[device]
        sealed = {n: file_schema(schemas.get((device, n), s)) for n, s in data.schemas.items()}
        devices.append((device, data, chunks, sealed))
    fmt = store.config.tsfile_format_version
    device_times, points = None, 0
    if store.config.enable_flush_worker and (
        mt.nbytes >= store.config.flush_worker_min_memtable_bytes
    ):
        try:
            device_times, points = store._flusher.worker.write(path, fmt, devices)
        except WorkerError as exc:
            log.debug("flush worker did not write %s (%s); writing it here", path, exc)
    if device_times is None:
        device_times, points = write_tablets(path, fmt, memtable_tablets(devices))
    if not device_times:
        return None
    return SealedFile(
        path=path,
        database=mt.database,
        sequence=mt.sequence,
        version=version,
        device_times=device_times,
        min_seq=mt.min_seq,
        max_seq=mt.max_seq,
        seal_seq=-1,
        origin=mt.origin(),
        format_version=fmt,
        points=points,
    )


def file_schema(schema: MeasurementSchema) -> MeasurementSchema:
    """The schema a series is sealed with: its own, unless the official readers cannot decode
    that encoding. The official C++ reader (tsfile 2.5.0) fails on BOOLEAN RLE and FLOAT/DOUBLE
    RLE pages, so those are written PLAIN (BOOLEAN) and GORILLA (FLOAT/DOUBLE, lossless);
    other encodings TsFile can only read get the TsFile writer's default for the type."""
    dt = schema.data_type
    if writable(dt, schema.encoding):
        return schema
    if dt in (TSDataType.FLOAT, TSDataType.DOUBLE):
        encoding = TSEncoding.GORILLA
    else:
        encoding = TSFILE_DEFAULT_ENCODINGS[dt]
    return attrs.evolve(schema, encoding=encoding)


def _series_schemas(store: Store, snapshot: dict) -> dict[tuple[str, str], MeasurementSchema]:
    """The store's schema (encoding, compressor) of every series in the snapshot."""
    out = {}
    for device, (data, _chunks) in snapshot.items():
        entry = store._schema.devices.get(device)
        if entry is None:
            continue
        for name in data.schemas:
            s = entry.measurements.get(name)
            if s is not None and s.data_type == data.schemas[name].data_type:
                out[(device, name)] = s
    return out
