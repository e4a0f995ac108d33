"""Statement objects: one frozen attrs class per kind of statement pipecore accepts.

Every statement carries its `span` (where it sits in the source text, and the text itself)
and `warnings` (what the parser forgave, e.g. a missing comma between two pipe
parameters). Parameter lists are plain dicts that keep the user's keys and their order.
Times are already converted to epoch ms, except ``now()``, which stays a `TimeValue` for
the executor to resolve when it runs the statement.
"""

from __future__ import annotations

import attrs

from pipecore_storage.types import CompressionType, TSDataType, TSEncoding

from .expressions import Condition, Path, TimeValue, Value, time_range

__all__ = [
    "ALL_PATHS",
    "NO_SPAN",
    "AggregateCall",
    "AlterClause",
    "AlterPipe",
    "CountDatabases",
    "CountDevices",
    "CountTimeseries",
    "CreateAlignedTimeseries",
    "CreateDatabase",
    "CreateLegacyPipe",
    "CreatePipe",
    "CreatePipePlugin",
    "CreatePipeSink",
    "CreateTimeseries",
    "DeleteData",
    "DeleteDatabase",
    "DeleteTimeseries",
    "DropPipe",
    "DropPipePlugin",
    "DropPipeSink",
    "Flush",
    "Insert",
    "InsertRow",
    "LoadConfiguration",
    "LoadTsFile",
    "MeasurementSpec",
    "ResultColumn",
    "Select",
    "SelectLast",
    "SeriesSelector",
    "ShowDatabases",
    "ShowDevices",
    "ShowPipePlugins",
    "ShowPipeSinkTypes",
    "ShowPipeSinks",
    "ShowPipes",
    "ShowTimeseries",
    "SourceSpan",
    "StartPipe",
    "Statement",
    "StopPipe",
]


@attrs.frozen
class SourceSpan:
    """Where a statement is in the source: 1-based line/column of its first and last
    character, 0-based offsets [`start`, `end`), and its `text`."""

    line: int
    column: int
    end_line: int
    end_column: int
    start: int
    end: int
    text: str


NO_SPAN = SourceSpan(1, 1, 1, 1, 0, 0, "")
ALL_PATHS = Path(("root", "**"))


@attrs.frozen(kw_only=True)
class Statement:
    """Base of all statements."""

    span: SourceSpan = NO_SPAN
    warnings: tuple[str, ...] = ()

    @property
    def sql(self) -> str:
        """The statement's own source text."""
        return self.span.text

    @property
    def line(self) -> int:
        """The source line the statement starts on (1-based)."""
        return self.span.line


# ---------------------------------------------------------------- pipes


@attrs.frozen(kw_only=True)
class CreatePipe(Statement):
    """``CREATE PIPE [IF NOT EXISTS] name [WITH SOURCE (...)] [WITH PROCESSOR (...)]
    WITH SINK (...)`` (also spelt EXTRACTOR / CONNECTOR, or the bare ``CREATE PIPE p
    (...)`` that gives the sink only). Empty dicts stand for absent clauses.

    `pipesink` names the legacy PIPESINK when this statement is the translation of a
    ``CREATE PIPE p TO sink`` (see `CreateLegacyPipe.translate`)."""

    name: str
    if_not_exists: bool = False
    source: dict[str, str] = attrs.field(factory=dict)
    processor: dict[str, str] = attrs.field(factory=dict)
    sink: dict[str, str] = attrs.field(factory=dict)
    pipesink: str | None = None


@attrs.frozen(kw_only=True)
class AlterClause:
    """One ``MODIFY|REPLACE SOURCE|PROCESSOR|SINK (...)`` of ALTER PIPE. `mode` is
    ``MODIFY`` (merge keys, equivalent spellings replace each other) or ``REPLACE``."""

    mode: str
    parameters: dict[str, str] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class AlterPipe(Statement):
    """``ALTER PIPE [IF EXISTS] name [MODIFY|REPLACE SOURCE (...)] [... PROCESSOR (...)]
    [... SINK (...)]``; a clause that is not given is None."""

    name: str
    if_exists: bool = False
    source: AlterClause | None = None
    processor: AlterClause | None = None
    sink: AlterClause | None = None


