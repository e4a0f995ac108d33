"""Running statements on a node: each statement object becomes node, pipe and store calls.

`Executor(node).execute(statement, zone)` returns an `Outcome` — a message, or a `DataSet`
for statements that return rows. It never lets an exception other than `SqlError` out: a
failure of the node, the pipe manager or the store becomes a `StatementError` (a
`SqlSemanticError`) at the statement's position, carrying IoTDB's status code for it and
the original exception as ``__cause__``. A bug (an exception pipecore did not anticipate)
becomes a `StatementError` with status 305 and ``internal=True``, logged with its traceback;
the node keeps running.

Each statement either takes effect whole or not at all (see docs/sql-reference.md,
"Execution"); data statements are in `pipecore.sql.executor_data`, queries in
`pipecore.sql.executor_select`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pipecore_storage.errors import (
    CorruptFileError,
    PipecoreError,
    SchemaError,
    StoreClosedError,
    UnsupportedFormatError,
)

from ..backlog import BacklogFullError, backlog_note
from ..errors import ConfigError, PipeDroppedError, PipeError, PipeNotFoundError
from ..host import LEGACY_SYNC_TRANSPORT
from ..logins import loggable_statement
from ..timeparse import MonotonicClock, ZoneLike, format_creation_time
from . import admin, authority, executor_data, executor_select, fast_insert, pipe_tools, ttl_sql
from .dataset import DataSet
from .errors import SqlError
from .legacy import PIPESINK_TYPES, check_pipesink, pipesink_attributes_text
from .outcome import DONE, Context, Outcome, StatementError, semantic
from .pipe_receivers import receivers_dataset
from .pipe_source_user import check_alter, check_create
from .pipe_split import split_full
from .plugin_status import check_plugin_uri, create_plugin_failure, drop_plugin_failure
from .result import (
    SHOW_PIPEPLUGINS_COLUMNS,
    SHOW_PIPES_COLUMNS,
    SHOW_PIPESINK_COLUMNS,
    SHOW_PIPESINKTYPE_COLUMNS,
    SUCCESS_MESSAGE,
)
from .statements import (
    AlterPipe,
    CreateLegacyPipe,
    CreatePipe,
    CreatePipePlugin,
    CreatePipeSink,
    DropPipe,
    DropPipePlugin,
    DropPipeSink,
    LoadConfiguration,
    ShowPipePlugins,
    ShowPipes,
    ShowPipeSinks,
    ShowPipeSinkTypes,
    StartPipe,
    Statement,
    StopPipe,
)

if TYPE_CHECKING:
    from ..pipes import PipeInfo
    from .nodeview import NodeView, ReceiverView

__all__ = ["Executor", "status_code_of"]

log = logging.getLogger(__name__)

PIPE_ERROR = 1107  # IoTDB's PIPE_ERROR
# DROP of a pipe that does not exist; START/STOP/ALTER of one are a PIPE_ERROR (IoTDB 2.0.1,
# and IoTDBPipeSwitchStatusIT.testWrongPipeName through the ConfigNode client)
PIPE_NOT_EXIST_ERROR = 1806
INTERNAL_SERVER_ERROR = 305
UNKNOWN = "Unknown"


# ---------------------------------------------------------------- status codes
_SCHEMA_CODES = (
    ("database", "already", 501),
    ("", "already", 503),
    ("database", "does not exist", 500),
    ("", "does not exist", 508),
    ("", "not consistent", 614),
    ("", "type", 614),
)


def status_code_of(exc: BaseException) -> int:
    """IoTDB's status code for a failure."""
    if isinstance(exc, SqlError):
        return exc.status_code
    if isinstance(exc, PipeError):
        return PIPE_ERROR
    if isinstance(exc, ConfigError):
        return 202
    if isinstance(exc, SchemaError):
        text = str(exc).lower()
        for word, phrase, code in _SCHEMA_CODES:
            if word in text and phrase in text:
                return code
        return 509
    if isinstance(exc, CorruptFileError | UnsupportedFormatError | FileNotFoundError):
        return 1100
    if isinstance(exc, StoreClosedError):
        return INTERNAL_SERVER_ERROR
    if isinstance(exc, BacklogFullError):
        return exc.status_code  # 606: a pipe's backlog is full (sink.backlog.*)
    if isinstance(exc, PipecoreError | OSError | ValueError):
        return 301  # EXECUTE_STATEMENT_ERROR
    return INTERNAL_SERVER_ERROR


