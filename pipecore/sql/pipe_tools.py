"""Statements beyond IoTDB's (docs/sql-reference.md, "Beyond IoTDB"): prove a pipe complete,
repair it, explain it, steer its progress, and move its data without a network.

* ``VERIFY PIPE p [WHERE time …] [GRANULARITY 1h]`` — windows that differ (`pipecore.verify`);
* ``RESYNC PIPE p [WHERE time …] [GRANULARITY 1h]`` — resend the windows that differ;
  ``RESYNC PIPE p RANGE [t1, t2)`` — resend everything of the scope in that range;
* ``EXPLAIN PIPE p`` / ``EXPLAIN CREATE PIPE …`` — a dry run (`pipecore.explain`);
* ``ALTER PIPE p RESET PROGRESS`` / ``ALTER PIPE p SET PROGRESS TO <time>``;
* ``SHOW QUARANTINE [p]``, ``REPLAY QUARANTINE [p]`` (`pipecore.quarantine`);
* ``EXPORT PIPE p TO 'dir' [WITH ('key'='…')]``, ``IMPORT 'dir' [WITH ('key'='…')]``
  (`pipecore.sneakernet`).

Statements, their transformer callbacks (`PipeToolsMixin`, mixed into the statement builder)
and their handlers (`HANDLERS`, merged into the executor's table) live here together.
"""

from __future__ import annotations

from typing import Any

import attrs
from lark import Token, v_args

from .. import explain as explain_ops
from .. import quarantine, sneakernet
from .. import verify as verify_ops
from ..digest import MAX_TIME
from ..errors import PipeParameterNotValidError
from ..parameters import PipeParameters
from ..timeparse import format_datetime, parse_duration, parse_time_value
from .dataset import DataSet
from .expressions import Condition, TimeValue, is_time_condition, time_range
from .outcome import DONE, Context, Outcome, semantic
from .statements import CreatePipe, Statement
from .transform_terms import Const, Located, TermsMixin, unquote

__all__ = [
    "HANDLERS",
    "ExplainPipe",
    "ExportPipe",
    "ImportBundle",
    "PipeToolsMixin",
    "ReplayQuarantine",
    "ResyncPipe",
    "SetPipeProgress",
    "ShowQuarantine",
    "VerifyPipe",
    "take_start_flag",
]

VERIFY_COLUMNS = ("Series", "WindowStart", "WindowEnd", "SenderPoints", "ReceiverPoints", "Status")
RESYNC_COLUMNS = ("Windows", "Points", "Tablets", "ExtraWindows")
QUARANTINE_COLUMNS = ("Pipe", "Entry", "Kind", "Points", "Bytes", "Tries", "Time", "Reason")
REPLAY_COLUMNS = ("Replayed", "Points", "Failed", "Failures")
EXPORT_COLUMNS = ("Bundle", "Files", "Points", "Bytes", "FromSeq", "ToSeq")
IMPORT_COLUMNS = ("Bundle", "Files", "Points", "AlreadyImported")
EXPLAIN_COLUMNS = ("Kind", "Item", "StartTime", "EndTime", "Points", "Bytes")
_START_KEYS = ("start", "source.start", "extractor.start")


# ---------------------------------------------------------------------- statements
@attrs.frozen(kw_only=True)
class VerifyPipe(Statement):
    """``VERIFY PIPE name [WHERE <time range>] [GRANULARITY <duration>]``."""

    name: str
    where: Condition | None = None
    granularity: int = verify_ops.DEFAULT_GRANULARITY_MS


@attrs.frozen(kw_only=True)
class ResyncPipe(Statement):
    """``RESYNC PIPE name [WHERE …] [GRANULARITY …]`` (verify, resend what differs) or
    ``RESYNC PIPE name RANGE [t1, t2)`` (`range` given: resend all of it)."""

    name: str
    where: Condition | None = None
    granularity: int = verify_ops.DEFAULT_GRANULARITY_MS
    range: tuple[Any, Any] | None = None


@attrs.frozen(kw_only=True)
class ExplainPipe(Statement):
    """``EXPLAIN PIPE name`` or ``EXPLAIN CREATE PIPE …`` (`create` given)."""

    name: str
    create: CreatePipe | None = None


@attrs.frozen(kw_only=True)
class SetPipeProgress(Statement):
    """``ALTER PIPE name RESET PROGRESS`` (`time` None) or ``… SET PROGRESS TO <time>``."""

    name: str
    time: Any = None


@attrs.frozen(kw_only=True)
class ShowQuarantine(Statement):
    """``SHOW QUARANTINE [pipe]``."""

    name: str | None = None


@attrs.frozen(kw_only=True)
class ReplayQuarantine(Statement):
    """``REPLAY QUARANTINE [pipe]``."""

    name: str | None = None


@attrs.frozen(kw_only=True)
class ExportPipe(Statement):
    """``EXPORT PIPE name TO 'dir' [WITH ('key'='…')]``."""

    name: str
    directory: str
    parameters: dict[str, str] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class ImportBundle(Statement):
    """``IMPORT 'dir' [WITH ('key'='…')]``."""

    directory: str
    parameters: dict[str, str] = attrs.field(factory=dict)


