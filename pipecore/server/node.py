"""`Node`: one pipecore node embedded in a process — what `pipecore serve` runs and what the SQL
front end drives.

    with pipecore.Node.open("data") as node:
        node.create_pipe("p", source={"source": "iotdb-source"},
                         sink={"sink": "iotdb-thrift-sink", "sink.node-urls": "h:6667"})
        node.list_pipes()

A node owns its data directory (an exclusive lock file: a second node on the same directory
is refused), its configuration, its cluster id (a UUID generated once), the plugin registry,
the subtask executor, the catalog, the pipe manager, the store (``<data_dir>/store``), the
receivers' registry and — after `serve()` — the RPC server and the services plugins add.
`execute(sql)` runs a statement of pipecore's SQL (`pipecore.sql`). `close()` stops every
pipe, service and thread.
"""

from __future__ import annotations

import logging
import os
import ssl
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import attrs

from pipecore_storage.errors import StoreClosedError

from .. import external
from ..auth_records import USERS_KEY
from ..config import Config
from ..errors import (
    ConfigError,
    PipeError,
    PluginConflictError,
    PluginLoadError,
    PluginNotFoundError,
)
from ..external import ExternalPluginRecord
from ..host import NodeShared
from ..parameters import PipeParameters
from ..pipe_catalog import Catalog
from ..pipes import PipeInfo, PipeManager
from ..plugin import Connector, Extractor, Processor
from ..registry import (
    PluginEntry,
    PluginLoadFailure,
    PluginRegistry,
    _Provenance,
    make_plugin_manager,
)
from ..rpc import RpcServer, tls
from ..schema_templates import SHARED_KEY, SchemaTemplates
from ..security import check_exposure, check_plugin_uri
from ..sql import ResultTable, Statement, parse_script, parse_statement
from ..sql.errors import SqlError
from ..sql.executor import Executor
from ..sql.outcome import Outcome
from ..store_section import StoreSection, open_store
from ..timeparse import ZoneLike
from ..ttl import TTLTable
from ..workers import SubtaskExecutor
from .receivers import Receivers
from .users import UserStore

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
        self._config_source = config
        self._env = env
        data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir.resolve()
        self._lock = _DirectoryLock(self.data_dir)
        self._closed = False
        self._close_lock = threading.Lock()
        self.executor: SubtaskExecutor | None = None
        self.store: Any = None
        self.server: RpcServer | None = None
        self._services: list[Any] = []
        #: objects the plugins of this node share (e.g. the sinks' node-wide rate limiter)
        self.shared = NodeShared()
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
            self.store = self._open_store()
            self.users = UserStore.for_data_dir(self.data_dir)
            self.templates = SchemaTemplates.for_data_dir(self.data_dir, self.store)
            self.shared.get(SHARED_KEY, lambda: self.templates)  # pipes' sources read them
            self.shared.get(USERS_KEY, lambda: self.users)  # the auth inclusion's snapshot
            self.ttl = TTLTable.for_data_dir(self.data_dir, self.store)
            self.receivers = Receivers(
                data_dir=self.data_dir,
                cluster_id=self.cluster_id,
                store=self.store,
                users=self.users,
                config=lambda: self.config,
                address=lambda: self.address,
                templates=self.templates,
            )
            self.users.throttle.configure(
                self.config.node.login_lock_threshold, self.config.node.login_lock_seconds
            )
            self.users.configure_iotdb_digest(self.config.node.iotdb_password_digest)
            self.executor = SubtaskExecutor(self.config.pipe.subtask_thread_count, "pipecore")
            self.pipes = PipeManager(
                catalog=self.catalog,
                registry=self.registry,
                executor=self.executor,
                config=self.config,
                cluster_id=self.cluster_id,
                store=self.store,
                shared=self.shared,
            )
            self.pipes.restore()
            self.sql = Executor(self)
        except BaseException:
            self._teardown()
            raise

    def _open_store(self) -> Any:
        """The node's store in ``<data_dir>/store`` (opened before pipes are restored)."""
        return open_store(self.data_dir, self.config)

    # ------------------------------------------------------------------ SQL
    def execute(self, sql: str, *, zone: ZoneLike = None) -> ResultTable:
        """Run one statement of pipecore's SQL; its result as IoTDB's CLI shows it.

        Datetimes without an offset are read (and times shown) in `zone` (default: the
        process's). Raises `SqlSyntaxError` / `SqlSemanticError` — a `StatementError` with
        IoTDB's status code when the statement fails while it runs; the node is unchanged.
        """
        started = time.perf_counter()
        outcome = self.run(parse_statement(sql, zone=zone), zone=zone)
        return outcome.table(zone, time.perf_counter() - started)

    def execute_script(self, text: str, *, zone: ZoneLike = None) -> list[ResultTable]:
        """Run a ``;``-separated script, statement by statement, as IoTDB's CLI does.

        The whole script is parsed first: a syntax error anywhere runs nothing. Then the
        statements run in order; when one fails, the ones before it stay done (each is whole),
        the rest do not run, and its error is raised with ``completed`` set to the results of
        the statements before it.
        """
        results: list[ResultTable] = []
        for statement in parse_script(text, zone=zone):
            started = time.perf_counter()
            try:
                outcome = self.run(statement, zone=zone)
            except SqlError as exc:
                exc.sql = text
                exc.completed = results
                raise
            results.append(outcome.table(zone, time.perf_counter() - started))
        return results

    def run(
        self, statement: Statement | str, *, zone: ZoneLike = None, user: str | None = None
    ) -> Outcome:
        """Run a statement (text or parsed) and return its `Outcome`: a message, or a typed
        `DataSet` for statements that return rows (what the RPC session sends)."""
        self._check_open()
        if isinstance(statement, str):
            statement = parse_statement(statement, zone=zone)
        return self.sql.execute(statement, zone, user)

    # ------------------------------------------------------------------ serving
    def serve(
        self,
        host: str | None = None,
        port: int | None = None,
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> tuple[str, int]:
        """Start the node's network endpoints; returns the RPC server's bound (host, port).

        The Thrift RPC server listens on `host`:`port` (default ``dn_rpc_address`` and
        ``dn_rpc_port``; port 0 picks a free one), over TLS with `ssl_context` or — when
        ``enable_thrift_ssl`` is set — with ``key_store_path``'s certificate and key.
        Plugins register their pipe receivers through ``register_rpc_services``; SQL sessions
        are served by `pipecore.server.clientrpc.ClientSessionHandler` unless a plugin registered a
        session handler. Then the services of ``node_services`` start, in order; one that
        fails stops everything started here and is raised with its name. `close()` stops it
        all.
        """
        self._check_open()
        if self.server is not None:
            raise PipeError(f"the node at {self.data_dir} is already serving on {self.address}")
        node_config = self.config.node
        context = ssl_context if ssl_context is not None else _server_ssl_context(self.config)
        bind = node_config.dn_rpc_address if host is None else host
        check_exposure(self, bind)
        server = RpcServer(
            bind,
            node_config.dn_rpc_port if port is None else port,
            ssl_context=context,
            max_connections=node_config.rpc_max_concurrent_client_num,
            max_frame_size=node_config.dn_thrift_max_frame_size,
            first_frame_timeout=node_config.dn_connection_timeout_ms / 1000.0,
        )
        pm = self.registry.pm
        self.registry.load()
        self.receivers.begin_serving()
        pm.hook.register_rpc_services(server=server, node=self, receivers=self.receivers)
        if server.session_handler_factory is None:
            from .clientrpc import ClientSessionHandler

            server.register_session_handler(lambda ctx: ClientSessionHandler(ctx, self))
        server.start()
        self.server = server
        try:
            for result in pm.hook.node_services(node=self, receivers=self.receivers):
                for service in result or ():
                    self._start_service(service)
            for service in self.receivers.take_services():
                self._start_service(service)
        except BaseException:
            self._stop_serving()
            raise
        return server.address

    def _start_service(self, service: Any) -> None:
        name = getattr(service, "name", type(service).__name__)
        try:
            service.start()
        except Exception as exc:
            raise PipeError(f"node service {name} failed to start: {exc}") from exc
        log.info("node service %s started", name)
        self._services.append(service)

    @property
    def address(self) -> tuple[str, int] | None:
        """The RPC server's bound (host, port) while serving, else None."""
        return None if self.server is None else self.server.address

    def _stop_serving(self) -> None:
        while self._services:
            service = self._services.pop()
            try:
                service.stop()
            except Exception:
                log.exception("node service %s failed to stop", getattr(service, "name", service))
        if self.server is not None:
            self.server.stop()
            self.server = None

    # ------------------------------------------------------------------ configuration
    def reload_config(self) -> tuple[list[str], list[str]]:
        """LOAD CONFIGURATION: read the configuration again (the same file, ``PIPECORE_*``
        variables and arguments). Returns (keys applied now, changed keys that wait for a
        restart). Applied keys are in `config` at once: receivers read them per handshake,
        pipes started from now on use them. A bad file raises `ConfigError` and changes
        nothing."""
        self._check_open()
        source = self._config_source
        if isinstance(source, Config):
            return [], []
        fresh = _load_config(source, self._env, self.registry.pm, self.registry)
        old, new = self.config.as_dict(), fresh.as_dict()
        changed = sorted(k for k in new if old.get(k) != new[k])
        waiting = [k for k in changed if k in _restart_keys(self.config)]
        applied = [k for k in changed if k not in waiting]
        if applied:
            merged = self.config.replace(**{k: new[k] for k in applied})
            self.config = merged
            self.pipes.config = merged
            self.receivers.reloaded(merged)
        return applied, waiting

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
        check_plugin_uri(self, uri)
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
            self._stop_serving()
            if pipes is not None:
                pipes.close()
        finally:
            try:
                if self.executor is not None:
                    left = self.executor.shutdown()
                    if left:
                        names = [t.name for t in left]
                        log.warning("threads still running after close: %s", names)
                for record in getattr(self, "_external", {}).values():
                    external.unload(self.lib_dir, record)
                if self.store is not None:
                    self.store.close()
            finally:
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
    extra: list[type] = [StoreSection]
    for impl in pm.hook.register_config_sections.get_hookimpls():
        impl.function(register=extra.append)
    if config is None or isinstance(config, str | os.PathLike):
        return Config.load(config, env=env, sections=extra)
    return Config.load(None, env=env, overrides=dict(config), sections=extra)


_RESTART_KEYS = frozenset(
    {
        "pipe_lib_dir",
        "pipe_subtask_executor_max_thread_num",
        "pipe_air_gap_receiver_enabled",
        "pipe_air_gap_receiver_port",
    }
)


def _restart_keys(config: Config) -> frozenset[str]:
    """Keys a running node cannot change: the node section (address, port, TLS, time
    precision), the store's keys, the plugin directory, the worker pool, the air-gap port, and
    the keys a section marks with ``metadata={"restart": True}`` (read once by `serve`)."""
    keys = set(_RESTART_KEYS) | set(attrs.asdict(config.node))
    for section in config.sections.values():
        keys |= {f.name for f in attrs.fields(type(section)) if f.metadata.get("restart")}
    return frozenset(keys | {f.name for f in attrs.fields(StoreSection)})


def _server_ssl_context(config: Config) -> ssl.SSLContext | None:
    """The RPC server's TLS context when ``enable_thrift_ssl`` is set: the certificate chain
    and private key of ``key_store_path`` (PKCS#12, or one PEM file with both) unlocked with
    ``key_store_pwd``; with ``enable_thrift_ssl_client_auth`` clients must show a certificate
    that chains to ``trust_store_path`` (mutual TLS)."""
    node = config.node
    if not node.enable_thrift_ssl:
        if node.enable_thrift_ssl_client_auth:
            raise ConfigError(
                "enable_thrift_ssl_client_auth is true but enable_thrift_ssl is false: client "
                "certificates are checked only on a TLS port",
                "enable_thrift_ssl_client_auth",
            )
        return None
    if not node.key_store_path:
        raise ConfigError(
            "enable_thrift_ssl is true but key_store_path is empty: give the server's "
            "certificate and key (a PKCS#12 store, or one PEM file with both)",
            "key_store_path",
        )
    if node.enable_thrift_ssl_client_auth and not node.trust_store_path:
        raise ConfigError(
            "enable_thrift_ssl_client_auth is true but trust_store_path is empty: give the CA "
            "certificates that client certificates must chain to",
            "trust_store_path",
        )
    try:
        context = tls.server_context(node.key_store_path, node.key_store_pwd or None)
    except tls.KeyStoreError as exc:
        raise ConfigError(f"key_store_path {exc}", "key_store_path") from exc
    if node.enable_thrift_ssl_client_auth:
        try:
            tls.require_client_certificates(
                context, node.trust_store_path, node.trust_store_pwd or None
            )
        except tls.KeyStoreError as exc:
            raise ConfigError(f"trust_store_path {exc}", "trust_store_path") from exc
    return context


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
