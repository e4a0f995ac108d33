"""The store's on-disk layout, its set of sealed files, and pins (hard links) for pipes.

Layout of a store directory::

    system/store.properties        format and settings that cannot change after creation
    system/schema/mlog.txt         the schema log
    system/deletions.log           every deletion with its sequence number (for pipes)
    system/schema_history.log      every schema change with its place among the writes (for pipes)
    wal/_<n>.wal, wal/checkpoint   the write-ahead log
    data/sequence/<database>/0/0/{time}-{version}-0-0.tsfile (+ .resource, .mods, .meta)
    data/unsequence/<database>/0/0/...
    pipe/<pipe name>/data/...      hard links pinned by pipes (same relative layout)
    load/                          files being loaded
    .lock                          held (flock) while a process has the store open
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from .errors import PinError
from .fsutil import UnsafeNameError, child_path
from .resource import SealedFile

__all__ = ["FileSet", "PinError", "StoreLayout"]


class StoreLayout:
    """Paths inside a store directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.system = root / "system"
        self.schema_log = self.system / "schema" / "mlog.txt"
        self.properties = self.system / "store.properties"
        self.wal = root / "wal"
        self.data = root / "data"
        self.pipe = root / "pipe"
        self.load = root / "load"
        self.lock = root / ".lock"

    def folder(self, database: str, sequence: bool) -> Path:
        kind = "sequence" if sequence else "unsequence"
        return self.data / kind / database / "0" / "0"

    def make(self) -> None:
        for d in (
            self.system / "schema",
            self.wal,
            self.data / "sequence",
            self.data / "unsequence",
            self.pipe,
            self.load,
        ):
            d.mkdir(parents=True, exist_ok=True)

    def database_folders(self) -> Iterator[tuple[str, bool, Path]]:
        for sequence in (True, False):
            base = self.data / ("sequence" if sequence else "unsequence")
            if not base.is_dir():
                continue
            for db_dir in sorted(base.iterdir()):
                if db_dir.is_dir():
                    yield db_dir.name, sequence, db_dir

    def pipe_folder(self, pipe_name: str) -> Path:
        try:
            return child_path(self.pipe, pipe_name, "pipe name")
        except UnsafeNameError as exc:
            raise PinError(f"{exc} (pinning)") from None


class FileSet:
    """Sealed files by path, ordered by version. Not thread-safe (used under the store lock)."""

    def __init__(self) -> None:
        self._files: dict[Path, SealedFile] = {}
        self.next_version = 0

    def add(self, f: SealedFile) -> None:
        self._files[f.path] = f
        self.next_version = max(self.next_version, f.version + 1)

    def remove(self, f: SealedFile) -> None:
        self._files.pop(f.path, None)

    def take_version(self) -> int:
        v = self.next_version
        self.next_version += 1
        return v

    def get(self, path: Path | str) -> SealedFile | None:
        return self._files.get(Path(path))

    def all(self) -> list[SealedFile]:
        """Every sealed file, oldest version first."""
        return sorted(self._files.values(), key=lambda f: f.version)

    def of_database(self, database: str) -> list[SealedFile]:
        return [f for f in self.all() if f.database == database]

    def __len__(self) -> int:
        return len(self._files)

    def __iter__(self) -> Iterator[SealedFile]:
        return iter(self.all())


def remove_file_set(paths: Iterable[Path]) -> None:
    for p in paths:
        p.unlink(missing_ok=True)


def pin_file(layout: StoreLayout, f: SealedFile, pipe_name: str) -> Path:
    """Hard-link a sealed file and its side files under the pipe's folder; the pinned path."""
    target_dir = layout.pipe_folder(pipe_name) / f.path.parent.relative_to(layout.root)
    target_dir.mkdir(parents=True, exist_ok=True)
    for src in f.side_paths():
        dst = target_dir / src.name
        if dst.exists() or not src.exists():
            continue
        os.link(src, dst)
    return target_dir / f.path.name


def unpin_file(layout: StoreLayout, f: SealedFile | Path, pipe_name: str) -> bool:
    """Remove a pipe's links to a file; whether anything was pinned."""
    path = f.path if isinstance(f, SealedFile) else Path(f)
    root = layout.pipe_folder(pipe_name)
    if path.is_relative_to(root):
        rel_dir = path.parent
    else:
        try:
            rel_dir = root / path.parent.relative_to(layout.root)
        except ValueError:
            raise PinError(f"{path} is not a file of the store at {layout.root}") from None
    found = False
    for suffix in ("", ".resource", ".mods", ".meta"):
        link = rel_dir / (path.name + suffix)
        if link.exists():
            link.unlink()
            found = True
    return found


def unpin_all(layout: StoreLayout, pipe_name: str) -> None:
    shutil.rmtree(layout.pipe_folder(pipe_name), ignore_errors=True)


def pinned_files(layout: StoreLayout, pipe_name: str) -> list[Path]:
    root = layout.pipe_folder(pipe_name)
    if not root.is_dir():
        return []
    return sorted(root.rglob("*.tsfile"))
