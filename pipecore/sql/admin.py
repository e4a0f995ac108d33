"""Cluster information, ALTER TIMESERIES and schema templates in SQL.

Statements (IoTDB 1.3's spelling; ``SCHEMA TEMPLATE`` and ``DEVICE TEMPLATE`` are the same):

* ``SHOW CLUSTER [DETAILS]``, ``SHOW CLUSTERID``, ``SHOW DATANODES``, ``SHOW VARIABLES``,
  ``SHOW VERSION``,
  ``SHOW [SCHEMA | DATA] REGIONS [OF DATABASE db, ...]`` — a single-node answer in IoTDB's
  columns: the node is one DataNode (id 0) in state ``Running``; each database has one
  schema region and one data region, led by it.
* ``ALTER TIMESERIES path RENAME k TO k2 | SET k=v, ... | DROP k, ... | ADD TAGS k=v, ... |
  ADD ATTRIBUTES k=v, ... | UPSERT [ALIAS=a] [TAGS(...)] [ATTRIBUTES(...)]``.
* ``CREATE SCHEMA TEMPLATE t [ALIGNED] (s1 INT32 [encoding=RLE] [compressor=SNAPPY], ...)``,
  ``SET SCHEMA TEMPLATE t TO path``, ``UNSET SCHEMA TEMPLATE t FROM path``,
  ``DROP SCHEMA TEMPLATE t``, ``ALTER SCHEMA TEMPLATE t ADD (s3 INT32 [encoding=RLE], ...)``,
  ``CREATE TIMESERIES OF SCHEMA TEMPLATE ON path``,
  ``DELETE TIMESERIES OF SCHEMA TEMPLATE [t] FROM path`` (or ``DEACTIVATE SCHEMA TEMPLATE
  [t] FROM path``), ``SHOW SCHEMA TEMPLATES``, ``SHOW NODES IN SCHEMA TEMPLATE t``,
  ``SHOW PATHS SET SCHEMA TEMPLATE t``, ``SHOW PATHS USING SCHEMA TEMPLATE t``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
from lark import v_args

from pipecore_storage.series_meta import SeriesMeta
from pipecore_storage.types import TSDataType

from ..schema_templates import TemplateError, TemplateMeasurement
from .dataset import DataSet
from .expressions import Path
from .outcome import DONE, Context, Outcome, StatementError, rows
from .statements import MeasurementSpec, Statement
from .transform_terms import Located, Name, Pair, TermsMixin, tokens

__all__ = ["HANDLERS", "AdminMixin", "typed_rows"]


def typed_rows(
    columns: Sequence[str], types: Sequence[TSDataType], table: Sequence[Sequence[object]]
) -> DataSet:
    """A DataSet without time from rows of Python values (None = null), typed per column."""
    values, masks = [], []
    for i, data_type in enumerate(types):
        column = np.zeros(len(table), dtype=data_type.numpy_dtype)
        mask = np.array([row[i] is None for row in table], dtype=np.bool_)
        for j, row in enumerate(table):
            if row[i] is not None:
                column[j] = row[i] if data_type is not TSDataType.TEXT else str(row[i])
        values.append(column)
        masks.append(mask if mask.any() else None)
    return DataSet(columns, types, values, masks)


# ---------------------------------------------------------------- statements
@attrs.frozen(kw_only=True)
class ShowCluster(Statement):
    details: bool = False


@attrs.frozen(kw_only=True)
class ShowClusterId(Statement):
    pass


@attrs.frozen(kw_only=True)
class ShowDataNodes(Statement):
    pass


@attrs.frozen(kw_only=True)
class ShowVariables(Statement):
    pass


@attrs.frozen(kw_only=True)
class ShowVersion(Statement):
    pass


@attrs.frozen(kw_only=True)
class ShowRegions(Statement):
    kind: str | None = None  # SchemaRegion | DataRegion | None (both)
    databases: tuple[Path, ...] = ()


@attrs.frozen(kw_only=True)
class AlterTimeseries(Statement):
    """`action` is rename | set | drop | add_tags | add_attributes | upsert."""

    path: Path
    action: str
    pairs: tuple[tuple[str, str], ...] = ()
    keys: tuple[str, ...] = ()
    alias: str | None = None
    tags: tuple[tuple[str, str], ...] | None = None
    attributes: tuple[tuple[str, str], ...] | None = None


@attrs.frozen(kw_only=True)
class CreateSchemaTemplate(Statement):
    name: str
    aligned: bool
    measurements: tuple[MeasurementSpec, ...]


@attrs.frozen(kw_only=True)
class AlterSchemaTemplate(Statement):
    """ALTER SCHEMA TEMPLATE t ADD (...): measurements appended to a template."""

    name: str
    measurements: tuple[MeasurementSpec, ...]


@attrs.frozen(kw_only=True)
class TemplateOnPath(Statement):
    """SET / UNSET / activate (CREATE TIMESERIES OF) / deactivate a template on paths."""

    action: str  # set | unset | activate | deactivate
    name: str | None
    paths: tuple[Path, ...]


@attrs.frozen(kw_only=True)
class DropSchemaTemplate(Statement):
    name: str


@attrs.frozen(kw_only=True)
class ShowTemplates(Statement):
    """`what`: templates | nodes | paths_set | paths_using."""

    what: str
    name: str | None = None


# ---------------------------------------------------------------- parse tree → statements
def _texts(children: Sequence[Any]) -> list[str]:
    return [c.text for c in children if isinstance(c, Name)]


def _pair_tuple(children: Sequence[Any]) -> tuple[tuple[str, str], ...]:
    return tuple((p[0].text, p[1].text) for p in children if isinstance(p, Pair))


@v_args(meta=True)
class AdminMixin(TermsMixin):
    """Transformer callbacks of the statements above (mixed into `StatementBuilder`)."""

    def _span(self, meta: Any) -> Any:  # provided by StatementBuilder
        raise NotImplementedError

    def _paths(self, children: Sequence[Any]) -> tuple[Path, ...]:  # StatementBuilder's
        raise NotImplementedError

    def show_cluster(self, meta: Any, children: list[Any]) -> ShowCluster:
        return ShowCluster(details=bool(tokens(children, "DETAILS")), span=self._span(meta))

    def show_cluster_id(self, meta: Any, children: list[Any]) -> ShowClusterId:
        return ShowClusterId(span=self._span(meta))

    def show_datanodes(self, meta: Any, children: list[Any]) -> ShowDataNodes:
        return ShowDataNodes(span=self._span(meta))

    def show_variables(self, meta: Any, children: list[Any]) -> ShowVariables:
        return ShowVariables(span=self._span(meta))

    def show_version(self, meta: Any, children: list[Any]) -> ShowVersion:
        return ShowVersion(span=self._span(meta))

    def show_regions(self, meta: Any, children: list[Any]) -> ShowRegions:
        kind = None
        if tokens(children, "SCHEMA"):
            kind = "SchemaRegion"
        elif tokens(children, "DATA"):
            kind = "DataRegion"
        return ShowRegions(kind=kind, databases=self._paths(children), span=self._span(meta))

    # ------------------------------------------------------------ ALTER TIMESERIES
    def alter_rename(self, meta: Any, children: list[Any]) -> dict[str, Any]:
        return {"action": "rename", "keys": tuple(_texts(children))}

    def alter_set(self, meta: Any, children: list[Any]) -> dict[str, Any]:
        return {"action": "set", "pairs": _pair_tuple(children)}

    def alter_drop(self, meta: Any, children: list[Any]) -> dict[str, Any]:
        return {"action": "drop", "keys": tuple(_texts(children))}

    def alter_add_tags(self, meta: Any, children: list[Any]) -> dict[str, Any]:
        return {"action": "add_tags", "pairs": _pair_tuple(children)}

    def alter_add_attributes(self, meta: Any, children: list[Any]) -> dict[str, Any]:
        return {"action": "add_attributes", "pairs": _pair_tuple(children)}

    def alias_clause(self, meta: Any, children: list[Any]) -> tuple[str, str]:
        return "alias", _texts(children)[0]

    def alter_upsert(self, meta: Any, children: list[Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"action": "upsert"}
        for kind, value in (c for c in children if isinstance(c, tuple)):
            out[kind] = value if kind == "alias" else tuple(value.items())
        return out

    def alter_timeseries(self, meta: Any, children: list[Any]) -> AlterTimeseries:
        located = next(c for c in children if isinstance(c, Located))
        return AlterTimeseries(path=located.value, **children[-1], span=self._span(meta))

    # ------------------------------------------------------------ templates
    def template_measurement(self, meta: Any, children: list[Any]) -> MeasurementSpec:
        name: Name = children[0]
        return MeasurementSpec(name=name.text, **children[1])

    def create_schema_template(self, meta: Any, children: list[Any]) -> CreateSchemaTemplate:
        name = next(c for c in children if isinstance(c, Name))
        specs = tuple(c for c in children if isinstance(c, MeasurementSpec))
        return CreateSchemaTemplate(
            name=name.text,
            aligned=bool(tokens(children, "ALIGNED")),
            measurements=specs,
            span=self._span(meta),
        )

    def alter_schema_template(self, meta: Any, children: list[Any]) -> AlterSchemaTemplate:
        name = next(c for c in children if isinstance(c, Name))
        specs = tuple(c for c in children if isinstance(c, MeasurementSpec))
        return AlterSchemaTemplate(name=name.text, measurements=specs, span=self._span(meta))

    def _on_paths(self, meta: Any, children: list[Any], action: str) -> TemplateOnPath:
        names = _texts(children)
        return TemplateOnPath(
            action=action,
            name=names[0] if names else None,
            paths=self._paths(children),
            span=self._span(meta),
        )

    def set_schema_template(self, meta: Any, children: list[Any]) -> TemplateOnPath:
        return self._on_paths(meta, children, "set")

    def unset_schema_template(self, meta: Any, children: list[Any]) -> TemplateOnPath:
        return self._on_paths(meta, children, "unset")

    def activate_schema_template(self, meta: Any, children: list[Any]) -> TemplateOnPath:
        return self._on_paths(meta, children, "activate")

    def deactivate_schema_template(self, meta: Any, children: list[Any]) -> TemplateOnPath:
        return self._on_paths(meta, children, "deactivate")

    def drop_schema_template(self, meta: Any, children: list[Any]) -> DropSchemaTemplate:
        return DropSchemaTemplate(name=_texts(children)[0], span=self._span(meta))

    def show_schema_templates(self, meta: Any, children: list[Any]) -> ShowTemplates:
        return ShowTemplates(what="templates", span=self._span(meta))

    def show_nodes_in_template(self, meta: Any, children: list[Any]) -> ShowTemplates:
        return ShowTemplates(what="nodes", name=_texts(children)[0], span=self._span(meta))

    def show_paths_set_template(self, meta: Any, children: list[Any]) -> ShowTemplates:
        return ShowTemplates(what="paths_set", name=_texts(children)[0], span=self._span(meta))

    def show_paths_using_template(self, meta: Any, children: list[Any]) -> ShowTemplates:
        return ShowTemplates(what="paths_using", name=_texts(children)[0], span=self._span(meta))


# ---------------------------------------------------------------- execution
def _version() -> str:
    from .. import __version__

    return __version__


def _address(ctx: Context) -> tuple[str, int]:
    server_address = ctx.node.address
    if server_address is not None:
        return str(server_address[0]), int(server_address[1])
    config = ctx.node.config.node
    return str(config.dn_rpc_address), int(config.dn_rpc_port)


def show_cluster(ctx: Context, s: ShowCluster) -> Outcome:
    host, port = _address(ctx)
    columns: tuple[str, ...]
    if not s.details:
        columns = ("NodeID", "NodeType", "Status", "InternalAddress", "InternalPort", "Version",
                   "BuildInfo")  # fmt: skip
        types = [TSDataType.INT32, *[TSDataType.TEXT] * 3, TSDataType.INT32, *[TSDataType.TEXT] * 2]
        row: tuple[object, ...] = (0, "DataNode", "Running", host, port, _version(), "pipecore")
        return rows(typed_rows(columns, types, [row]))
    columns = ("NodeID", "NodeType", "Status", "InternalAddress", "InternalPort",
               "ConfigConsensusPort", "RpcAddress", "RpcPort", "MppPort", "SchemaConsensusPort",
               "DataConsensusPort", "Version", "BuildInfo")  # fmt: skip
    t, i = TSDataType.TEXT, TSDataType.INT32
    types = [i, t, t, t, i, t, t, i, i, t, t, t, t]
    row = (0, "DataNode", "Running", host, port, None, host, port, port, None, None, _version(),
           "pipecore")  # fmt: skip
    return rows(typed_rows(columns, types, [row]))


def show_cluster_id(ctx: Context, s: ShowClusterId) -> Outcome:
    return rows(typed_rows(("ClusterId",), [TSDataType.TEXT], [(ctx.node.cluster_id,)]))


def show_datanodes(ctx: Context, s: ShowDataNodes) -> Outcome:
    # IoTDB's Java Session (NodesSupplier) runs this to learn the nodes it may write to
    host, port = _address(ctx)
    databases = len(ctx.store.show_databases("root.**").rows)
    columns = ("NodeID", "Status", "RpcAddress", "RpcPort", "DataRegionNum", "SchemaRegionNum")
    t, i = TSDataType.TEXT, TSDataType.INT32
    row = (0, "Running", host, port, databases, databases)
    return rows(typed_rows(columns, [i, t, t, i, i, i], [row]))


_BKDR = "org.apache.iotdb.commons.partition.executor.hash.BKDRHashExecutor"


def show_variables(ctx: Context, s: ShowVariables) -> Outcome:
    store = ctx.store.config
    variables = [
        ("ClusterName", "pipecore"),
        ("DataReplicationFactor", "1"),
        ("SchemaReplicationFactor", "1"),
        ("DataRegionConsensusProtocolClass", "org.apache.iotdb.consensus.simple.SimpleConsensus"),
        ("SchemaRegionConsensusProtocolClass", "org.apache.iotdb.consensus.simple.SimpleConsensus"),
        ("ConfigNodeConsensusProtocolClass", "org.apache.iotdb.consensus.simple.SimpleConsensus"),
        ("TimePartitionOrigin", "0"),
        ("TimePartitionInterval", str(store.time_partition_interval)),
        ("DefaultTTL(ms)", str(2**63 - 1)),
        ("ReadConsistencyLevel", "strong"),
        ("SchemaRegionPerDataNode", "1"),
        ("DataRegionPerDataNode", "1"),
        ("SeriesSlotNum", "1000"),
        ("SeriesSlotExecutorClass", _BKDR),
        ("DiskSpaceWarningThreshold", "0.05"),
        ("TimestampPrecision", store.timestamp_precision),
    ]  # fmt: skip
    return rows(typed_rows(("Variable", "Value"), [TSDataType.TEXT] * 2, variables))


def show_version(ctx: Context, s: ShowVersion) -> Outcome:
    return rows(
        typed_rows(("Version", "BuildInfo"), [TSDataType.TEXT] * 2, [(_version(), "pipecore")])
    )


def show_regions(ctx: Context, s: ShowRegions) -> Outcome:
    host, port = _address(ctx)
    names = sorted({r[0] for p in s.databases or (Path(("root", "**")),)
                    for r in ctx.store.show_databases(str(p)).rows})  # fmt: skip
    all_names = sorted(r[0] for r in ctx.store.show_databases("root.**").rows)
    table = []
    for kind in ("SchemaRegion", "DataRegion"):
        if s.kind not in (None, kind):
            continue
        for name in names:
            region = all_names.index(name) * 2 + (kind == "DataRegion")
            series = len(ctx.store.list_series(f"{name}.**"))
            table.append((region, kind, "Running", name, 1 if series else 0, 0 if kind ==
                          "SchemaRegion" else 1, 0, host, port, host, "Leader"))  # fmt: skip
    table.sort(key=lambda r: r[0])
    columns = ("RegionId", "Type", "Status", "Database", "SeriesSlotNum", "TimeSlotNum",
               "DataNodeId", "RpcAddress", "RpcPort", "InternalAddress", "Role")  # fmt: skip
    t, i = TSDataType.TEXT, TSDataType.INT32
    types = [i, t, t, t, i, TSDataType.INT64, i, t, i, t, t]
    return rows(typed_rows(columns, types, table))


def _alter(ctx: Context, s: AlterTimeseries) -> Outcome:
    path = str(s.path)
    info = ctx.store.series(path)
    if info is None:
        raise _failure(s, 508, f"Path [{path}] does not exist")
    meta = info.meta
    tags, attributes = dict(meta.tags), dict(meta.attributes)
    alias = meta.alias
    if s.action == "rename":
        old, new = s.keys
        target = tags if old in tags else attributes if old in attributes else None
        if target is None:
            raise _failure(s, 507, f"TimeSeries [{path}] does not have tag/attribute [{old}].")
        if new in tags or new in attributes:
            raise _failure(
                s, 507, f"TimeSeries [{path}] already has a tag/attribute named [{new}]."
            )
        target[new] = target.pop(old)
    elif s.action == "set":
        for key, value in s.pairs:
            target = tags if key in tags else attributes if key in attributes else None
            if target is None:
                raise _failure(s, 507, f"TimeSeries [{path}] does not have tag/attribute [{key}].")
            target[key] = value
    elif s.action == "drop":
        for key in s.keys:
            tags.pop(key, None)
            attributes.pop(key, None)
    elif s.action in ("add_tags", "add_attributes"):
        target = tags if s.action == "add_tags" else attributes
        for key, value in s.pairs:
            if key in tags or key in attributes:
                raise _failure(
                    s, 507, f"TimeSeries [{path}] already has a tag/attribute named [{key}]."
                )
            target[key] = value
    else:  # upsert
        alias = s.alias if s.alias is not None else alias
        tags.update(dict(s.tags or ()))
        attributes.update(dict(s.attributes or ()))
    ctx.store.set_series_meta(info.path, SeriesMeta(alias, tags, attributes))
    return DONE


def _failure(s: Statement, code: int, message: str) -> StatementError:
    return StatementError(message, s.span.line, s.span.column, status_code=code)


def _template_failure(s: Statement, exc: TemplateError) -> StatementError:
    error = StatementError(str(exc), s.span.line, s.span.column, status_code=exc.code)
    error.__cause__ = exc
    return error


def _template_measurements(ctx: Context, specs: Sequence[MeasurementSpec]) -> list:
    config = ctx.store.config
    return [
        TemplateMeasurement(
            m.name,
            m.data_type,
            m.encoding if m.encoding is not None else config.default_encoding(m.data_type),
            m.compressor if m.compressor is not None else config.compressor,
        )
        for m in specs
    ]


def create_schema_template(ctx: Context, s: CreateSchemaTemplate) -> Outcome:
    measurements = _template_measurements(ctx, s.measurements)
    try:
        ctx.node.templates.create(s.name, measurements, s.aligned)
    except TemplateError as exc:
        raise _template_failure(s, exc) from exc
    return DONE


def alter_schema_template(ctx: Context, s: AlterSchemaTemplate) -> Outcome:
    """IoTDB 1.3: an unknown template 512, a measurement the template has 527 (nothing
    added); series of devices that use the template are made at once."""
    measurements = _template_measurements(ctx, s.measurements)
    try:
        ctx.node.templates.append(s.name, measurements, ctx.store)
    except TemplateError as exc:
        raise _template_failure(s, exc) from exc
    return DONE


def template_on_path(ctx: Context, s: TemplateOnPath) -> Outcome:
    templates = ctx.node.templates
    try:
        for path in s.paths:
            if s.action == "set":
                templates.set(s.name, str(path), ctx.store)
            elif s.action == "unset":
                templates.unset(s.name, str(path))
            elif s.action == "activate":
                templates.activate(str(path), ctx.store)
            else:
                templates.deactivate(str(path), ctx.store, s.name)
    except TemplateError as exc:
        raise _template_failure(s, exc) from exc
    return DONE


def drop_schema_template(ctx: Context, s: DropSchemaTemplate) -> Outcome:
    try:
        ctx.node.templates.drop(s.name)
    except TemplateError as exc:
        raise _template_failure(s, exc) from exc
    return DONE


def show_templates(ctx: Context, s: ShowTemplates) -> Outcome:
    templates = ctx.node.templates
    text = TSDataType.TEXT
    try:
        if s.what == "templates":
            names: list[tuple[object, ...]] = [(name,) for name in templates.templates]
            return rows(typed_rows(("TemplateName",), [text], names))
        if s.what == "nodes":
            ordered = templates.get(s.name).ordered()
            table = [
                (m.name, m.data_type.name, m.encoding.name, m.compressor.name) for m in ordered
            ]
            columns = ("ChildNodes", "DataType", "Encoding", "Compression")
            return rows(typed_rows(columns, [text] * 4, table))
        found = (
            templates.paths_set(s.name) if s.what == "paths_set" else templates.paths_using(s.name)
        )
        return rows(typed_rows(("Paths",), [text], [(p,) for p in found]))
    except TemplateError as exc:
        raise _template_failure(s, exc) from exc


HANDLERS: dict[type, Any] = {
    ShowCluster: show_cluster,
    ShowClusterId: show_cluster_id,
    ShowDataNodes: show_datanodes,
    ShowVariables: show_variables,
    ShowVersion: show_version,
    ShowRegions: show_regions,
    AlterTimeseries: _alter,
    CreateSchemaTemplate: create_schema_template,
    TemplateOnPath: template_on_path,
    AlterSchemaTemplate: alter_schema_template,
    DropSchemaTemplate: drop_schema_template,
    ShowTemplates: show_templates,
}