def _failure(statement: Statement, exc: BaseException) -> StatementError:
    known = isinstance(exc, PipecoreError | OSError)
    if known:
        message = str(exc) or type(exc).__name__
    else:
        log.error(
            "statement %r failed unexpectedly", loggable_statement(statement.sql), exc_info=exc
        )
        message = f"internal error: {type(exc).__name__}: {exc}"
    error = StatementError(
        message,
        statement.span.line,
        statement.span.column,
        status_code=status_code_of(exc),
        subject=_subject(statement, exc),
        internal=not known,
    )
    error.__cause__ = exc
    return error


def _subject(statement: Statement, exc: BaseException) -> str | None:
    for source in (exc, statement):
        for attribute in ("pipe_name", "plugin_name", "key", "path", "name"):
            value = getattr(source, attribute, None)
            if value:
                return str(value)
    return None


# ---------------------------------------------------------------- the executor
Handler = Callable[[Context, Any], Outcome]


class Executor:
    """Runs statements against one node. Thread-safe: sessions share it."""

    def __init__(self, node: NodeView) -> None:
        from .pipesinks import PipeSinkCatalog

        self.node = node
        self.clock = MonotonicClock()
        self.pipesinks = PipeSinkCatalog(node.catalog.system_dir)
        self._handlers: dict[type, Handler] = {
            CreatePipe: self._create_pipe,
            AlterPipe: self._alter_pipe,
            DropPipe: self._drop_pipe,
            StartPipe: lambda ctx, s: self._call(ctx.node.start_pipe, s.name),
            StopPipe: lambda ctx, s: self._call(ctx.node.stop_pipe, s.name),
            ShowPipes: self._show_pipes,
            CreatePipePlugin: self._create_plugin,
            DropPipePlugin: self._drop_plugin,
            ShowPipePlugins: self._show_plugins,
            CreatePipeSink: self._create_pipesink,
            DropPipeSink: self._drop_pipesink,
            ShowPipeSinks: self._show_pipesinks,
            ShowPipeSinkTypes: lambda ctx, s: Outcome(
                data=DataSet.text(SHOW_PIPESINKTYPE_COLUMNS, [(t,) for t in PIPESINK_TYPES])
            ),
            CreateLegacyPipe: self._create_legacy_pipe,
            LoadConfiguration: self._load_configuration,
            **executor_data.HANDLERS,
            **fast_insert.HANDLERS,
            **executor_select.HANDLERS,
            **admin.HANDLERS,
            **pipe_tools.HANDLERS,
            **authority.HANDLERS,
            **ttl_sql.HANDLERS,
        }

    def execute(
        self, statement: Statement, zone: ZoneLike = None, user: str | None = None
    ) -> Outcome:
        """Run one statement as `user` (None: the in-process API, which may do anything).
        Raises `SqlError` (a `StatementError` for run-time failures; 803 when `user` lacks
        a privilege the statement needs)."""
        handler = self._handlers.get(type(statement))
        if handler is None:
            raise semantic(statement, f"{type(statement).__name__} statements are not supported")
        context = Context(self.node, self.clock.now_ms(), zone, user)
        try:
            authority.check_statement(context, statement)
            return handler(context, statement)
        except SqlError as exc:
            if exc.sql is None:
                exc.sql = statement.sql
            raise
        except Exception as exc:
            raise _failure(statement, exc) from exc

    @staticmethod
    def _call(action: Callable[..., Any], *args: Any) -> Outcome:
        action(*args)
        return DONE

    # ------------------------------------------------------------ pipes
    def _create_pipe(self, ctx: Context, s: CreatePipe) -> Outcome:
        source, start = pipe_tools.take_start_flag(s.source)  # 'start'='false': created stopped
        check_create(ctx, s, s.name, source, s.sink)
        pipes = [(s.name, source)]
        if ctx.node.config.pipe.pipe_auto_split_full_enabled and s.pipesink is None:
            pipes = split_full(s.name, source)
        for name, attributes in pipes:
            ctx.node.create_pipe(
                name, attributes, s.processor, s.sink, if_not_exists=s.if_not_exists, start=start
            )
        return DONE

    def _alter_pipe(self, ctx: Context, s: AlterPipe) -> Outcome:
        check_alter(ctx, s)
        sections: dict[str, dict[str, str] | None] = {}
        replace = []
        for kind in ("source", "processor", "sink"):
            clause = getattr(s, kind)
            sections[kind] = None if clause is None else clause.parameters
            if clause is not None and clause.mode.upper() == "REPLACE":
                replace.append(kind)
        ctx.node.alter_pipe(s.name, **sections, replace=replace, if_exists=s.if_exists)
        return DONE

    def _drop_pipe(self, ctx: Context, s: DropPipe) -> Outcome:
        with self.pipesinks.lock:
            try:
                dropped = ctx.node.drop_pipe(s.name, if_exists=s.if_exists)
            except (PipeNotFoundError, PipeDroppedError) as exc:
                raise StatementError(
                    str(exc), s.span.line, s.span.column, status_code=PIPE_NOT_EXIST_ERROR
                ) from exc
            if dropped:
                self.pipesinks.forget_pipe(s.name)
        return DONE

    def _show_pipes(self, ctx: Context, s: ShowPipes) -> Outcome:
        node = ctx.node
        if s.receivers:  # SHOW PIPE RECEIVERS: pipecore's own, every connected sender
            return Outcome(data=receivers_dataset(node.receivers.list(), ctx.zone))
        if s.pipe_name is not None:
            pipes = [node.get_pipe(s.pipe_name)]
            receivers: list[ReceiverView] = []
        elif s.sink_used_by is not None:
            pipes = _pipes_with_sink_of(node, s.sink_used_by)
            receivers = []
        else:
            pipes = node.list_pipes()
            # only the sync tool's senders (IoTDB 1.0/1.1, seed 001): IoTDB 1.3/2.0 never lists
            # the senders of pipeTransfer or the air gap (SHOW PIPE RECEIVERS does, pipecore's)
            receivers = [r for r in node.receivers.list() if r.transport == LEGACY_SYNC_TRANSPORT]
        rows = [
            _pipe_row(
                p, ctx.zone, self.pipesinks.pipesink_of(p.name), backlog_note(ctx.store, p.name)
            )
            for p in pipes
        ]
        rows += [_receiver_row(r, ctx.zone) for r in receivers]
        return Outcome(data=DataSet.text(SHOW_PIPES_COLUMNS, rows))

    # ------------------------------------------------------------ pipe plugins
    def _create_plugin(self, ctx: Context, s: CreatePipePlugin) -> Outcome:
        check_plugin_uri(s, ctx.node.config)
        try:
            ctx.node.create_plugin(s.name, s.class_name, s.uri, if_not_exists=s.if_not_exists)
        except Exception as exc:
            answer = create_plugin_failure(s, exc)
            if answer is None:
                raise
            raise answer from exc
        return DONE

    def _drop_plugin(self, ctx: Context, s: DropPipePlugin) -> Outcome:
        try:
            ctx.node.drop_plugin(s.name, if_exists=s.if_exists)
        except Exception as exc:
            answer = drop_plugin_failure(s, exc)
            if answer is None:
                raise
            raise answer from exc
        return DONE

    def _show_plugins(self, ctx: Context, s: ShowPipePlugins) -> Outcome:
        rows: list[tuple[object, ...]] = [
            (e.name, e.plugin_type, e.class_name, e.plugin_jar) for e in ctx.node.list_plugins()
        ]
        for failure in ctx.node.plugin_failures:
            name = (failure.name or failure.source).upper()
            kind = "Builtin" if failure.origin == "builtin" else "External"
            jar = f"{failure.distribution}=={failure.version}" if failure.distribution else ""
            rows.append((name, kind, f"failed to load: {failure.error}", jar or failure.source))
        return Outcome(data=DataSet.text(SHOW_PIPEPLUGINS_COLUMNS, rows))

    # ------------------------------------------------------------ the sync tool's model
    def _create_pipesink(self, ctx: Context, s: CreatePipeSink) -> Outcome:
        if s.sink_type.lower() not in {t.lower() for t in PIPESINK_TYPES}:
            raise semantic(
                s,
                f"PIPESINK [{s.name}]: type {s.sink_type} is not supported; "
                f"SHOW PIPESINKTYPE lists the types ({', '.join(PIPESINK_TYPES)})",
                s.name,
            )
        check_pipesink(s)
        with self.pipesinks.lock:
            if self.pipesinks.get(s.name) is not None:
                raise semantic(s, f"PIPESINK [{s.name}] already exists in IoTDB.", s.name)
            self.pipesinks.add(s)
        return DONE

    def _drop_pipesink(self, ctx: Context, s: DropPipeSink) -> Outcome:
        with self.pipesinks.lock:
            if self.pipesinks.get(s.name) is None:
                raise semantic(s, f"PIPESINK [{s.name}] does not exist.", s.name)
            existing = {p.name for p in ctx.node.list_pipes()}
            for pipe in self.pipesinks.users(s.name):
                if pipe in existing:
                    raise semantic(
                        s,
                        f"Can not drop PIPESINK [{s.name}], because PIPE [{pipe}] is using it.",
                        s.name,
                    )
            self.pipesinks.remove(s.name)
        return DONE

    def _show_pipesinks(self, ctx: Context, s: ShowPipeSinks) -> Outcome:
        if s.name is None:
            sinks = self.pipesinks.all()
        else:
            one = self.pipesinks.get(s.name)
            if one is None:
                raise semantic(s, f"PIPESINK [{s.name}] does not exist.", s.name)
            sinks = [one]
        rows = [(p.name, p.sink_type, pipesink_attributes_text(p)) for p in sinks]
        return Outcome(data=DataSet.text(SHOW_PIPESINK_COLUMNS, rows))

    def _create_legacy_pipe(self, ctx: Context, s: CreateLegacyPipe) -> Outcome:
        with self.pipesinks.lock:
            existing = {p.name: p for p in ctx.node.list_pipes()}
            if s.name in existing:
                state = existing[s.name].state
                shown = "STOP" if state == "STOPPED" else state
                raise semantic(
                    s, f"PIPE [{s.name}] is {shown}, please retry after drop it.", s.name
                )
            pipesink = self.pipesinks.get(s.pipesink)
            if pipesink is None:
                raise semantic(s, f"PIPESINK [{s.pipesink}] does not exist", s.pipesink)
            if s.start_time is not None and s.start_time > ctx.now_ms:
                raise semantic(
                    s,
                    f"PIPE [{s.name}]: start time {s.start_time} is later than the current "
                    f"time {ctx.now_ms}, this is not supported",
                    s.name,
                )
            pipe = s.translate(pipesink)
            # the sync tool's retries of a failing file or request, then the pipe stops
            retries = ctx.node.config.sync.max_number_of_sync_file_retry
            sink = {**pipe.sink, "sink.exception.others.retry-max-times": str(retries)}
            # the sync tool creates its pipes stopped: START PIPE sends
            ctx.node.create_pipe(pipe.name, pipe.source, pipe.processor, sink, start=False)
            try:
                self.pipesinks.record_pipe(pipe.name, pipesink.name)
            except BaseException:
                ctx.node.drop_pipe(pipe.name, if_exists=True)
                raise
        return DONE

    # ------------------------------------------------------------ configuration
    def _load_configuration(self, ctx: Context, s: LoadConfiguration) -> Outcome:
        applied, waiting = ctx.node.reload_config()
        message = SUCCESS_MESSAGE
        if applied:
            message += f" Applied: {', '.join(applied)}."
        if waiting:
            message += f" Take effect at the next start: {', '.join(waiting)}."
        return Outcome(message)


