"""The pipe manager: IoTDB 1.3's pipe state machine over the catalog and the runtime.

States (reference §9.4): RUNNING, STOPPED, DROPPED.

* CREATE starts the pipe (``start=False`` creates it STOPPED); a taken name is an error unless
  IF NOT EXISTS. The three plugins are validated first (and the sink customized and
  handshaken with a temporary instance), so a bad parameter or unreachable target fails the
  CREATE and nothing is stored.
* START of a RUNNING pipe and STOP of a STOPPED one are no-ops; START/STOP of a missing pipe,
  or of a pipe dropped earlier in this process, is an error with IoTDB's wording.
* DROP needs no STOP; a missing pipe is an error unless IF EXISTS.
* A plugin failing at runtime moves RUNNING → STOPPED with the time and message recorded
  (SHOW PIPES' ExceptionMessage) and ``stopped_by_runtime_exception`` set. Such pipes are
  restarted after a back-off (``pipe_auto_restart_enabled``; first round no sooner than
  ``pipe_meta_syncer_initial_sync_delay_minutes`` after the node opened, then
  ``pipe_meta_syncer_sync_interval_minutes`` after each failure); a successful restart clears
  the exceptions. Pipes stopped by a user are never restarted.

Every change is persisted (one atomic file per pipe) before the call returns; on open, every
pipe comes back in its state.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs

from .backlog import parse_backlog
from .config import Config
from .errors import (
    PipeAlreadyExistsError,
    PipeDroppedError,
    PipeError,
    PipeNotFoundError,
    PluginInUseError,
)
from .host import NodeShared
from .observability import PipeCounterSet
from .parameters import PipeParameters
from .pipe_catalog import Catalog, PipeExceptionRecord, PipeMeta, PipeStatus
from .plugin import PipeRuntimeFacts, RuntimeConfiguration
from .registry import PluginRegistry
from .runtime import PipeTask, build_stage, plugin_names, validate_stage
from .stage import Stage
from .workers import SubtaskExecutor, TimerHandle

__all__ = ["PipeInfo", "PipeManager"]

log = logging.getLogger(__name__)

SYSTEM_PIPE_PREFIX = "__"
Params = Mapping[str, str] | PipeParameters | None


@attrs.frozen
class PipeInfo:
    """One row of SHOW PIPES. `facts` is None when the pipe is not running."""

    name: str
    creation_time: int  # epoch ms
    status: PipeStatus
    source: PipeParameters
    processor: PipeParameters
    sink: PipeParameters
    exceptions: tuple[PipeExceptionRecord, ...]
    stopped_by_runtime_exception: bool
    facts: PipeRuntimeFacts | None

    @property
    def state(self) -> str:
        return self.status.name

    @property
    def remaining_event_count(self) -> int | None:
        return None if self.facts is None else self.facts.remaining_event_count

    @property
    def estimated_remaining_seconds(self) -> float | None:
        return None if self.facts is None else self.facts.estimated_remaining_seconds


def _params(value: Params) -> PipeParameters:
    if isinstance(value, PipeParameters):
        return value
    return PipeParameters(value or {})


def _now_ms() -> int:
    return int(time.time() * 1000)


class PipeManager:
    def __init__(
        self,
        *,
        catalog: Catalog,
        registry: PluginRegistry,
        executor: SubtaskExecutor,
        config: Config,
        cluster_id: str,
        store: Any = None,
        shared: NodeShared | None = None,
    ) -> None:
        self.catalog = catalog
        self.shared = shared if shared is not None else NodeShared()
        self.registry = registry
        self.executor = executor
        self.config = config
        self.cluster_id = cluster_id
        self.store = store
        self._lock = threading.RLock()
        self._metas: dict[str, PipeMeta] = {}
        self._tasks: dict[str, PipeTask] = {}
        self._dropped: set[str] = set()
        self._restart_timers: dict[str, TimerHandle] = {}
        self.counters = PipeCounterSet()  # per pipe, across restarts (the node's metrics)
        self._opened_at = time.monotonic()
        self._closed = False

    # ------------------------------------------------------------------ open / close
    def restore(self) -> None:
        """Load every pipe from the catalog; start the RUNNING ones, schedule the restart of
        those stopped by an error."""
        with self._lock:
            for meta in self.catalog.load_pipes():
                self._metas[meta.name] = meta
            for meta in sorted(self._metas.values(), key=lambda m: m.name):
                if meta.status == PipeStatus.RUNNING:
                    self._start_task(meta)
                elif meta.stopped_by_runtime_exception:
                    self._schedule_restart(meta.name)

    def close(self) -> None:
        """Stop every task, leaving the stored states as they are (RUNNING pipes restart when
        the node opens again)."""
        with self._lock:
            self._closed = True
            for timer in self._restart_timers.values():
                timer.cancel()
            self._restart_timers.clear()
            for name in list(self._tasks):
                self._stop_task(name)

    # ------------------------------------------------------------------ statements
    def create(
        self,
        name: str,
        source: Params = None,
        processor: Params = None,
        sink: Params = None,
        *,
        if_not_exists: bool = False,
        start: bool = True,
    ) -> bool:
        """CREATE PIPE. Returns False when IF NOT EXISTS skipped an existing pipe."""
        sections = {
            "source": _params(source),
            "processor": _params(processor),
            "sink": _params(sink),
        }
        with self._lock:
            if name in self._metas:
                if if_not_exists:
                    return False
                raise PipeAlreadyExistsError(
                    f"Failed to create pipe {name}, the pipe with the same name has been created",
                    name,
                )
            if not name or name.startswith(SYSTEM_PIPE_PREFIX):
                raise PipeError(
                    f'Failed to create pipe {name}, pipe name starting with "{SYSTEM_PIPE_PREFIX}"'
                    " or empty is not allowed to be created.",
                    name,
                )
            _check_pipe_name(name)
            creation_time = _now_ms()
            self._check_plugins(name, creation_time, sections)
            meta = PipeMeta(
                name,
                creation_time,
                sections["source"],
                sections["processor"],
                sections["sink"],
                status=PipeStatus.RUNNING if start else PipeStatus.STOPPED,
            )
            self.catalog.save_pipe(meta)
            self._metas[name] = meta
            self._dropped.discard(name)
            if start:
                self._start_task(meta)
            return True

    def alter(
        self,
        name: str,
        source: Params = None,
        processor: Params = None,
        sink: Params = None,
        *,
        replace: frozenset[str] | set[str] = frozenset(),
        if_exists: bool = False,
    ) -> bool:
        """ALTER PIPE. A section given in `replace` (``"source"``, ``"processor"``,
        ``"sink"``) is replaced whole; other given sections are merged key by key (MODIFY,
        equivalent spellings replace each other). A running pipe restarts with the new
        parameters; a changed source starts from scratch (its progress is reset). As in
        IoTDB, the creation time becomes now, and a pipe stopped by an error (not by its
        user) runs again."""
        with self._lock:
            meta = self._metas.get(name)
            if meta is None:
                if if_exists:
                    return False
                raise PipeNotFoundError(
                    f"Failed to alter pipe {name}, pipe not found in system.", name
                )
            given = {"source": source, "processor": processor, "sink": sink}
            new = {}
            for kind, value in given.items():
                old = getattr(meta, kind)
                if kind in replace:
                    new[kind] = _params(value)
                elif value:
                    new[kind] = old.add_or_replace_equivalent_attributes(_params(value))
                else:
                    new[kind] = old
            creation_time = _now_ms()  # IoTDB's AlterPipeProcedureV2 renews it
            self._check_plugins(name, creation_time, new)
            running = name in self._tasks
            if running:
                self._stop_task(name)
            if new["source"] != meta.source:
                meta.progress, meta.commit_id = None, 0
            meta.source, meta.processor, meta.sink = new["source"], new["processor"], new["sink"]
            meta.creation_time = creation_time
            if meta.status == PipeStatus.STOPPED and meta.stopped_by_runtime_exception:
                # as IoTDB: only a pipe its user stopped stays stopped after ALTER
                self._cancel_restart(name)
                meta.status = PipeStatus.RUNNING
                meta.stopped_by_runtime_exception = False
                meta.exceptions = []
                running = True
            self.catalog.save_pipe(meta)
            if running:
                self._start_task(meta)
            return True

    def reset_progress(self, name: str, progress: Any = None) -> None:
        """ALTER PIPE … RESET PROGRESS (`progress` None: the source starts from scratch) or SET
        PROGRESS (a source-specific value, e.g. iotdb-source's ``{"resend-from": t}``): the
        task stops, its pins and data directory are forgotten, and a running pipe restarts."""
        with self._lock:
            meta = self._require(name, "alter")
            running = name in self._tasks
            self._stop_task(name)
            if self.store is not None:
                self.store.unpin_all(name)
            shutil.rmtree(self.catalog.pipe_data_dir(name), ignore_errors=True)
            meta.progress, meta.commit_id = progress, 0
            self.catalog.save_pipe(meta)
            if running:
                self._start_task(meta)

    def start(self, name: str) -> None:
        """START PIPE (no-op when running); clears the recorded exceptions."""
        with self._lock:
            meta = self._require(name, "start")
            if meta.status == PipeStatus.RUNNING and name in self._tasks:
                return
            self._cancel_restart(name)
            meta.status = PipeStatus.RUNNING
            meta.stopped_by_runtime_exception = False
            meta.exceptions = []
            self.catalog.save_pipe(meta)
            self._start_task(meta)

    def stop(self, name: str) -> None:
        """STOP PIPE (no-op when stopped; a pipe stopped by an error becomes stopped by the
        user, so it is no longer restarted automatically)."""
        with self._lock:
            meta = self._require(name, "stop")
            self._cancel_restart(name)
            self._stop_task(name)
            if meta.status == PipeStatus.STOPPED and not meta.stopped_by_runtime_exception:
                return
            meta.status = PipeStatus.STOPPED
            meta.stopped_by_runtime_exception = False
            self.catalog.save_pipe(meta)

    def drop(self, name: str, *, if_exists: bool = False) -> bool:
        """DROP PIPE. Returns False when IF EXISTS skipped a missing pipe."""
        with self._lock:
            if name not in self._metas:
                if if_exists:
                    return False
                raise PipeNotFoundError(
                    f"Failed to drop pipe {name}. Failures: {name} does not exist.", name
                )
            self._cancel_restart(name)
            self._stop_task(name)
            if self.store is not None and _is_folder_name(name):
                self.store.unpin_all(name)  # files held for the pipe are no longer needed
            self.catalog.delete_pipe(name)  # last: a DROP that failed keeps the pipe
            del self._metas[name]
            self._dropped.add(name)
            self.counters.drop(name)
            return True

    # ------------------------------------------------------------------ queries
    def list(self) -> list[PipeInfo]:
        """Every pipe, sorted by name (SHOW PIPES)."""
        with self._lock:
            return [self._info(self._metas[n]) for n in sorted(self._metas)]

    def get(self, name: str) -> PipeInfo:
        with self._lock:
            meta = self._metas.get(name)
            if meta is None:
                raise PipeNotFoundError(f"Pipe {name} does not exist", name)
            return self._info(meta)

    def status(self, name: str) -> PipeStatus:
        """The pipe's state; DROPPED for a pipe dropped in this process."""
        with self._lock:
            if name in self._metas:
                return self._metas[name].status
            if name in self._dropped:
                return PipeStatus.DROPPED
            raise PipeNotFoundError(f"Pipe {name} does not exist", name)

    def task(self, name: str) -> PipeTask | None:
        with self._lock:
            return self._tasks.get(name)

    def plugin_user(self, plugin_name: str) -> tuple[str, str] | None:
        """(pipe, role) of the first pipe using plugin `plugin_name` (any alias), or None."""
        entry = self.registry.find(plugin_name)
        wanted = {plugin_name.upper()} | ({entry.name, *entry.aliases} if entry else set())
        with self._lock:
            for meta in sorted(self._metas.values(), key=lambda m: m.name):
                names = plugin_names(meta.source, meta.processor, meta.sink)
                for role in ("source", "processor", "sink"):
                    if names[role].upper() in wanted:
                        return meta.name, role
        return None

    def check_plugin_unused(self, plugin_name: str) -> None:
        user = self.plugin_user(plugin_name)
        if user is not None:
            raise PluginInUseError(plugin_name.upper(), *user)

    def _info(self, meta: PipeMeta) -> PipeInfo:
        task = self._tasks.get(meta.name)
        return PipeInfo(
            meta.name,
            meta.creation_time,
            meta.status,
            meta.source,
            meta.processor,
            meta.sink,
            tuple(meta.exceptions),
            meta.stopped_by_runtime_exception,
            task.facts() if task is not None and not task.stopping else None,
        )

    def _require(self, name: str, verb: str) -> PipeMeta:
        meta = self._metas.get(name)
        if meta is not None:
            return meta
        if name in self._dropped:
            raise PipeDroppedError(
                f"Failed to {verb} pipe {name}, the pipe is already dropped", name
            )
        raise PipeNotFoundError(f"Failed to {verb} pipe {name}, the pipe does not exist", name)

    # ------------------------------------------------------------------ validation
    def _check_plugins(
        self, name: str, creation_time: int, sections: dict[str, PipeParameters]
    ) -> None:
        """Build each stage with a temporary instance and validate it; the sink is also
        customized and handshaken (IoTDB does this so an unreachable target fails CREATE)."""
        names = plugin_names(sections["source"], sections["processor"], sections["sink"])
        parse_backlog(sections["sink"])  # sink.backlog.* (pipecore.backlog): refused here
        built: list[Stage] = []
        try:
            for kind in ("source", "processor", "sink"):
                stage = build_stage(self.registry, kind, names[kind], name, creation_time)
                built.append(stage)
                validate_stage(stage, sections[kind])
            sink = built[2]
            config = self._runtime_configuration(name, creation_time, None, 0, create_dir=False)
            sink.call["connector_customize"](sections["sink"], config)
            sink.call["connector_handshake"]()
        finally:
            for stage in built:
                stage.close()

    # ------------------------------------------------------------------ runtime
    def _runtime_configuration(
        self, name: str, creation_time: int, progress: Any, commit_id: int, create_dir: bool = True
    ) -> RuntimeConfiguration:
        data_dir = self.catalog.pipe_data_dir(name)
        if create_dir:
            data_dir.mkdir(parents=True, exist_ok=True)
        return RuntimeConfiguration(
            pipe_name=name,
            creation_time=creation_time,
            data_dir=Path(data_dir),
            cluster_id=self.cluster_id,
            node_config=self.config,
            store=self.store,
            shared=self.shared,
            progress=progress,
            commit_id=commit_id,
            finished=lambda: self._auto_drop(name, creation_time),
        )

    def _auto_drop(self, name: str, creation_time: int) -> None:
        """The pipe's source has sent everything (a snapshot pipe): drop the pipe, as IoTDB
        does, from another thread (the pipe's own threads are stopped by the drop)."""

        def drop() -> None:
            with self._lock:
                meta = self._metas.get(name)
                if meta is None or meta.creation_time != creation_time or self._closed:
                    return  # dropped, re-created or altered meanwhile
                log.info("pipe %s: its source has sent everything; dropped", name)
                self.drop(name, if_exists=True)

        threading.Thread(target=drop, name=f"pipecore-autodrop-{name}", daemon=True).start()

    def _start_task(self, meta: PipeMeta) -> None:
        """Start the runtime of a RUNNING pipe; a failure stops it with the error recorded."""
        if self._closed:
            return
        task = PipeTask(
            name=meta.name,
            creation_time=meta.creation_time,
            parameters={"source": meta.source, "processor": meta.processor, "sink": meta.sink},
            configuration=attrs.evolve(
                self._runtime_configuration(
                    meta.name, meta.creation_time, meta.progress, meta.commit_id
                ),
                sink_parameters=meta.sink,
            ),
            registry=self.registry,
            executor=self.executor,
            config=self.config,
            on_error=self._on_runtime_error,
            on_progress=self._on_progress,
            counters=self.counters.for_pipe(meta.name, meta.creation_time),
        )
        try:
            task.start()
        except Exception as exc:
            log.warning("pipe %s failed to start: %s", meta.name, exc)
            self._record_failure(meta, exc)
            return
        self._tasks[meta.name] = task

    def _stop_task(self, name: str) -> None:
        task = self._tasks.pop(name, None)
        if task is not None:
            task.stop()

    def _record_failure(self, meta: PipeMeta, error: BaseException) -> None:
        meta.status = PipeStatus.STOPPED
        meta.stopped_by_runtime_exception = True
        meta.record_exception(str(error))
        self.catalog.save_pipe(meta)
        self._schedule_restart(meta.name)

    def _on_runtime_error(self, task: PipeTask, error: PipeError) -> None:
        """Called on a worker when a running task failed: RUNNING → STOPPED, recorded."""
        with self._lock:
            if self._tasks.get(task.name) is not task:
                return  # the task was stopped or replaced meanwhile
            self._stop_task(task.name)
            meta = self._metas.get(task.name)
            if meta is not None:
                self._record_failure(meta, error)

    def _on_progress(self, task: PipeTask, commit_id: int, progress: Any) -> None:
        meta = self._metas.get(task.name)
        if meta is None or self._tasks.get(task.name) not in (task, None):
            return
        meta.commit_id, meta.progress = commit_id, progress
        self.catalog.save_pipe(meta)

    def _schedule_restart(self, name: str) -> None:
        pipe = self.config.pipe
        if not pipe.pipe_auto_restart_enabled or self._closed:
            return
        self._cancel_restart(name)
        first = self._opened_at + pipe.pipe_meta_syncer_initial_sync_delay_minutes * 60
        at = max(first, time.monotonic() + pipe.pipe_meta_syncer_sync_interval_minutes * 60)
        self._restart_timers[name] = self.executor.call_later(
            at - time.monotonic(), self._restart_callback(name)
        )

    def _restart_callback(self, name: str) -> Callable[[], None]:
        return lambda: self.executor.submit(lambda: self._auto_restart(name))

    def _cancel_restart(self, name: str) -> None:
        timer = self._restart_timers.pop(name, None)
        if timer is not None:
            timer.cancel()

    def _auto_restart(self, name: str) -> None:
        with self._lock:
            self._restart_timers.pop(name, None)
            meta = self._metas.get(name)
            if (
                self._closed
                or meta is None
                or meta.status != PipeStatus.STOPPED
                or not meta.stopped_by_runtime_exception
            ):
                return
            log.info("pipe %s: automatic restart after a runtime error", name)
            meta.status = PipeStatus.RUNNING
            self._start_task(meta)
            if name in self._tasks:
                self._tasks[name].counters.restarts += 1
                meta.stopped_by_runtime_exception = False
                meta.exceptions = []
                self.catalog.save_pipe(meta)


def _is_folder_name(name: str) -> bool:
    """Whether `name` can be one folder's name (a pipe's pinned files live in one)."""
    return (
        name not in ("", ".", "..")
        and not any(c in name for c in "/\\\x00")
        and all(ch.isprintable() for ch in name)
    )


def _check_pipe_name(name: str) -> None:
    """CREATE PIPE refuses a name that cannot be a folder name (``a/b``, ``../x``, ``a\\b``,
    control characters): such a pipe could never start (its files live in a folder of that
    name) nor be dropped cleanly."""
    if not _is_folder_name(name):
        raise PipeError(
            f"Failed to create pipe {name!r}, the pipe name must not be '.' or '..' nor contain "
            "'/', '\\' or control characters.",
            name,
        )
