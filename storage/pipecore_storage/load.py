"""LOAD: adding an external TsFile (format v3 or v4) to the store.

1. Validate: open it with pipecore's reader and (with ``verify``) decode every page; read its
   ``.mods`` if one lies next to it. Any failure raises and nothing changes.
2. Check its series against the schema (a type conflict is a SchemaError naming the series)
   and plan the schema it needs (missing databases at `default_storage_group_level`, series
   with the file's encodings), unless auto-creation is off.
3. If a memtable holds data of the file's devices in the file's time ranges, flush first so
   the loaded file is newer than every write made before the LOAD.
4. Copy the file into ``load/``, fsync, and under the store lock rename it into the database's
   folder with a new version (``unsequence`` when it overlaps sealed data of its devices),
   write its side files, log the schema, register it, tell listeners. A file whose devices
   belong to several databases is rewritten as one file per database.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import numpy as np

from .errors import CorruptFileError, PipecoreError, SchemaError, UnsupportedFormatError
from .fsutil import fsync_dir, fsync_file
from .listeners import TsFileSealedEvent
from .mods import MIN_TIME, Deletion, append_mods, read_mods
from .origin import Origin
from .paths import join_path, split_path
from .resource import SealedFile, tsfile_name
from .schema import SUPPORTED_ENCODINGS, SchemaRegistry
from .tsfile import TsFileReader, TsFileWriter
from .types import TSEncoding

if TYPE_CHECKING:
    from .store import Store

__all__ = ["load_tsfile"]


class _Plan:
    def __init__(self) -> None:
        self.devices: dict[str, tuple[bool, list]] = {}  # device -> (aligned, schemas)
        self.times: dict[str, tuple[int, int]] = {}
        self.points = 0
        self.version = 4
        self.mods: list[Deletion] = []
        self.mods_read = False  # a .mods beside the file was read


def load_tsfile(
    store: Store,
    path: Path,
    origin: Origin,
    *,
    on_success: str = "none",
    verify: bool = True,
    encodings: Mapping[str, str] | None = None,
) -> SealedFile:
    if on_success not in ("none", "delete"):
        raise ValueError(f"on_success must be 'none' or 'delete', not {on_success!r}")
    if not path.is_file():
        raise CorruptFileError(path, None, "no such file")
    plan = _inspect(path, verify)
    with store._lock:
        by_db = _plan_schema(store, plan, encodings or {})
        need_flush = _overlaps_memtables(store, plan)
    if need_flush:
        store.flush()
    with store._maintenance:
        files = _install(store, path, plan, by_db, origin)
    if on_success == "delete":
        # only what was loaded: the TsFile and the .mods that was read with it (a .resource
        # or anything else beside it is not LOAD's to delete)
        path.unlink(missing_ok=True)
        if plan.mods_read:
            path.with_name(path.name + ".mods").unlink(missing_ok=True)
    return files[0]


def _inspect(path: Path, verify: bool) -> _Plan:
    plan = _Plan()
    try:
        reader = TsFileReader(path)
    except PipecoreError:
        raise
    except (OSError, ValueError, IndexError, KeyError) as exc:
        raise CorruptFileError(path, None, f"cannot read the TsFile: {exc}") from exc
    try:
        plan.version = int(reader.version)
        ranges = reader.device_time_ranges()
        for device in reader.devices():
            if not str(device).startswith("root."):
                raise UnsupportedFormatError(
                    f"{path}: device {device} is not a tree path (a table-model TsFile?); "
                    "the store holds the tree model"
                )
            canonical = join_path(split_path(str(device)))
            schemas = list(reader.schemas(device).values())
            plan.devices[canonical] = (bool(reader.is_aligned(device)), schemas)
            if verify:
                lo, hi, n = _decode_all(reader, device)
                if n:
                    plan.times[canonical] = (lo, hi)
                plan.points += n
            elif device in ranges:
                plan.times[canonical] = tuple(int(x) for x in ranges[device])  # type: ignore[assignment]
    except PipecoreError:
        raise
    except (OSError, ValueError, IndexError, KeyError, EOFError) as exc:
        raise CorruptFileError(path, None, f"invalid TsFile: {exc}") from exc
    finally:
        close = getattr(reader, "close", None)
        if close is not None:
            close()
    plan.devices = {d: v for d, v in plan.devices.items() if d in plan.times}
    if not plan.devices:
        raise CorruptFileError(path, None, "the TsFile holds no data")
    mods_path = path.with_name(path.name + ".mods")
    plan.mods_read = mods_path.is_file()
    plan.mods = read_mods(mods_path)
    return plan


def _decode_all(reader, device) -> tuple[int, int, int]:
    lo, hi, n = 2**63 - 1, MIN_TIME, 0
    for tablet in reader.read_tablets(device):
        if tablet.row_count:
            lo = min(lo, int(tablet.timestamps.min()))
            hi = max(hi, int(tablet.timestamps.max()))
            n += tablet.point_count()
    return lo, hi, n


def _hinted(device: str, schemas: list, encodings: Mapping[str, str]) -> list:
    """The file's schemas with the encodings the sender declared (`encodings`: series path ->
    encoding name) where the file had to be written with another one (BOOLEAN RLE is
    written PLAIN, ...): a series the load creates gets the declared encoding."""
    if not encodings:
        return schemas
    out = []
    for s in schemas:
        name = encodings.get(f"{device}.{s.name}")
        if name is not None:
            try:
                encoding = TSEncoding[name.upper()]
            except KeyError:
                encoding = s.encoding
            if encoding in SUPPORTED_ENCODINGS.get(s.data_type, ()):
                s = attrs.evolve(s, encoding=encoding)
        out.append(s)
    return out


def _plan_schema(
    store: Store, plan: _Plan, encodings: Mapping[str, str] | None = None
) -> dict[str, list[str]]:
    """Check the file against the schema; group its devices by database. No change made."""
    scratch = SchemaRegistry()
    scratch.databases = dict(store._schema.databases)
    scratch.devices = {d: e for d, e in store._schema.devices.items()}
    records: list[dict] = []
    for device, (aligned, schemas) in plan.devices.items():
        entry = store._schema.devices.get(device)
        if entry is not None and entry.aligned != aligned:
            kind = "aligned" if entry.aligned else "not aligned"
            raise SchemaError(f"{device} is {kind} in the store but not in the file", device)
        hinted = _hinted(device, schemas, encodings or {})
        recs = scratch.plan_writes(device, hinted, aligned, store.config, keep_encoding=True)
        for r in recs:
            _apply_scratch(scratch, r)
        records += recs
    plan.schema_records = records  # type: ignore[attr-defined]
    by_db: dict[str, list[str]] = {}
    for device in plan.devices:
        db = scratch.database_of(split_path(device))
        if db is None:
            raise SchemaError(f"{device}: no database for it", device)
        by_db.setdefault(db, []).append(device)
    return by_db


def _apply_scratch(scratch: SchemaRegistry, record: dict) -> None:
    if record["op"] == "create_series":
        entry = scratch.devices.get(record["device"])
        if entry is not None:  # do not mutate the live schema's entry
            scratch.devices[record["device"]] = attrs.evolve(
                entry, measurements=dict(entry.measurements)
            )
    scratch.apply(record)


def _overlaps_memtables(store: Store, plan: _Plan) -> bool:
    for mt in store._all_memtables():
        for device, (lo, hi) in plan.times.items():
            data = mt.devices.get(device)
            if data is not None and data.min_time <= hi and data.max_time >= lo:
                return True
    return False


def _install(
    store: Store, src: Path, plan: _Plan, by_db: dict[str, list[str]], origin: Origin
) -> list[SealedFile]:
    """Stage one file per database in ``load/``, then register them all under one lock."""
    store.layout.load.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[Path, str, list[str], int]] = []
    try:
        for database, devices in by_db.items():
            tmp = store.layout.load / f"{time.time_ns()}-{os.getpid()}-{len(staged)}.loading"
            staged.append((tmp, database, devices, plan.version))
            if len(by_db) == 1:
                shutil.copyfile(src, tmp)
            else:
                with np.errstate(over="ignore", invalid="ignore"):  # +-inf statistics sums
                    _rewrite(src, tmp, devices, plan, store.config.tsfile_format_version)
                staged[-1] = (tmp, database, devices, store.config.tsfile_format_version)
            fsync_file(tmp)
        with store._lock:
            return [
                _register(store, tmp, plan, database, devices, origin, fmt)
                for tmp, database, devices, fmt in staged
            ]
    finally:
        for tmp, *_rest in staged:
            tmp.unlink(missing_ok=True)


def _register(store, tmp, plan, database, devices, origin, fmt) -> SealedFile:
    times = {d: plan.times[d] for d in devices}
    sequence = all(
        lo > store._last_flushed.get(d, MIN_TIME) and not _in_working_seq(store, database, d)
        for d, (lo, _hi) in times.items()
    )
    folder = store.layout.folder(database, sequence)
    folder.mkdir(parents=True, exist_ok=True)
    version = store._files.take_version()
    final = folder / tsfile_name(int(time.time() * 1000), version)
    os.replace(tmp, final)
    fsync_dir(folder)
    seq = store._next_seq()
    f = SealedFile(
        path=final,
        database=database,
        sequence=sequence,
        version=version,
        device_times=times,
        min_seq=seq,
        max_seq=seq,
        seal_seq=seq,
        origin=origin,
        loaded=True,
        format_version=fmt,
        points=plan.points,
    )
    mods = [
        m for m in plan.mods if any(m.compiled.may_match_device(split_path(d)) for d in devices)
    ]
    if mods:
        append_mods(f.mods_path, mods)
        f.mods = tuple(mods)
    try:
        f.write_side_files()
        store._log_schema([r for r in plan.schema_records if _concerns(r, database)])
    except BaseException:
        for p in f.side_paths():
            p.unlink(missing_ok=True)
        raise
    store._files.add(f)
    if sequence:
        for d, (_lo, hi) in times.items():
            store._last_flushed[d] = max(store._last_flushed.get(d, MIN_TIME), hi)
    store._publisher.publish(TsFileSealedEvent(seq, f))
    return f


def _concerns(record: dict, database: str) -> bool:
    if record["op"] == "create_database":
        return record["name"] == database
    device = record.get("device", "")
    return device == database or device.startswith(database + ".")


def _in_working_seq(store: Store, database: str, device: str) -> bool:
    mt = store._working.get((database, True))
    return mt is not None and device in mt.devices


def _rewrite(src: Path, dst: Path, devices: list[str], plan: _Plan, fmt: int) -> None:
    """Copy only `devices` of `src` into a new TsFile `dst` (same schemas)."""
    reader = TsFileReader(src)
    writer = TsFileWriter(dst, format_version=fmt)
    try:
        names = {join_path(split_path(str(d))): d for d in reader.devices()}
        for device in devices:
            aligned, schemas = plan.devices[device]
            if aligned:
                writer.register_aligned_timeseries(device, schemas)
            else:
                for s in schemas:
                    writer.register_timeseries(device, s)
            for tablet in reader.read_tablets(names[device]):
                tablet.device = device
                writer.write_tablet(tablet)
    finally:
        writer.close()
        close = getattr(reader, "close", None)
        if close is not None:
            close()