@attrs.frozen(kw_only=True)
class DropPipe(Statement):
    """``DROP PIPE [IF EXISTS] name``."""

    name: str
    if_exists: bool = False


@attrs.frozen(kw_only=True)
class StartPipe(Statement):
    """``START PIPE name``."""

    name: str


@attrs.frozen(kw_only=True)
class StopPipe(Statement):
    """``STOP PIPE name``."""

    name: str


@attrs.frozen(kw_only=True)
class ShowPipes(Statement):
    """``SHOW PIPES`` (both None), ``SHOW PIPE name`` (`pipe_name`), or ``SHOW PIPES
    WHERE SINK USED BY name`` (`sink_used_by`: pipes whose sink parameters equal that
    pipe's). ``SHOW PIPE`` without a name is ``SHOW PIPES``, as the sync tool had it.
    `receivers`: ``SHOW PIPE RECEIVERS``, pipecore's list of connected senders
    (`pipecore.sql.pipe_receivers`)."""

    pipe_name: str | None = None
    sink_used_by: str | None = None
    receivers: bool = False


# ---------------------------------------------------------------- pipe plugins


@attrs.frozen(kw_only=True)
class CreatePipePlugin(Statement):
    """``CREATE PIPEPLUGIN [IF NOT EXISTS] name AS 'module:Class' USING URI 'uri'``.

    `class_name` is as written; `module` and `attribute` split it at the colon (or, for
    a Java-style ``pkg.mod.Class``, at the last dot)."""

    name: str
    class_name: str
    uri: str
    if_not_exists: bool = False

    @property
    def module(self) -> str:
        return self._split()[0]

    @property
    def attribute(self) -> str:
        return self._split()[1]

    def _split(self) -> tuple[str, str]:
        if ":" in self.class_name:
            module, _, attribute = self.class_name.partition(":")
        else:
            module, _, attribute = self.class_name.rpartition(".")
        return module.strip(), attribute.strip()


@attrs.frozen(kw_only=True)
class DropPipePlugin(Statement):
    """``DROP PIPEPLUGIN [IF EXISTS] name``."""

    name: str
    if_exists: bool = False


@attrs.frozen(kw_only=True)
class ShowPipePlugins(Statement):
    """``SHOW PIPEPLUGINS``."""


# ---------------------------------------------------------------- the sync tool


@attrs.frozen(kw_only=True)
class CreatePipeSink(Statement):
    """``CREATE PIPESINK name AS IoTDB [(ip='...', port=...)]``.

    `attributes` keeps the keys and values as written (values unquoted, as text);
    `ip` and `port` read them case-insensitively with the sync tool's defaults."""

    name: str
    sink_type: str = "IoTDB"
    attributes: dict[str, str] = attrs.field(factory=dict)

    def _attribute(self, key: str) -> str | None:
        for k, v in self.attributes.items():
            if k.lower() == key:
                return v
        return None

    @property
    def ip(self) -> str:
        return self._attribute("ip") or "127.0.0.1"

    @property
    def port(self) -> str:
        """The port as written (text); `legacy.translate_legacy_pipe` checks it."""
        return self._attribute("port") or "6667"


@attrs.frozen(kw_only=True)
class DropPipeSink(Statement):
    """``DROP PIPESINK name``."""

    name: str


@attrs.frozen(kw_only=True)
class ShowPipeSinks(Statement):
    """``SHOW PIPESINKS`` / ``SHOW PIPESINK [name]``."""

    name: str | None = None


@attrs.frozen(kw_only=True)
class ShowPipeSinkTypes(Statement):
    """``SHOW PIPESINKTYPE``."""


@attrs.frozen(kw_only=True)
class CreateLegacyPipe(Statement):
    """``CREATE PIPE name TO pipesink [FROM (select ** from root where time >= t)]
    [WITH SyncDelOp=false]``: the sync tool's pipe. `start_time` is the FROM clause's
    start (epoch ms) or None; `attributes` the WITH pairs as written."""

    name: str
    pipesink: str
    start_time: int | None = None
    attributes: dict[str, str] = attrs.field(factory=dict)

    def translate(self, pipesink: CreatePipeSink) -> CreatePipe:
        """This pipe on the new model (see `pipecore.sql.legacy.translate_legacy_pipe`)."""
        from .legacy import translate_legacy_pipe

        return translate_legacy_pipe(self, pipesink)