# ---------------------------------------------------------------- SHOW PIPES rows
def _pipes_with_sink_of(node: Any, name: str) -> list[PipeInfo]:
    pipes = node.list_pipes()
    target = next((p for p in pipes if p.name == name), None)
    if target is None:
        return []
    wanted = _sorted_attributes(target.sink)
    return [p for p in pipes if _sorted_attributes(p.sink) == wanted]


def _sorted_attributes(parameters: Any) -> str:
    return str(sorted(parameters.attributes.items()))


def _number(value: int | None) -> str:
    return UNKNOWN if value is None else str(value)


def _seconds(value: float | None) -> str:
    return UNKNOWN if value is None else f"{value:.2f}"


def _exceptions(info: PipeInfo, zone: ZoneLike, note: str | None = None) -> str:
    parts = [f"{format_creation_time(e.time, zone)}, {e.message}" for e in info.exceptions]
    outage = info.facts.outage if info.facts is not None else None
    if outage is not None:  # live: the sink is retrying now
        parts.append(
            f"{format_creation_time(outage.since_ms, zone)}, retrying (retry {outage.retries}, "
            f"last at {format_creation_time(outage.last_ms, zone)}): {outage.last_error}"
        )
    if note:
        parts.append(note)
    return "; ".join(parts)


def _pipe_row(
    info: PipeInfo, zone: ZoneLike, pipesink: str | None = None, note: str | None = None
) -> tuple[str, ...]:
    """A pipe's row; a sync-tool pipe (`pipesink`: the PIPESINK it goes to) shows what the
    sync tool's SHOW PIPES showed (seeds 000/001): role sender, remote the PIPESINK, its
    attributes (SyncDelOp, DataStartTimestamp) and a NORMAL / WARN / ERROR message."""
    source = str(info.source)
    message = _exceptions(info, zone, note)
    if pipesink is not None:
        attributes = info.source.attributes
        inclusion = str(attributes.get("source.inclusion", "data.insert"))
        start = attributes.get("source.start-time", "0")
        source = _braces(
            {
                "role": "sender",
                "remote": pipesink,
                "SyncDelOp": "true" if "delete" in inclusion or inclusion == "data" else "false",
                "DataStartTimestamp": start,
            }
        )
        message = _legacy_message(info, message)
    return (
        info.name,
        format_creation_time(info.creation_time, zone),
        info.state,
        source,
        str(info.processor),
        str(info.sink),
        message,
        _number(info.remaining_event_count),
        _seconds(info.estimated_remaining_seconds),
    )