# ---------------------------------------------------------------------- parse tree → statements
def _granularity(token: Token) -> int:
    text = str(token)
    return int(text) if token.type == "INT" else parse_duration(text)


@v_args(meta=True)
class PipeToolsMixin(TermsMixin):
    """Transformer callbacks of the "beyond IoTDB" grammar block."""

    def _span(self, meta: Any) -> Any:  # provided by StatementBuilder
        raise NotImplementedError

    @staticmethod
    def _name(children: Any, index: int = 0) -> str:  # provided by StatementBuilder
        raise NotImplementedError

    def _time_where(self, children: list[Any]) -> Condition | None:
        for child in children:
            if isinstance(child, Located) and child.value is not None:
                if not is_time_condition(child.value):
                    raise self._semantic(
                        "WHERE takes only time conditions joined by AND, e.g. "
                        "time >= 2024-01-01 and time < 2024-02-01",
                        child.line,
                        child.column,
                    )
                return child.value
        return None

    def granularity(self, meta: Any, children: list[Token]) -> int:
        value = _granularity(children[-1])
        if value <= 0:
            raise self._semantic("GRANULARITY must be positive", meta.line, meta.column)
        return value

    def _window_options(self, children: list[Any]) -> dict[str, Any]:
        options: dict[str, Any] = {"where": self._time_where(children)}
        grains = [c for c in children if isinstance(c, int) and not isinstance(c, bool)]
        if grains:
            options["granularity"] = grains[0]
        return options

    def verify_pipe(self, meta: Any, children: list[Any]) -> VerifyPipe:
        return VerifyPipe(
            name=self._name(children), span=self._span(meta), **self._window_options(children)
        )

    def resync_pipe(self, meta: Any, children: list[Any]) -> ResyncPipe:
        return ResyncPipe(
            name=self._name(children), span=self._span(meta), **self._window_options(children)
        )

    def resync_range(self, meta: Any, children: list[Any]) -> ResyncPipe:
        consts = [c for c in children if isinstance(c, Const)]
        bounds = (consts[0].value, consts[1].value)
        return ResyncPipe(name=self._name(children), range=bounds, span=self._span(meta))

    def explain_pipe(self, meta: Any, children: list[Any]) -> ExplainPipe:
        return ExplainPipe(name=self._name(children), span=self._span(meta))

    def explain_create_pipe(self, meta: Any, children: list[Any]) -> ExplainPipe:
        create = next(c for c in children if isinstance(c, CreatePipe))
        return ExplainPipe(name=create.name, create=create, span=self._span(meta))

    def set_pipe_progress(self, meta: Any, children: list[Any]) -> SetPipeProgress:
        const = next(c for c in children if isinstance(c, Const))
        return SetPipeProgress(name=self._name(children), time=const.value, span=self._span(meta))

    def reset_pipe_progress(self, meta: Any, children: list[Any]) -> SetPipeProgress:
        return SetPipeProgress(name=self._name(children), span=self._span(meta))

    def _optional_name(self, children: list[Any]) -> str | None:
        try:
            return self._name(children)
        except IndexError:
            return None

    def show_quarantine(self, meta: Any, children: list[Any]) -> ShowQuarantine:
        return ShowQuarantine(name=self._optional_name(children), span=self._span(meta))

    def replay_quarantine(self, meta: Any, children: list[Any]) -> ReplayQuarantine:
        return ReplayQuarantine(name=self._optional_name(children), span=self._span(meta))

    def _string_and_params(self, children: list[Any]) -> tuple[str, dict[str, str]]:
        text = next(unquote(c) for c in children if isinstance(c, Token) and c.type == "STRING")
        params: dict[str, str] = {}
        for child in children:
            value = getattr(child, "value", None)
            if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], list):
                params = {p.key.text: p.value.text for p in value[0]}
        return text, params

    def export_pipe(self, meta: Any, children: list[Any]) -> ExportPipe:
        directory, params = self._string_and_params(children)
        return ExportPipe(
            name=self._name(children),
            directory=directory,
            parameters=params,
            span=self._span(meta),
        )

    def import_bundle(self, meta: Any, children: list[Any]) -> ImportBundle:
        directory, params = self._string_and_params(children)
        return ImportBundle(directory=directory, parameters=params, span=self._span(meta))


# ---------------------------------------------------------------------- running them
def take_start_flag(source: dict[str, str]) -> tuple[dict[str, str], bool]:
    """CREATE PIPE … WITH SOURCE ('start'='false'): the source parameters without the flag,
    and whether the pipe starts (pipecore's extension; docs/sql-reference.md)."""
    found = [k for k in source if k.lower() in _START_KEYS]
    if not found:
        return source, True
    value = source[found[-1]].strip().lower()
    if value not in ("true", "false"):
        raise PipeParameterNotValidError(
            f"Invalid value {source[found[-1]]!r} of parameter {found[-1]}: expected true or false",
            key=found[-1],
            expected="true or false",
        )
    return {k: v for k, v in source.items() if k not in found}, value == "true"