# ---------------------------------------------------------------- databases and series


@attrs.frozen(kw_only=True)
class CreateDatabase(Statement):
    """``CREATE DATABASE root.x`` (also ``CREATE STORAGE GROUP`` / ``SET STORAGE GROUP
    TO``) with optional ``WITH TTL=..., ...``: `attributes` maps upper-case keys to ints."""

    path: Path
    attributes: dict[str, int] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class ShowDatabases(Statement):
    """``SHOW DATABASES [DETAILS] [pattern]``; the pattern defaults to ``root.**``."""

    pattern: Path = ALL_PATHS
    details: bool = False


@attrs.frozen(kw_only=True)
class CountDatabases(Statement):
    """``COUNT DATABASES [pattern]``."""

    pattern: Path = ALL_PATHS


@attrs.frozen(kw_only=True)
class DeleteDatabase(Statement):
    """``DELETE DATABASE root.x[, root.y]`` (also DROP, STORAGE GROUP); may be patterns."""

    paths: tuple[Path, ...]


@attrs.frozen(kw_only=True)
class MeasurementSpec:
    """What CREATE [ALIGNED] TIMESERIES says about one series: data type, encoding and
    compressor (None when not given: the store applies IoTDB's defaults), alias, other
    properties, tags and attributes (dicts as written)."""

    name: str
    data_type: TSDataType
    encoding: TSEncoding | None = None
    compressor: CompressionType | None = None
    alias: str | None = None
    props: dict[str, str] = attrs.field(factory=dict)
    tags: dict[str, str] = attrs.field(factory=dict)
    attributes: dict[str, str] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class CreateTimeseries(Statement):
    """``CREATE TIMESERIES root.sg.d.s WITH DATATYPE=..., ENCODING=...[, COMPRESSOR=...]``
    (or IoTDB's short form ``root.sg.d.s INT32 encoding=RLE``)."""

    path: Path
    spec: MeasurementSpec


@attrs.frozen(kw_only=True)
class CreateAlignedTimeseries(Statement):
    """``CREATE ALIGNED TIMESERIES root.sg.d(s1 INT32, s2 FLOAT encoding=RLE, ...)``."""

    device: Path
    measurements: tuple[MeasurementSpec, ...]


@attrs.frozen(kw_only=True)
class DeleteTimeseries(Statement):
    """``DELETE TIMESERIES pattern[, pattern]`` (also DROP)."""

    paths: tuple[Path, ...]


@attrs.frozen
class TagCondition:
    """``WHERE TAGS(key) = value`` (or ``CONTAINS value``) of SHOW / COUNT TIMESERIES."""

    key: str
    value: str
    contains: bool = False

    def matches(self, tags: dict[str, str]) -> bool:
        found = tags.get(self.key)
        if found is None:
            return False
        return self.value in found if self.contains else found == self.value


@attrs.frozen(kw_only=True)
class ShowTimeseries(Statement):
    """``SHOW TIMESERIES [pattern] [LIMIT n] [OFFSET m]``; pattern defaults to root.**."""

    pattern: Path = ALL_PATHS
    tag: TagCondition | None = None
    limit: int | None = None
    offset: int = 0


@attrs.frozen(kw_only=True)
class ShowDevices(Statement):
    """``SHOW DEVICES [pattern] [LIMIT n] [OFFSET m]``."""

    pattern: Path = ALL_PATHS
    limit: int | None = None
    offset: int = 0


@attrs.frozen(kw_only=True)
class CountTimeseries(Statement):
    """``COUNT TIMESERIES [pattern] [GROUP BY LEVEL = n]``."""

    pattern: Path = ALL_PATHS
    tag: TagCondition | None = None
    group_by_level: int | None = None


@attrs.frozen(kw_only=True)
class CountDevices(Statement):
    """``COUNT DEVICES [pattern]``."""

    pattern: Path = ALL_PATHS


# ---------------------------------------------------------------- data


@attrs.frozen(kw_only=True)
class InsertRow:
    """One ``(time, v1, v2, ...)`` of INSERT. `values` line up with `Insert.measurements`;
    a value is a `Literal` or, for a datetime written as a value, a `TimeValue`."""

    time: TimeValue
    values: tuple[Value, ...]
    line: int = 1
    column: int = 1


