"""`Node`: one pipecore node embedded in a process — what `pipecore serve` runs and what the SQL
front end drives.

    with pipecore.Node.open("data") as node:
        node.create_pipe("p", source={"source": "iotdb-source"},
                         sink={"sink": "iotdb-thrift-sink", "sink.node-urls": "h:6667"})
        node.list_pipes()

A node owns its data directory (an exclusive lock file: a second node on the same directory
is refused), its configuration, its cluster id (a UUID generated once), the plugin registry,
the subtask executor, the catalog and the pipe manager — and, as later parts land, the store,
the receivers and the RPC server. `close()` stops every pipe and thread.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import attrs

from pipecore_storage.errors import StoreClosedError

from . import external
from .catalog import Catalog
from .config import Config
from .errors import PipeError, PluginConflictError, PluginLoadError, PluginNotFoundError
from .executor import SubtaskExecutor
from .external import ExternalPluginRecord
from .parameters import PipeParameters
from .pipes import PipeInfo, PipeManager
from .plugin import Connector, Extractor, Processor
from .receivers import ReceiverRegistry
from .registry import (
    PluginEntry,
    PluginLoadFailure,
    PluginRegistry,
    _Provenance,
    make_plugin_manager,
)

__all__ = ["Node"]

log = logging.getLogger(__name__)

Params = Mapping[str, str] | PipeParameters | None


class _DirectoryLock:
    """An exclusive ``flock`` on ``<data_dir>/.lock`` (held until released)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / ".lock"
        self._file: IO[str] | None = open(self.path, "a+")  # noqa: SIM115 - held open
        try:
            import fcntl

            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # pragma: no cover - non-POSIX: no lock
            pass
        except OSError:
            self._file.seek(0)
            holder = self._file.read().strip() or "another process"
            self._file.close()
            self._file = None
            raise PipeError(
                f"data directory {data_dir} is in use by another pipecore node ({holder})"
            ) from None
        self._file.seek(0)
        self._file.truncate()
        self._file.write(f"pid {os.getpid()}\n")
        self._file.flush()

    def release(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class Node:
    """An embedded pipecore node. Use `Node.open`; close it (or use ``with``)."""

    def __init__(self) -> None:
        raise TypeError("use Node.open(data_dir, config=None)")

    @classmethod
    def open(
        cls,
        data_dir: str | os.PathLike[str],
        config: Config | str | os.PathLike[str] | Mapping[str, Any] | None = None,
        *,
        plugins: Iterable[object] = (),
        env: Mapping[str, str] | None = None,
    ) -> Node:
        """Open (creating if needed) the node in `data_dir` and start its pipes.

        `config` is a `Config`, a TOML path, a mapping of keys, or None (defaults and
        ``PIPECORE_*`` variables). `plugins` are extra node plugins (modules or objects with
        ``@hookimpl``s) registered before the entry points — in-process plugins and global
        stage wrappers. `env` replaces ``os.environ`` for the plugin switches and config.
        """
        node = object.__new__(cls)
        node._setup(Path(data_dir), config, plugins, env)
        return node

    def _setup(
        self,
        data_dir: Path,
        config: Config | str | os.PathLike[str] | Mapping[str, Any] | None,
        plugins: Iterable[object],
        env: Mapping[str, str] | None,
    ) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir.resolve()
        self._lock = _DirectoryLock(self.data_dir)
        self._closed = False
        self._close_lock = threading.Lock()
        self.executor: SubtaskExecutor | None = None
        try:
            pm = make_plugin_manager()
            self.registry = PluginRegistry(pm, env=env)
            for plugin in plugins:
                self.registry.add_plugin(plugin)
            self.config = _load_config(config, env, pm, self.registry)
            self.catalog = Catalog(self.data_dir)
            self.cluster_id = self.catalog.cluster_id()
            self.lib_dir = self.data_dir / self.config.pipe.pipe_lib_dir
            self.lib_dir.mkdir(parents=True, exist_ok=True)
            self._external: dict[str, ExternalPluginRecord] = {}
            self._load_external_plugins()
            self.store: Any = self._open_store()
            self.receivers = ReceiverRegistry()
            self.executor = SubtaskExecutor(self.config.pipe.subtask_thread_count, "pipecore")
            self.pipes = PipeManager(
                catalog=self.catalog,
                registry=self.registry,
                executor=self.executor,
                config=self.config,
                cluster_id=self.cluster_id,
                store=self.store,
            )
            self.pipes.restore()
        except BaseException:
            self._teardown()
            raise

    def _open_store(self) -> Any:
        """The node's store (issue 4 opens it here, before pipes are restored); None for now."""
        return None

    # ------------------------------------------------------------------ pipes
    def create_pipe(
        self,
        name: str,
        source: Params = None,
        processor: Params = None,
        sink: Params = None,
        *,
        if_not_exists: bool = False,
        start: bool = True,
    ) -> bool:
        """CREATE PIPE [IF NOT EXISTS] name WITH SOURCE (…) WITH PROCESSOR (…) WITH SINK (…).

        Plugin keys: ``source``/``extractor`` (default iotdb-source), ``processor`` (default
        do-nothing-processor), ``sink``/``connector`` (default iotdb-thrift-sink). The pipe
        starts at once unless `start` is False. Returns False if IF NOT EXISTS skipped it."""
        self._check_open()
        return self.pipes.create(
            name, source, processor, sink, if_not_exists=if_not_exists, start=start
        )

    def alter_pipe(
        self,
        name: str,
        source: Params = None,
        processor: Params = None,
        sink: Params = None,
        *,
        replace: Iterable[str] = (),
        if_exists: bool = False,
    ) -> bool:
        """ALTER PIPE [IF EXISTS] name MODIFY|REPLACE SOURCE|PROCESSOR|SINK (…); sections in
        `replace` are replaced, the others given are modified."""
        self._check_open()
        return self.pipes.alter(
            name, source, processor, sink, replace=frozenset(replace), if_exists=if_exists
        )

    def start_pipe(self, name: str) -> None:
        self._check_open()
        self.pipes.start(name)

    def stop_pipe(self, name: str) -> None:
        self._check_open()
        self.pipes.stop(name)

    def drop_pipe(self, name: str, *, if_exists: bool = False) -> bool:
        self._check_open()
        return self.pipes.drop(name, if_exists=if_exists)

    def list_pipes(self) -> list[PipeInfo]:
        """SHOW PIPES: every pipe, sorted by name."""
        self._check_open()
        return self.pipes.list()

    def get_pipe(self, name: str) -> PipeInfo:
        """SHOW PIPE name."""
        self._check_open()
        return self.pipes.get(name)

    # ------------------------------------------------------------------ plugins
    def list_plugins(self) -> list[PluginEntry]:
        """SHOW PIPEPLUGINS: every registered plugin (aliases not repeated), by name."""
        self._check_open()
        return self.registry.entries()

    @property
    def plugin_failures(self) -> list[PluginLoadFailure]:
        """Plugins that failed to load (entry points, external plugins at restart)."""
        self.registry.load()
        return list(self.registry.failures)

    def create_plugin(
        self, name: str, class_name: str, uri: str, *, if_not_exists: bool = False
    ) -> bool:
        """CREATE PIPEPLUGIN [IF NOT EXISTS] name AS 'module:Class' USING URI 'uri'."""
        self._check_open()
        upper = name.strip().upper()
        if self.registry.find(upper) is not None:
            if if_not_exists:
                return False
            raise PluginConflictError(
                f"Failed to create PipePlugin [{upper}], the same name PipePlugin has been created",
                upper,
            )
        record, cls = external.install(self.lib_dir, upper, class_name, uri)
        try:
            entry = self._register_external(record, cls)
        except BaseException:
            external.uninstall(self.lib_dir, record)
            raise
        record = _with_kind(record, entry.kind)
        self._external[upper] = record
        self.catalog.save_plugins(list(self._external.values()))
        return True

    def drop_plugin(self, name: str, *, if_exists: bool = False) -> bool:
        """DROP PIPEPLUGIN [IF EXISTS] name — only external plugins, only when no pipe uses it."""
        self._check_open()
        upper = name.strip().upper()
        entry = self.registry.find(upper)
        if entry is None or entry.name not in self._external:
            if entry is not None:
                detail = (
                    "the PipePlugin is a built-in PipePlugin"
                    if entry.origin == "builtin"
                    else f"it is installed by the distribution {entry.distribution}; "
                    "uninstall that with pip"
                )
                raise PipeError(f"Failed to drop PipePlugin [{upper}], {detail}")
            if if_exists:
                return False
            raise PluginNotFoundError(
                f"Failed to drop PipePlugin [{upper}], this PipePlugin has not been created", upper
            )
        self.pipes.check_plugin_unused(entry.name)
        self.registry.remove(entry.name)
        record = self._external.pop(entry.name)
        self.catalog.save_plugins(list(self._external.values()))
        external.uninstall(self.lib_dir, record)
        return True

    def _register_external(self, record: ExternalPluginRecord, cls: type) -> PluginEntry:
        kind = record.kind or _kind_of(cls, record)
        prov = _Provenance("external", file=record.file, uri=record.uri)
        return self.registry.add(kind, record.name, cls, (), prov)

    def _load_external_plugins(self) -> None:
        """Load the external plugins recorded in the catalog (after a restart); a failure is
        recorded in `plugin_failures`, the plugin stays in the catalog."""
        self.registry.load()
        for record in self.catalog.load_plugins():
            self._external[record.name] = record
            try:
                cls = external.load_class(self.lib_dir, record)
                self._register_external(record, cls)
            except Exception as exc:
                log.warning("external pipe plugin %s failed to load: %s", record.name, exc)
                self.registry.failures.append(
                    PluginLoadFailure(
                        record.name, f"{type(exc).__name__}: {exc}", "external", name=record.name
                    )
                )

    # ------------------------------------------------------------------ lifecycle
    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError(f"the node at {self.data_dir} is closed")

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Stop every pipe (their states stay stored), the threads, unload external plugins,
        release the data directory. Idempotent."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
            self._teardown()

    def _teardown(self) -> None:
        pipes = getattr(self, "pipes", None)
        try:
            if pipes is not None:
                pipes.close()
        finally:
            if self.executor is not None:
                left = self.executor.shutdown()
                if left:
                    log.warning("threads still running after close: %s", [t.name for t in left])
            for record in getattr(self, "_external", {}).values():
                external.unload(self.lib_dir, record)
            self._lock.release()
            self._closed = True

    def __enter__(self) -> Node:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<pipecore.Node {self.data_dir} ({state})>"


def _load_config(
    config: Config | str | os.PathLike[str] | Mapping[str, Any] | None,
    env: Mapping[str, str] | None,
    pm: Any,
    registry: PluginRegistry,
) -> Config:
    if isinstance(config, Config):
        return config
    registry.load()
    extra: list[type] = []
    for impl in pm.hook.register_config_sections.get_hookimpls():
        impl.function(register=extra.append)
    if config is None or isinstance(config, str | os.PathLike):
        return Config.load(config, env=env, sections=extra)
    return Config.load(None, env=env, overrides=dict(config), sections=extra)


def _kind_of(cls: type, record: ExternalPluginRecord) -> str:
    for base, kind in ((Connector, "sink"), (Processor, "processor"), (Extractor, "source")):
        if issubclass(cls, base):
            return kind
    for kind, prefix in (
        ("sink", "connector_"),
        ("processor", "processor_"),
        ("source", "extractor_"),
    ):
        if any(name.startswith(prefix) for name in dir(cls)):
            return kind
    raise PluginLoadError(
        f"PipePlugin {record.name}: {record.class_name} is not a pipe plugin (subclass "
        "pipecore.Extractor, Processor or Connector)",
        record.name,
        record.uri,
    )


def _with_kind(record: ExternalPluginRecord, kind: str) -> ExternalPluginRecord:
    return attrs.evolve(record, kind=kind)