def _resolve_time(value: Any, ctx: Context, statement: Any) -> int:
    """Epoch ms of a time in a statement; anything else is refused (701) at the statement."""
    try:
        if isinstance(value, TimeValue):
            return value.resolve(ctx.now_ms)
        return parse_time_value(getattr(value, "value", value), ctx.zone, ctx.now_ms)
    except ValueError as exc:
        raise semantic(statement, f"not a time: {exc}") from exc


def _range(where: Condition | None, ctx: Context) -> tuple[int, int]:
    """[start, end) of a time condition (inclusive bounds turned half-open)."""
    low, high = time_range(where, ctx.now_ms)
    return low, high + 1 if high < MAX_TIME else MAX_TIME


def _verify_pipe(ctx: Context, s: VerifyPipe) -> Outcome:
    start, end = _range(s.where, ctx)
    rows = verify_ops.verify_pipe(ctx.node.pipes, s.name, start, end, s.granularity)
    table = [
        (r.series, r.window_start, r.window_end, r.sender_points, r.receiver_points, r.status)
        for r in rows
    ]
    return Outcome(data=DataSet.text(VERIFY_COLUMNS, table))


def _resync(ctx: Context, s: ResyncPipe) -> Outcome:
    manager = ctx.node.pipes
    if s.range is not None:
        start, end = (_resolve_time(v, ctx, s) for v in s.range)
        report = verify_ops.resync_pipe(manager, s.name, start, end, verify_first=False)
    else:
        start, end = _range(s.where, ctx)
        report = verify_ops.resync_pipe(manager, s.name, start, end, s.granularity)
    row = (report.windows, report.points, report.tablets, report.extra_windows)
    return Outcome(data=DataSet.text(RESYNC_COLUMNS, [row]))


def _explain_rows(ctx: Context, s: ExplainPipe) -> Outcome:
    manager = ctx.node.pipes
    sections = None
    if s.create is not None:
        source, _ = take_start_flag(dict(s.create.source))
        sections = {
            "source": _parameters(source),
            "processor": _parameters(s.create.processor),
            "sink": _parameters(s.create.sink),
        }
    scope = verify_ops.pipe_scope(manager, s.name, sections)
    rows = [
        (r.kind, r.item, r.start, r.end, r.points, r.bytes)
        for r in explain_ops.explain_scope(ctx.node.store, scope)
    ]
    return Outcome(data=DataSet.text(EXPLAIN_COLUMNS, rows))


def _parameters(values: dict[str, str]) -> PipeParameters:
    return PipeParameters(values)


def _set_progress(ctx: Context, s: SetPipeProgress) -> Outcome:
    progress = None if s.time is None else {"resend-from": _resolve_time(s.time, ctx, s)}
    ctx.node.pipes.reset_progress(s.name, progress)
    return DONE


def _show_quarantine(ctx: Context, s: ShowQuarantine) -> Outcome:
    root = quarantine.quarantine_root(ctx.node.data_dir)
    rows = [
        (
            e.pipe,
            e.id,
            e.kind,
            e.points,
            e.bytes,
            e.tries,
            format_datetime(e.time, ctx.zone),
            e.reason,
        )
        for e in quarantine.list_entries(root, s.name)
    ]
    return Outcome(data=DataSet.text(QUARANTINE_COLUMNS, rows))


def _replay_quarantine(ctx: Context, s: ReplayQuarantine) -> Outcome:
    root = quarantine.quarantine_root(ctx.node.data_dir)
    sent, points, failures = quarantine.replay(ctx.node.pipes, root, s.name)
    row = (sent, points, len(failures), "; ".join(failures)[:2000])
    return Outcome(data=DataSet.text(REPLAY_COLUMNS, [row]))


def _key(parameters: dict[str, str]) -> str | None:
    return PipeParameters(parameters).get_string_or_default(["key", "sneakernet.key"], "") or None


def _export(ctx: Context, s: ExportPipe) -> Outcome:
    node = ctx.node
    report = sneakernet.export_pipe(
        node.pipes, node.data_dir, s.name, s.directory, _key(s.parameters)
    )
    row = (report.bundle, report.files, report.points, report.bytes, report.from_seq, report.to_seq)
    return Outcome(data=DataSet.text(EXPORT_COLUMNS, [row]))


def _import(ctx: Context, s: ImportBundle) -> Outcome:
    node = ctx.node
    report = sneakernet.import_bundle(node.store, node.data_dir, s.directory, _key(s.parameters))
    row = (report.bundle, report.files, report.points, str(report.already_imported).lower())
    return Outcome(data=DataSet.text(IMPORT_COLUMNS, [row]))


HANDLERS: dict[type, Any] = {
    ExportPipe: _export,
    ImportBundle: _import,
    ShowQuarantine: _show_quarantine,
    ReplayQuarantine: _replay_quarantine,
    VerifyPipe: _verify_pipe,
    ResyncPipe: _resync,
    ExplainPipe: _explain_rows,
    SetPipeProgress: _set_progress,
}
