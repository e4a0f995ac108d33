"""From lark's parse tree to statement objects, with the checks that need no node.

`StatementBuilder` is a lark Transformer; `TermsMixin` (in `transform_terms`) handles names,
paths, literals and conditions, `DataMixin` (in `transform_data`) the data and schema
statements, this module the other statements. A check that fails raises
`SqlSemanticError` pointing at the offending part.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from lark import Token, v_args

from pipecore_storage.types import CompressionType, TSDataType, TSEncoding, parse_enum

from ..timeparse import now_ms
from . import statements as st
from .admin import AdminMixin
from .authority import AuthorityMixin
from .expressions import Path, is_time_condition, time_range
from .legacy import PIPESINK_TYPES
from .pipe_receivers import is_receivers_keyword
from .pipe_tools import PipeToolsMixin
from .transform_data import AGGREGATES, DataMixin, PaginationPart
from .transform_terms import Located, Name, Pair, at, tokens, unquote
from .ttl_sql import TTLMixin

__all__ = ["AGGREGATES", "StatementBuilder"]

_CLAUSE_ORDER = ("source", "processor", "sink")
_KIND = {
    "SOURCE": "source",
    "EXTRACTOR": "source",
    "PROCESSOR": "processor",
    "SINK": "sink",
    "CONNECTOR": "sink",
}
_DATABASE_ATTRIBUTES = (
    "TTL",
    "TIME_PARTITION_INTERVAL",
    "SCHEMA_REGION_GROUP_NUM",
    "DATA_REGION_GROUP_NUM",
)
_SERIES_TYPES = tuple(
    t.name for t in TSDataType if t not in (TSDataType.VECTOR, TSDataType.UNKNOWN)
)
_IF_NOT_EXISTS = object()
_IF_EXISTS = object()


class Clause(NamedTuple):
    """A WITH SOURCE/PROCESSOR/SINK clause (or an ALTER clause) being built."""

    kind: str  # source | processor | sink
    word: str  # as written: SOURCE, EXTRACTOR, ...
    pairs: list[Pair]
    warnings: list[str]
    line: int
    column: int
    mode: str | None = None


@v_args(meta=True)
class StatementBuilder(AdminMixin, AuthorityMixin, DataMixin, PipeToolsMixin, TTLMixin):
    """Builds `Statement`s from the tree of one script (`text` is that script)."""

    def __init__(self, text: str, zone: Any) -> None:
        super().__init__(visit_tokens=False)
        self.text = text
        self.zone = zone
        # lark re-wraps a v_args callback on every attribute access; bind each once
        for name in _CALLBACKS:
            setattr(self, name, getattr(self, name))

    def _span(self, meta: Any) -> st.SourceSpan:
        return st.SourceSpan(
            meta.line,
            meta.column,
            meta.end_line,
            meta.end_column,
            meta.start_pos,
            meta.end_pos,
            self.text[meta.start_pos : meta.end_pos],
        )

    def start(self, meta: Any, children: list[Any]) -> list[st.Statement]:
        return [c for c in children if isinstance(c, st.Statement)]

    def path_start(self, meta: Any, children: list[Any]) -> Any:
        return children[0]

    def if_not_exists(self, meta: Any, children: list[Any]) -> object:
        return _IF_NOT_EXISTS

    def if_exists(self, meta: Any, children: list[Any]) -> object:
        return _IF_EXISTS

    @staticmethod
    def _name(children: Sequence[Any], index: int = 0) -> str:
        return [c for c in children if isinstance(c, Name)][index].text

    # ------------------------------------------------------------ pipe parameters

    def param(self, meta: Any, children: list[Token]) -> Pair:
        key, _, value = children
        return Pair(
            Name(unquote(key), *at(key), True),
            Name(unquote(value), *at(value), True),
        )

    def params(self, meta: Any, children: list[Any]) -> Located:
        pairs: list[Pair] = []
        warnings: list[str] = []
        previous: object = None
        for child in children:
            if isinstance(child, Pair):
                if isinstance(previous, Pair):
                    key = child.key
                    warnings.append(
                        f"line {key.line}:{key.column} missing ',' before parameter "
                        f"'{key.text}' (assumed)"
                    )
                pairs.append(child)
            previous = child
        return Located((pairs, warnings), meta.line, meta.column)

    def param_list(self, meta: Any, children: list[Any]) -> Located:
        for child in children:
            if isinstance(child, Located):
                return Located(child.value, meta.line, meta.column)
        return Located(([], []), meta.line, meta.column)

    def plugin_kind(self, meta: Any, children: list[Token]) -> Token:
        return children[0]

    def _clause(self, meta: Any, kind_tok: Token, params: Located, mode: str | None = None):
        pairs, warnings = params.value
        word = kind_tok.type
        return Clause(_KIND[word], word, pairs, list(warnings), meta.line, meta.column, mode)

    def open_clause(self, meta: Any, children: list[Any]) -> Clause:
        return self._clause(meta, children[1], children[2])

    closed_clause = open_clause

    def unclosed_clause(self, meta: Any, children: list[Any]) -> Clause:
        clause = self._clause(meta, children[1], children[3])
        clause.warnings.append(
            f"line {meta.end_line}:{meta.end_column} the parameter list of WITH "
            f"{clause.word} is not closed; ')' assumed before the next WITH"
        )
        return clause

    def with_clauses(self, meta: Any, children: list[Clause]) -> list[Clause]:
        return children

    def bare_sink_clause(self, meta: Any, children: list[Located]) -> list[Clause]:
        pairs, warnings = children[0].value
        return [Clause("sink", "SINK", pairs, list(warnings), meta.line, meta.column)]

    def _parameters(self, clause: Clause) -> dict[str, str]:
        result: dict[str, str] = {}
        folded: set[str] = set()
        for key, value in clause.pairs:
            if key.text.lower() in folded:
                raise self._semantic(
                    f"parameter '{key.text}' is given twice in {clause.word} (...)",
                    key.line,
                    key.column,
                    subject=key.text,
                )
            folded.add(key.text.lower())
            result[key.text] = value.text
        return result

    def _ordered(self, clauses: list[Clause], statement: str) -> dict[str, Clause]:
        by_kind: dict[str, Clause] = {}
        for clause in clauses:
            if clause.kind in by_kind:
                raise self._semantic(
                    f"{statement}: the {clause.kind.upper()} clause is given twice",
                    clause.line,
                    clause.column,
                )
            later = [
                k for k in by_kind if _CLAUSE_ORDER.index(k) > _CLAUSE_ORDER.index(clause.kind)
            ]
            if later:
                raise self._semantic(
                    f"{statement}: {clause.word} must come before {later[0].upper()}; the "
                    "clauses go in the order SOURCE (EXTRACTOR), PROCESSOR, SINK (CONNECTOR)",
                    clause.line,
                    clause.column,
                )
            by_kind[clause.kind] = clause
        return by_kind

    # ------------------------------------------------------------ pipes

    def create_pipe(self, meta: Any, children: list[Any]) -> st.CreatePipe:
        name = self._name(children)
        clauses: list[Clause] = children[-1]
        by_kind = self._ordered(clauses, f"CREATE PIPE {name}")
        if "sink" not in by_kind:
            last = clauses[-1]
            raise self._semantic(
                f"CREATE PIPE {name} needs a WITH SINK (...) clause, and it comes last",
                last.line,
                last.column,
                subject=name,
            )
        dicts = {k: self._parameters(c) for k, c in by_kind.items()}
        return st.CreatePipe(
            name=name,
            if_not_exists=_IF_NOT_EXISTS in children,
            source=dicts.get("source", {}),
            processor=dicts.get("processor", {}),
            sink=dicts["sink"],
            span=self._span(meta),
            warnings=tuple(w for c in clauses for w in c.warnings),
        )

    def alter_mode(self, meta: Any, children: list[Token]) -> str:
        return children[0].type

    def alter_clause(self, meta: Any, children: list[Any]) -> Clause:
        return self._clause(meta, children[1], children[2], mode=children[0])

    def alter_pipe(self, meta: Any, children: list[Any]) -> st.AlterPipe:
        name = self._name(children)
        clauses = [c for c in children if isinstance(c, Clause)]
        by_kind = self._ordered(clauses, f"ALTER PIPE {name}")
        alters = {
            k: st.AlterClause(mode=c.mode or "MODIFY", parameters=self._parameters(c))
            for k, c in by_kind.items()
        }
        return st.AlterPipe(
            name=name,
            if_exists=_IF_EXISTS in children,
            source=alters.get("source"),
            processor=alters.get("processor"),
            sink=alters.get("sink"),
            span=self._span(meta),
        )

    def drop_pipe(self, meta: Any, children: list[Any]) -> st.DropPipe:
        return st.DropPipe(
            name=self._name(children), if_exists=_IF_EXISTS in children, span=self._span(meta)
        )

    def start_pipe(self, meta: Any, children: list[Any]) -> st.StartPipe:
        return st.StartPipe(name=self._name(children), span=self._span(meta))

    def stop_pipe(self, meta: Any, children: list[Any]) -> st.StopPipe:
        return st.StopPipe(name=self._name(children), span=self._span(meta))

    def sink_kind(self, meta: Any, children: list[Token]) -> Token:
        return children[0]

    def show_pipes(self, meta: Any, children: list[Any]) -> st.ShowPipes:
        names = [c for c in children if isinstance(c, Name)]
        used_by = names[0].text if names else None
        return st.ShowPipes(sink_used_by=used_by, span=self._span(meta))

    def show_pipe(self, meta: Any, children: list[Any]) -> st.ShowPipes:
        names = [c for c in children if isinstance(c, Name)]
        if names and is_receivers_keyword(names[0].text, names[0].quoted):
            return st.ShowPipes(receivers=True, span=self._span(meta))
        return st.ShowPipes(pipe_name=names[0].text if names else None, span=self._span(meta))

    # ------------------------------------------------------------ pipe plugins

    def create_pipe_plugin(self, meta: Any, children: list[Any]) -> st.CreatePipePlugin:
        class_tok, uri_tok = tokens(children, "STRING")
        statement = st.CreatePipePlugin(
            name=self._name(children),
            class_name=unquote(class_tok),
            uri=unquote(uri_tok),
            if_not_exists=_IF_NOT_EXISTS in children,
            span=self._span(meta),
        )
        if not statement.module or not statement.attribute:
            raise self._semantic(
                f"plugin class {class_tok} must be written 'module:Class' "
                "(e.g. 'my_sinks.kafka:KafkaSink')",
                *at(class_tok),
                subject=statement.name,
            )
        return statement

    def drop_pipe_plugin(self, meta: Any, children: list[Any]) -> st.DropPipePlugin:
        return st.DropPipePlugin(
            name=self._name(children), if_exists=_IF_EXISTS in children, span=self._span(meta)
        )

    def show_pipe_plugins(self, meta: Any, children: list[Any]) -> st.ShowPipePlugins:
        return st.ShowPipePlugins(span=self._span(meta))

    # ------------------------------------------------------------ the sync tool

    def pipesink_attributes(self, meta: Any, children: list[Any]) -> list[Pair]:
        return [c for c in children if isinstance(c, Pair)]

    def create_pipesink(self, meta: Any, children: list[Any]) -> st.CreatePipeSink:
        names = [c for c in children if isinstance(c, Name)]
        name, sink_type = names[0].text, names[1]
        known = {t.lower(): t for t in PIPESINK_TYPES}
        if sink_type.text.lower() not in known:
            raise self._semantic(
                f"PIPESINK type {sink_type.text} is not supported; supported: "
                + ", ".join(PIPESINK_TYPES),
                sink_type.line,
                sink_type.column,
                subject=name,
            )
        pairs = children[-1] if isinstance(children[-1], list) else []
        for key, _ in pairs:
            if key.text.lower() not in ("ip", "port", "version"):  # version: pipecore's
                raise self._semantic(
                    f"unknown PIPESINK attribute '{key.text}'; an IoTDB PIPESINK takes ip and "
                    "port (and pipecore's version: the receiver's IoTDB version)",
                    key.line,
                    key.column,
                    subject=name,
                )
        return st.CreatePipeSink(
            name=name,
            sink_type=known[sink_type.text.lower()],
            attributes=self._pairs(pairs, f"PIPESINK {name}"),
            span=self._span(meta),
        )

    def drop_pipesink(self, meta: Any, children: list[Any]) -> st.DropPipeSink:
        return st.DropPipeSink(name=self._name(children), span=self._span(meta))

    def show_pipesinks(self, meta: Any, children: list[Any]) -> st.ShowPipeSinks:
        return st.ShowPipeSinks(span=self._span(meta))

    def show_pipesink(self, meta: Any, children: list[Any]) -> st.ShowPipeSinks:
        names = [c for c in children if isinstance(c, Name)]
        return st.ShowPipeSinks(name=names[0].text if names else None, span=self._span(meta))

    def show_pipesink_type(self, meta: Any, children: list[Any]) -> st.ShowPipeSinkTypes:
        return st.ShowPipeSinkTypes(span=self._span(meta))

    def legacy_from(self, meta: Any, children: list[Any]) -> Located:
        select = next(c for c in children if isinstance(c, st.Select))
        return Located(select, meta.line, meta.column)

    def legacy_with(self, meta: Any, children: list[Any]) -> list[Pair]:
        return [c for c in children if isinstance(c, Pair)]

    def _legacy_start(self, located: Located) -> int | None:
        select: st.Select = located.value
        line, column = located.line, located.column
        plain = (
            len(select.columns) == 1
            and select.columns[0].selector == Path(("**",))
            and select.columns[0].alias is None
            and select.from_paths == (Path(("root",)),)
            and select.limit is None
            and select.offset == 0
            and not select.order_desc
            and not select.align_by_device
        )
        if not plain:
            raise self._semantic(
                "the FROM clause of CREATE PIPE ... TO supports only "
                "(select ** from root [where time >= <start>])",
                line,
                column,
            )
        if select.where is None:
            return None
        if not is_time_condition(select.where):
            raise self._semantic(
                "its WHERE may only give a start time: time >= <start>", line, column
            )
        low, high = time_range(select.where, now_ms())
        if high != 2**63 - 1:
            raise self._semantic(
                "its WHERE may only give a start time (time >= <start>), not an end", line, column
            )
        return low

    def create_legacy_pipe(self, meta: Any, children: list[Any]) -> st.CreateLegacyPipe:
        names = [c for c in children if isinstance(c, Name)]
        start = None
        pairs: list[Pair] = []
        for child in children:
            if isinstance(child, Located):
                start = self._legacy_start(child)
            elif isinstance(child, list):
                pairs = child
        for key, value in pairs:
            if key.text.lower() != "syncdelop" or value.text.lower() not in ("true", "false"):
                raise self._semantic(
                    f"unknown pipe attribute {key.text}={value.text}; the sync tool's pipe "
                    "takes SyncDelOp=true|false",
                    key.line,
                    key.column,
                )
        return st.CreateLegacyPipe(
            name=names[0].text,
            pipesink=names[1].text,
            start_time=start,
            attributes=self._pairs(pairs, f"PIPE {names[0].text}"),
            span=self._span(meta),
        )

    # ------------------------------------------------------------ databases

    def database_attributes(self, meta: Any, children: list[Any]) -> list[Pair]:
        return [c for c in children if isinstance(c, Pair)]

    def create_database(self, meta: Any, children: list[Any]) -> st.CreateDatabase:
        located = next(c for c in children if isinstance(c, Located))
        path = self._full_path(located, "database")
        attributes: dict[str, int] = {}
        pairs = children[-1] if isinstance(children[-1], list) else []
        for key, value in pairs:
            upper = key.text.upper()
            if upper not in _DATABASE_ATTRIBUTES:
                raise self._semantic(
                    f"unknown database attribute '{key.text}'; expected one of "
                    + ", ".join(_DATABASE_ATTRIBUTES),
                    key.line,
                    key.column,
                )
            if upper in attributes:
                raise self._semantic(f"attribute {upper} is given twice", key.line, key.column)
            if not value.text.isdigit():
                raise self._semantic(
                    f"{upper} must be a non-negative integer, got {value.text}",
                    value.line,
                    value.column,
                )
            attributes[upper] = int(value.text)
        return st.CreateDatabase(path=path, attributes=attributes, span=self._span(meta))

    def _pattern(self, children: Sequence[Any]) -> Path:
        for child in children:
            if isinstance(child, Located) and isinstance(child.value, Path):
                return child.value
        return Path(("root", "**"))

    def _paths(self, children: Sequence[Any]) -> tuple[Path, ...]:
        return tuple(
            c.value for c in children if isinstance(c, Located) and isinstance(c.value, Path)
        )

    def show_databases(self, meta: Any, children: list[Any]) -> st.ShowDatabases:
        return st.ShowDatabases(
            pattern=self._pattern(children),
            details=bool(tokens(children, "DETAILS")),
            span=self._span(meta),
        )

    def count_databases(self, meta: Any, children: list[Any]) -> st.CountDatabases:
        return st.CountDatabases(pattern=self._pattern(children), span=self._span(meta))

    def delete_database(self, meta: Any, children: list[Any]) -> st.DeleteDatabase:
        return st.DeleteDatabase(paths=self._paths(children), span=self._span(meta))

    # ------------------------------------------------------------ time series

    def series_alias(self, meta: Any, children: list[Any]) -> Located:
        return Located(children[1], meta.line, meta.column)

    def series_first(self, meta: Any, children: list[Any]) -> Name:
        (part,) = children
        if isinstance(part, Pair):
            if part.key.text.upper() != "DATATYPE":
                raise self._semantic(
                    f"expecting DATATYPE=<type> first, got '{part.key.text}'",
                    part.key.line,
                    part.key.column,
                )
            return part.value
        return part

    def tags_clause(self, meta: Any, children: list[Any]) -> tuple[str, dict[str, str]]:
        return "tags", self._pairs(children, "TAGS")

    def attributes_clause(self, meta: Any, children: list[Any]) -> tuple[str, dict[str, str]]:
        return "attributes", self._pairs(children, "ATTRIBUTES")

    def _data_type(self, name: Name) -> TSDataType:
        upper = name.text.upper()
        if upper not in _SERIES_TYPES:
            raise self._semantic(
                f"unknown data type '{name.text}'; expected one of " + ", ".join(_SERIES_TYPES),
                name.line,
                name.column,
            )
        return TSDataType[upper]

    def _enum(self, enum_cls: Any, value: Name, what: str) -> Any:
        try:
            return parse_enum(enum_cls, value.text, what)
        except ValueError as exc:
            raise self._semantic(str(exc), value.line, value.column) from None

    def series_attributes(self, meta: Any, children: list[Any]) -> dict[str, Any]:
        spec: dict[str, Any] = {"props": {}, "tags": {}, "attributes": {}}
        seen = {"DATATYPE"}
        for child in children:
            if isinstance(child, Located):
                spec["alias"] = child.value.text
            elif isinstance(child, Name):
                spec["data_type"] = self._data_type(child)
            elif isinstance(child, Pair):
                self._series_attribute(child, spec, seen)
            elif isinstance(child, tuple):
                spec[child[0]] = child[1]
        return spec

    aligned_attributes = series_attributes

    def _series_attribute(self, pair: Pair, spec: dict[str, Any], seen: set[str]) -> None:
        key = pair.key.text.upper()
        if key in seen or (key in ("COMPRESSOR", "COMPRESSION") and "COMPRESSOR" in seen):
            raise self._semantic(
                f"attribute {pair.key.text} is given twice", pair.key.line, pair.key.column
            )
        if key == "ENCODING":
            spec["encoding"] = TSEncoding(self._enum(TSEncoding, pair.value, "encoding"))
        elif key in ("COMPRESSOR", "COMPRESSION"):
            key = "COMPRESSOR"
            spec["compressor"] = CompressionType(
                self._enum(CompressionType, pair.value, "compressor")
            )
        else:
            spec["props"][pair.key.text] = pair.value.text
        seen.add(key)

    def create_timeseries(self, meta: Any, children: list[Any]) -> st.CreateTimeseries:
        located = next(c for c in children if isinstance(c, Located))
        path = self._full_path(located, "time series")
        if len(path.nodes) < 3:
            raise self._semantic(
                f"time series {path} needs a database and a measurement: root.<db>...<name>",
                located.line,
                located.column,
            )
        spec = st.MeasurementSpec(name=path.last, **children[-1])
        return st.CreateTimeseries(path=path, spec=spec, span=self._span(meta))

    def aligned_measurement(self, meta: Any, children: list[Any]) -> Located:
        name: Name = children[0]
        return Located(st.MeasurementSpec(name=name.text, **children[1]), name.line, name.column)

    def aligned_measurements(self, meta: Any, children: list[Any]) -> list[Located]:
        return [c for c in children if isinstance(c, Located)]

    def create_aligned_timeseries(self, meta: Any, children: list[Any]) -> Any:
        located = next(c for c in children if isinstance(c, Located))
        device = self._full_path(located, "device")
        specs: list[st.MeasurementSpec] = []
        for item in children[-1] if isinstance(children[-1], list) else []:
            if any(s.name == item.value.name for s in specs):
                raise self._semantic(
                    f"measurement {item.value.name} is given twice", item.line, item.column
                )
            specs.append(item.value)
        return st.CreateAlignedTimeseries(
            device=device, measurements=tuple(specs), span=self._span(meta)
        )

    def delete_timeseries(self, meta: Any, children: list[Any]) -> st.DeleteTimeseries:
        return st.DeleteTimeseries(paths=self._paths(children), span=self._span(meta))

    def _row_pagination(self, children: Sequence[Any]) -> dict[str, int]:
        for child in children:
            if isinstance(child, PaginationPart):
                for key in ("slimit", "soffset"):
                    if key in child.items:
                        raise self._semantic(
                            f"{key.upper()} is not allowed here", child.line, child.column
                        )
                return dict(child.items)
        return {}

    def tag_equals(self, meta: Any, children: list[Any]) -> st.TagCondition:
        key, value = (c for c in children if isinstance(c, Name))
        return st.TagCondition(key.text, value.text, contains=False)

    def tag_contains(self, meta: Any, children: list[Any]) -> st.TagCondition:
        key, value = (c for c in children if isinstance(c, Name))
        return st.TagCondition(key.text, value.text, contains=True)

    @staticmethod
    def _tag(children: Sequence[Any]) -> st.TagCondition | None:
        return next((c for c in children if isinstance(c, st.TagCondition)), None)

    def show_timeseries(self, meta: Any, children: list[Any]) -> st.ShowTimeseries:
        rows = self._row_pagination(children)
        return st.ShowTimeseries(
            pattern=self._pattern(children),
            tag=self._tag(children),
            limit=rows.get("limit"),
            offset=rows.get("offset", 0),
            span=self._span(meta),
        )

    def show_devices(self, meta: Any, children: list[Any]) -> st.ShowDevices:
        rows = self._row_pagination(children)
        return st.ShowDevices(
            pattern=self._pattern(children),
            limit=rows.get("limit"),
            offset=rows.get("offset", 0),
            span=self._span(meta),
        )

    def count_timeseries(self, meta: Any, children: list[Any]) -> st.CountTimeseries:
        levels = tokens(children, "INT")
        return st.CountTimeseries(
            pattern=self._pattern(children),
            tag=self._tag(children),
            group_by_level=int(levels[0]) if levels else None,
            span=self._span(meta),
        )

    def count_devices(self, meta: Any, children: list[Any]) -> st.CountDevices:
        return st.CountDevices(pattern=self._pattern(children), span=self._span(meta))


_CALLBACKS = tuple(
    name
    for name in dir(StatementBuilder)
    if not name.startswith("_") and hasattr(getattr(StatementBuilder, name), "visit_wrapper")
)
