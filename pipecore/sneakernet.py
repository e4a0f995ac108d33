"""Sneakernet: EXPORT PIPE writes what a pipe would send into a bundle folder; IMPORT loads it on
a node that no network reaches.

Bundles live in ``<data dir>/sneakernet/<name>`` on both nodes (the name is one plain folder
name, `child_path`: a user-given name never becomes a path elsewhere). The operator carries
the folder — mount or link the USB stick there, or copy the folder.

A bundle::

    <name>/manifest.json       what is in it (below)
    <name>/manifest.sig        HMAC-SHA256 of manifest.json, hex, when a key was given
    <name>/data/000001.tsfile  the pipe's data: one TsFile per sealed file of the sender
    <name>/data/deletions.mods deletions of data sent in earlier bundles (when there are any)

The manifest: ``format`` (``pipecore-bundle/1``), ``id`` (unique), ``pipe``, ``cluster_id`` of
the sender, ``created`` (epoch ms), ``scope`` (the pipe's), ``progress`` (``from_seq``,
``to_seq``: the store sequence numbers the bundle covers), ``files`` (name, bytes, SHA-256,
points, devices), ``mods`` (name, bytes, SHA-256 and the ``deletions`` it holds: pattern,
start, end). The TsFiles are written from the store with the pipe's pattern and time range
applied and its deletions applied. A deletion made *after* a file was exported is appended to
that file's ``.mods`` on the sender: the next EXPORT ships those new entries (the export
progress counts, per sealed file, the entries already accounted for), clipped to the pipe's
scope (its time range, and the series it takes one by one: a wider pattern could delete the
receiver's other data), in ``data/deletions.mods`` — the store's
``.mods`` format. IMPORT applies them *before* loading the bundle's files: the files already
reflect every deletion made before the export, and data re-written after a deletion
survives.

EXPORT flushes, writes the bundle into ``<name>.partial``, fsyncs, renames it to ``<name>``,
and only then advances the pipe's export progress (``<pipe data dir>/export-progress.json``:
the sealed files exported and the last sequence number): the next EXPORT takes only the files
sealed (or loaded) after it. A bundle that was not completed leaves the
progress where it was. IMPORT checks the signature (when a key is given, and refuses a signed
bundle without one), every file's size and SHA-256, and that nothing else is in ``data/``;
then it loads each TsFile (marked as written by a pipe from the sender's cluster). A bundle
already imported (its ``id`` is recorded in ``<data dir>/system/imported-bundles.json``) is not
loaded again; loading twice would change nothing anyway (same series and time overwrite).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import attrs

from pipecore_storage.fsutil import atomic_write, child_path, fsync_dir, fsync_file
from pipecore_storage.mods import Deletion, append_mods, read_mods
from pipecore_storage.origin import Origin
from pipecore_storage.tsfile import TsFileWriter

from .errors import PipeError
from .verify import pipe_scope

__all__ = ["BundleError", "ExportReport", "ImportReport", "export_pipe", "import_bundle"]

log = logging.getLogger(__name__)

FORMAT = "pipecore-bundle/1"
_CHUNK = 1 << 20
MODS_NAME = "deletions.mods"


class BundleError(PipeError):
    """A bundle that cannot be written or that is refused (tampered, unsigned, incomplete)."""


@attrs.frozen
class ExportReport:
    bundle: str
    files: int
    points: int
    bytes: int
    from_seq: int
    to_seq: int


@attrs.frozen
class ImportReport:
    bundle: str
    files: int
    points: int
    already_imported: bool


def sneakernet_root(data_dir: Path) -> Path:
    return Path(data_dir) / "sneakernet"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _sign(key: str, manifest: bytes) -> str:
    return hmac.new(key.encode("utf-8"), manifest, hashlib.sha256).hexdigest()


# ---------------------------------------------------------------------- EXPORT
def _progress_path(manager: Any, pipe: str) -> Path:
    return Path(manager.catalog.pipe_data_dir(pipe)) / "export-progress.json"


def _exported(manager: Any, pipe: str) -> tuple[int, set[str], dict[str, int] | None]:
    """(the last exported sequence number, the sealed files already exported, the count of
    each one's ``.mods`` entries accounted for — None in a record older than that)."""
    try:
        record = json.loads(_progress_path(manager, pipe).read_text())
        mods = record.get("mods")
        counts = None if mods is None else {str(k): int(v) for k, v in mods.items()}
        return int(record["to_seq"]), set(record["files"]), counts
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return 0, set(), {}


def _later_deletions(
    store: Any, sealed: list[Any], done: set[str], counted: dict[str, int] | None, scope: Any
) -> list[Deletion]:
    """Deletions appended to already exported files since they were exported, clipped to
    the pipe's scope (see the module docstring), each once."""
    out: list[Deletion] = []
    for f in sealed:
        name = f.path.name
        if name not in done:
            continue
        first = len(f.mods) if counted is None else counted.get(name, 0)
        for d in f.mods[first:]:
            start, end = max(d.start, scope.start), min(d.end, scope.end)
            if start > end:
                continue
            for path in (s.path for s in store.list_series(d.pattern)):
                if not scope.takes(path):
                    continue
                clipped = Deletion(path, start, end)
                if not any(clipped.same_effect(o) for o in out):
                    out.append(clipped)
    return out


def _write_mods(folder: Path, deletions: list[Deletion]) -> dict[str, Any] | None:
    if not deletions:
        return None
    target = folder / MODS_NAME
    append_mods(target, deletions)
    return {
        "name": MODS_NAME,
        "bytes": target.stat().st_size,
        "sha256": _sha256(target),
        "deletions": [{"pattern": d.pattern, "start": d.start, "end": d.end} for d in deletions],
    }


def export_pipe(
    manager: Any, data_dir: Path, pipe: str, name: str, key: str | None
) -> ExportReport:
    """EXPORT PIPE `pipe` TO `name` (see the module docstring)."""
    scope = pipe_scope(manager, pipe)
    root = sneakernet_root(data_dir)
    final = child_path(root, name, "bundle name")
    partial = child_path(root, name + ".partial", "bundle name")
    if final.exists():
        raise BundleError(f"bundle {name} already exists in {root}; choose another name", pipe)
    store = manager.store
    store.flush()
    last_exported, done, counted = _exported(manager, pipe)
    from_seq, to_seq = last_exported + 1, store.last_seq
    shutil.rmtree(partial, ignore_errors=True)
    (partial / "data").mkdir(parents=True)
    files: list[dict[str, Any]] = []
    points = size = 0
    sealed = sorted(store.sealed_files(), key=lambda f: (f.seal_seq, f.path.name))
    mods = _write_mods(partial / "data", _later_deletions(store, sealed, done, counted, scope))
    for f in sealed:
        if f.path.name in done:  # (loaded files carry no sequence numbers: names decide)
            continue
        written = _write_file(store, f, scope, partial / "data" / f"{len(files) + 1:06d}.tsfile")
        if written is not None:
            files.append(written)
            points += written["points"]
            size += written["bytes"]
    manifest = {
        "format": FORMAT,
        "id": str(uuid.uuid4()),
        "pipe": pipe,
        "cluster_id": manager.cluster_id,
        "created": int(time.time() * 1000),
        "scope": {"patterns": list(scope.patterns), "start": scope.start, "end": scope.end},
        "progress": {"from_seq": from_seq, "to_seq": to_seq},
        "files": files,
        "mods": [] if mods is None else [mods],
    }
    text = json.dumps(manifest, indent=1, sort_keys=True).encode()
    atomic_write(partial / "manifest.json", text)
    if key:
        atomic_write(partial / "manifest.sig", _sign(key, text).encode())
    fsync_dir(partial / "data")
    os.replace(partial, final)
    fsync_dir(root)
    record = {
        "to_seq": to_seq,
        "files": sorted(done | {f.path.name for f in sealed}),
        "mods": {f.path.name: len(f.mods) for f in sealed},
    }
    atomic_write(_progress_path(manager, pipe), json.dumps(record).encode())
    log.info("pipe %s: exported %d points in %d files to %s", pipe, points, len(files), final)
    return ExportReport(name, len(files), points, size, from_seq, to_seq)


def _write_file(store: Any, f: Any, scope: Any, target: Path) -> dict[str, Any] | None:
    """The scope's rows of sealed file `f` (deletions applied) as a TsFile; None if none."""
    points, devices = 0, set()
    writer: TsFileWriter | None = None
    try:
        for pattern in scope.patterns:
            for tablet in store.read_sealed(f, pattern, scope.start, scope.end):
                keep = [
                    i
                    for i, s in enumerate(tablet.schemas)
                    if scope.matcher.matches(tablet.device, s.name)
                ]
                if not keep or not tablet.row_count:
                    continue
                if len(keep) < len(tablet.schemas):
                    tablet = tablet.select([tablet.schemas[i].name for i in keep])
                if writer is None:
                    writer = TsFileWriter(target)
                writer.write_tablet(tablet)
                points += tablet.point_count()
                devices.add(tablet.device)
            if scope.patterns == ("root.**",):
                break
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        return None
    fsync_file(target)
    return {
        "name": target.name,
        "bytes": target.stat().st_size,
        "sha256": _sha256(target),
        "points": points,
        "devices": sorted(devices),
    }


# ---------------------------------------------------------------------- IMPORT
def _imported_path(data_dir: Path) -> Path:
    return Path(data_dir) / "system" / "imported-bundles.json"


def _imported(data_dir: Path) -> list[str]:
    try:
        return list(json.loads(_imported_path(data_dir).read_text()))
    except (OSError, ValueError):
        return []


def check_bundle(folder: Path, key: str | None) -> dict[str, Any]:
    """The manifest of a complete, untampered bundle; BundleError naming what is wrong."""
    try:
        text = (folder / "manifest.json").read_bytes()
    except OSError as exc:
        raise BundleError(f"bundle {folder.name}: no manifest ({exc.strerror})") from exc
    sig = folder / "manifest.sig"
    if key:
        if not sig.exists():
            raise BundleError(f"bundle {folder.name} is not signed, but a key was given")
        if not hmac.compare_digest(sig.read_text().strip(), _sign(key, text)):
            raise BundleError(f"bundle {folder.name}: the manifest's signature does not match")
    elif sig.exists():
        raise BundleError(f"bundle {folder.name} is signed: give its key, IMPORT … WITH ('key'=…)")
    try:
        manifest = json.loads(text)
        files = manifest["files"]
        assert manifest["format"] == FORMAT
    except (ValueError, KeyError, TypeError, AssertionError) as exc:
        raise BundleError(f"bundle {folder.name}: not a {FORMAT} manifest") from exc
    mods = manifest.get("mods") or []
    listed = {entry["name"] for entry in files} | {entry["name"] for entry in mods}
    present = {p.name for p in (folder / "data").iterdir()} if (folder / "data").is_dir() else set()
    if present != listed:
        raise BundleError(
            f"bundle {folder.name}: data/ holds {sorted(present - listed)} not in the manifest "
            f"and lacks {sorted(listed - present)}"
        )
    for entry in [*files, *mods]:
        path = child_path(folder / "data", entry["name"], "bundle file")
        if path.stat().st_size != entry["bytes"] or _sha256(path) != entry["sha256"]:
            raise BundleError(f"bundle {folder.name}: {entry['name']} differs from the manifest")
    return manifest


def import_bundle(store: Any, data_dir: Path, name: str, key: str | None) -> ImportReport:
    """IMPORT `name` (see the module docstring)."""
    folder = child_path(sneakernet_root(data_dir), name, "bundle name")
    if not folder.is_dir():
        raise BundleError(f"no bundle {name} in {sneakernet_root(data_dir)}")
    manifest = check_bundle(folder, key)
    done = _imported(data_dir)
    if manifest["id"] in done:
        return ImportReport(name, 0, 0, True)
    origin = Origin.pipe(str(manifest.get("cluster_id") or "sneakernet"))
    scratch = Path(data_dir) / "system" / "import-scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    for entry in manifest.get("mods") or []:  # first: the files already reflect them
        for d in read_mods(folder / "data" / entry["name"]):
            store.delete(d.pattern, d.start, d.end, origin)
    points = 0
    for entry in manifest["files"]:
        copy = scratch / entry["name"]
        shutil.copyfile(folder / "data" / entry["name"], copy)
        store.load_tsfile(copy, origin, on_success="delete")
        points += int(entry.get("points") or 0)
    atomic_write(_imported_path(data_dir), json.dumps([*done, manifest["id"]]).encode())
    return ImportReport(name, len(manifest["files"]), points, False)