@attrs.frozen(kw_only=True)
class Insert(Statement):
    """``INSERT INTO root.x.d(timestamp, s1, s2) [ALIGNED] VALUES (...), (...)``.

    Without a time column every row's time is ``now()``."""

    device: Path
    measurements: tuple[str, ...]
    rows: tuple[InsertRow, ...]
    aligned: bool = False

    def timestamps(self, now_ms: int) -> list[int]:
        """Each row's epoch-ms time, taking `now_ms` for ``now()``."""
        return [row.time.resolve(now_ms) for row in self.rows]


@attrs.frozen(kw_only=True)
class AggregateCall:
    """An aggregate in a select list: `function` in upper case (COUNT, SUM, AVG,
    MIN_VALUE, MAX_VALUE, FIRST_VALUE, LAST_VALUE, MIN_TIME, MAX_TIME) over `path`
    (a suffix or full path, possibly ``*``)."""

    function: str
    path: Path
    #: the function name as written (``MAX_VALUE``, ``max_value``): IoTDB's column header keeps it
    spelling: str = attrs.field(default="", eq=False)

    def __str__(self) -> str:
        return f"{self.spelling or self.function.lower()}({self.path})"


SeriesSelector = Path | AggregateCall


@attrs.frozen(kw_only=True)
class ResultColumn:
    """One item of a select list: a path (suffix of the FROM paths, or full) or an
    aggregate call, with an optional alias."""

    selector: SeriesSelector
    alias: str | None = None

    @property
    def is_aggregate(self) -> bool:
        return isinstance(self.selector, AggregateCall)


@attrs.frozen(kw_only=True)
class Select(Statement):
    """``SELECT columns FROM paths [WHERE condition] [GROUP BY LEVEL = l, ...]
    [ORDER BY TIME [ASC|DESC]] [LIMIT n] [OFFSET m] [SLIMIT n] [SOFFSET m]
    [ALIGN BY TIME|DEVICE]``."""

    columns: tuple[ResultColumn, ...]
    from_paths: tuple[Path, ...]
    where: Condition | None = None
    order_desc: bool = False
    limit: int | None = None
    offset: int = 0
    series_limit: int | None = None
    series_offset: int = 0
    align_by_device: bool = False
    group_by_levels: tuple[int, ...] = ()  # GROUP BY LEVEL = l1, l2 ... of an aggregation

    @property
    def is_aggregation(self) -> bool:
        return any(c.is_aggregate for c in self.columns)


@attrs.frozen(kw_only=True)
class SelectLast(Statement):
    """``SELECT LAST paths FROM prefixes [WHERE time condition] [ORDER BY TIME ...]``:
    one row per series (Time, Timeseries, Value, DataType)."""

    columns: tuple[ResultColumn, ...]
    from_paths: tuple[Path, ...]
    where: Condition | None = None
    order_desc: bool = False


@attrs.frozen(kw_only=True)
class DeleteData(Statement):
    """``DELETE FROM path[, path] [WHERE time condition]``; see `time_range`."""

    paths: tuple[Path, ...]
    where: Condition | None = None

    def time_range(self, now_ms: int) -> tuple[int, int]:
        """The inclusive (start, end) epoch-ms range to delete."""
        return time_range(self.where, now_ms)


@attrs.frozen(kw_only=True)
class Flush(Statement):
    """``FLUSH [root.x, ...] [true|false] [ON LOCAL|CLUSTER]``: `sequence` is the boolean
    (True: sequence files only, False: unsequence only, None: both)."""

    paths: tuple[Path, ...] = ()
    sequence: bool | None = None
    scope: str | None = None


@attrs.frozen(kw_only=True)
class LoadTsFile(Statement):
    """``LOAD '<file or directory>' [sglevel=1] [verify=true] [onSuccess=delete|none]``
    (also ``WITH ('k'='v', ...)``). `options` maps lower-case keys to text values."""

    path: str
    options: dict[str, str] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class LoadConfiguration(Statement):
    """``LOAD CONFIGURATION [ON LOCAL|CLUSTER]``."""

    scope: str | None = None


ALL_STATEMENT_TYPES: tuple[type[Statement], ...] = tuple(
    cls
    for cls in list(globals().values())
    if isinstance(cls, type) and issubclass(cls, Statement) and cls is not Statement
)
