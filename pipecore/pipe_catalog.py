"""The node's catalog on disk: pipe metadata, external plugins, the node's cluster id.

Layout under the data directory::

    system/cluster_id               the node's UUID, generated once
    system/pipe_plugins.json        external plugins (CREATE PIPEPLUGIN)
    pipe/meta/<pipe>.json           one file per pipe: PipeMeta
    pipe/data/<pipe>/               each pipe's own directory (RuntimeConfiguration.data_dir)

Every write is atomic: a temporary file in the same directory, written, fsynced, renamed over
the old file, and the directory fsynced — a crash leaves the old or the new version, never a
mix. Pipe names are percent-encoded in file names.
"""

from __future__ import annotations

import enum
import json
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import attrs

from pipecore_storage.errors import CorruptFileError
from pipecore_storage.fsutil import child_path

from .external import ExternalPluginRecord
from .nodekey import NodeKey
from .parameters import PipeParameters

__all__ = [
    "Catalog",
    "PipeExceptionRecord",
    "PipeMeta",
    "PipeStatus",
    "read_json",
    "write_json_atomic",
]

MAX_EXCEPTIONS = 5


class PipeStatus(enum.IntEnum):
    """IoTDB's ``PipeStatus`` with its numeric values."""

    RUNNING = 0
    STOPPED = 1
    DROPPED = 2


@attrs.frozen
class PipeExceptionRecord:
    """An exception shown in SHOW PIPES' ExceptionMessage: epoch-ms `time` and `message`."""

    time: int
    message: str


@attrs.define
class PipeMeta:
    """Everything persisted about a pipe. `progress`/`commit_id` are the last committed
    progress of its source (JSON value) and commit id."""

    name: str
    creation_time: int
    source: PipeParameters
    processor: PipeParameters
    sink: PipeParameters
    status: PipeStatus = PipeStatus.RUNNING
    stopped_by_runtime_exception: bool = False
    exceptions: list[PipeExceptionRecord] = attrs.field(factory=list)
    progress: Any = None
    commit_id: int = 0

    def record_exception(self, message: str, at_ms: int | None = None) -> None:
        at = int(time.time() * 1000) if at_ms is None else at_ms
        self.exceptions = [*self.exceptions, PipeExceptionRecord(at, message)][-MAX_EXCEPTIONS:]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "creation_time": self.creation_time,
            "source": dict(self.source),
            "processor": dict(self.processor),
            "sink": dict(self.sink),
            "status": self.status.name,
            "stopped_by_runtime_exception": self.stopped_by_runtime_exception,
            "exceptions": [[e.time, e.message] for e in self.exceptions],
            "progress": self.progress,
            "commit_id": self.commit_id,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PipeMeta:
        return cls(
            name=str(data["name"]),
            creation_time=int(data["creation_time"]),
            source=PipeParameters(data["source"]),
            processor=PipeParameters(data["processor"]),
            sink=PipeParameters(data["sink"]),
            status=PipeStatus[data["status"]],
            stopped_by_runtime_exception=bool(data["stopped_by_runtime_exception"]),
            exceptions=[PipeExceptionRecord(int(t), str(m)) for t, m in data["exceptions"]],
            progress=data.get("progress"),
            commit_id=int(data.get("commit_id", 0)),
        )


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # platforms without directory fds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_atomic(path: Path, value: Any) -> None:
    """Write `value` as JSON to `path` atomically (temp file + fsync + rename + dir fsync)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True).encode()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def read_json(path: Path) -> Any:
    """Parse a JSON file written by `write_json_atomic`; `CorruptFileError` names it."""
    raw = path.read_bytes()
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        offset = getattr(exc, "pos", None)
        raise CorruptFileError(path, offset, f"not valid JSON: {exc}") from exc


class Catalog:
    """Reads and writes the catalog files of one data directory (thread-safe)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.meta_dir = self.data_dir / "pipe" / "meta"
        self.pipe_data_root = self.data_dir / "pipe" / "data"
        self.system_dir = self.data_dir / "system"
        self.node_key = NodeKey.for_system_dir(self.system_dir)
        self._lock = threading.Lock()
        for d in (self.meta_dir, self.pipe_data_root, self.system_dir):
            d.mkdir(parents=True, exist_ok=True)
        for leftover in [*self.meta_dir.glob(".*.tmp"), *self.system_dir.glob(".*.tmp")]:
            leftover.unlink(missing_ok=True)

    # ------------------------------------------------------------------ node identity
    def cluster_id(self) -> str:
        """The node's cluster id: a UUID generated on first use and kept in system/cluster_id."""
        path = self.system_dir / "cluster_id"
        with self._lock:
            if path.exists():
                text = path.read_text().strip()
                try:
                    return str(uuid.UUID(text))
                except ValueError as exc:
                    raise CorruptFileError(path, 0, f"not a UUID: {text!r}") from exc
            value = str(uuid.uuid4())
            tmp = path.with_name(".cluster_id.tmp")
            with open(tmp, "w") as f:
                f.write(value + "\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            _fsync_dir(path.parent)
            return value

    # ------------------------------------------------------------------ pipes
    def _meta_path(self, name: str) -> Path:
        return self.meta_dir / f"{quote(name, safe='')}.json"

    def pipe_data_dir(self, name: str) -> Path:
        return child_path(self.pipe_data_root, quote(name, safe=""), "pipe name")

    def load_pipes(self) -> list[PipeMeta]:
        metas = []
        for path in sorted(self.meta_dir.glob("*.json")):
            data = read_json(path)
            try:
                for section in ("source", "processor", "sink"):
                    data[section] = self.node_key.open(data[section])
                meta = PipeMeta.from_json(data)
            except (KeyError, TypeError, ValueError) as exc:
                raise CorruptFileError(path, None, f"not a pipe meta: {exc!r}") from exc
            if unquote(path.stem) != meta.name:
                raise CorruptFileError(path, None, f"holds pipe {meta.name!r}")
            metas.append(meta)
        return metas

    def save_pipe(self, meta: PipeMeta) -> None:
        """Write the pipe's meta; its passwords encrypted with the node key
        (`pipecore.nodekey`)."""
        data = meta.to_json()
        for section in ("source", "processor", "sink"):
            data[section] = self.node_key.seal(data[section])
        with self._lock:
            write_json_atomic(self._meta_path(meta.name), data)

    def delete_pipe(self, name: str) -> None:
        try:
            data_dir: Path | None = self.pipe_data_dir(name)
        except ValueError:  # a name that never had a folder (refused at CREATE since)
            data_dir = None
        with self._lock:
            self._meta_path(name).unlink(missing_ok=True)
            _fsync_dir(self.meta_dir)
        if data_dir is not None:
            shutil.rmtree(data_dir, ignore_errors=True)

    # ------------------------------------------------------------------ external plugins
    def load_plugins(self) -> list[ExternalPluginRecord]:
        path = self.system_dir / "pipe_plugins.json"
        if not path.exists():
            return []
        data = read_json(path)
        try:
            return [ExternalPluginRecord.from_json(item) for item in data["plugins"]]
        except (KeyError, TypeError) as exc:
            raise CorruptFileError(path, None, f"not a plugin list: {exc!r}") from exc

    def save_plugins(self, records: list[ExternalPluginRecord]) -> None:
        with self._lock:
            write_json_atomic(
                self.system_dir / "pipe_plugins.json",
                {"plugins": [r.to_json() for r in sorted(records, key=lambda r: r.name)]},
            )
