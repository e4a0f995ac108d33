"""The sync tool's PIPESINKs (IoTDB 0.13–1.1), kept by a node for its legacy statements.

``CREATE PIPESINK s AS IoTDB (ip='…', port=…)`` only names a target; ``CREATE PIPE p TO s``
turns it into an ordinary pipe (`pipecore.sql.legacy.translate_legacy_pipe`). This catalog
remembers the PIPESINKs and which pipe was made from which, so ``DROP PIPESINK`` can be
refused while a pipe still uses it. It lives in ``<data_dir>/system/pipesinks.json``,
written atomically like the rest of the node's catalog.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from ..pipe_catalog import read_json, write_json_atomic
from .statements import CreatePipeSink

__all__ = ["PipeSinkCatalog"]

FILE_NAME = "pipesinks.json"


class PipeSinkCatalog:
    """PIPESINK definitions and the pipes created from them (thread-safe, persisted)."""

    def __init__(self, system_dir: Path) -> None:
        self.path = system_dir / FILE_NAME
        self.lock = threading.RLock()
        data: Any = read_json(self.path) if self.path.exists() else {}
        self._sinks: dict[str, dict[str, Any]] = dict(data.get("pipesinks", {}))
        self._pipes: dict[str, str] = dict(data.get("pipes", {}))

    def _save(self) -> None:
        write_json_atomic(self.path, {"pipesinks": self._sinks, "pipes": self._pipes})

    def get(self, name: str) -> CreatePipeSink | None:
        with self.lock:
            entry = self._sinks.get(name)
        if entry is None:
            return None
        return CreatePipeSink(
            name=name, sink_type=entry["type"], attributes=dict(entry["attributes"])
        )

    def all(self) -> list[CreatePipeSink]:
        with self.lock:
            names = sorted(self._sinks)
        return [s for s in (self.get(n) for n in names) if s is not None]

    def add(self, pipesink: CreatePipeSink) -> None:
        with self.lock:
            self._sinks[pipesink.name] = {
                "type": pipesink.sink_type,
                "attributes": dict(pipesink.attributes),
            }
            self._save()

    def remove(self, name: str) -> None:
        with self.lock:
            self._sinks.pop(name, None)
            self._pipes = {p: s for p, s in self._pipes.items() if s != name}
            self._save()

    def users(self, name: str) -> list[str]:
        """Pipes recorded as made from PIPESINK `name`, by name."""
        with self.lock:
            return sorted(p for p, s in self._pipes.items() if s == name)

    def pipesink_of(self, pipe: str) -> str | None:
        with self.lock:
            return self._pipes.get(pipe)

    def record_pipe(self, pipe: str, pipesink: str) -> None:
        with self.lock:
            self._pipes[pipe] = pipesink
            self._save()

    def forget_pipe(self, pipe: str) -> None:
        with self.lock:
            if self._pipes.pop(pipe, None) is not None:
                self._save()