def _legacy_message(info: PipeInfo, exceptions: str) -> str:
    """Seed 001: NORMAL; WARN when an error occurred but the pipe keeps running; ERROR when
    the data cannot be transferred (the pipe was stopped by it)."""
    if not info.exceptions:
        return "NORMAL"
    level = "ERROR" if info.stopped_by_runtime_exception else "WARN"
    return f"{level}: {exceptions}"


def _receiver_message(error: str | None) -> str:
    """A receiver row's message as seed 001 shows it: NORMAL, or ERROR when a sender was
    refused (handshake, login, version: the network works but data cannot be taken), WARN
    for other errors (the connection keeps running)."""
    if not error:
        return "NORMAL"
    refused = any(w in error for w in ("HANDSHAKE", "LOGIN", "VERSION", "ip_white_list"))
    return f"{'ERROR' if refused else 'WARN'}: {error}"


def _braces(items: dict[str, object]) -> str:
    return "{" + ", ".join(f"{k}={v}" for k, v in sorted(items.items())) + "}"


def _receiver_row(conn: ReceiverView, zone: ZoneLike) -> tuple[str, ...]:
    """A sender connected to this node's receivers, in SHOW PIPES' nine columns (the sync
    tool's receiver row: role receiver, the sender's address, the databases written)."""
    source: dict[str, object] = {"role": "receiver", "remote": conn.remote}
    source["transport"] = conn.transport
    if conn.cluster_id:
        source["cluster-id"] = conn.cluster_id
    sink = {
        "database": ",".join(sorted(conn.databases)),
        "points": conn.points,
        "files": conn.files,
    }
    return (
        getattr(conn, "pipe_name", None) or f"receiver-{conn.id}",  # the sync tool names it
        format_creation_time(conn.connected_at, zone),
        "RUNNING",
        _braces(source),
        "{}",
        _braces(sink),
        _receiver_message(conn.last_error),
        UNKNOWN,
        UNKNOWN,
    )
