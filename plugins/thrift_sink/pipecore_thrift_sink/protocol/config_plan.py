"""IoTDB's ConfigNode plans on the pipe: ``TRANSFER_CONFIG_PLAN`` (type 200) bodies and the
config-region snapshot files that ``TRANSFER_CONFIG_SNAPSHOT_PIECE/SEAL`` (201/202) carry.

IoTDB's ConfigNode runs its own pipe task for the config-region part of a pipe's inclusion
(databases, templates, TTL, time-series deletion, auth). It handshakes with type 50
(``HANDSHAKE_CONFIGNODE_V2``, the v2 string map; type 0 with the v1 precision string after a
1801), sends each plan its consensus log writes as one type-200 request (``body =
ConfigPhysicalPlan.serializeToByteBuffer()``) and the history as the config region's snapshot
files (pieces in the file-piece layout, then a seal in the seal-v2 layout with the parameters
``PathPattern``, ``fileType`` and ``Type``). A DataNode forwards these requests to its
ConfigNode. Layouts read from IoTDB 2.0.1's classes (ConfigPhysicalPlan and its subclasses,
Template, TemplateExtendInfo, TDatabaseSchema, ConfigMTree, TemplateTable, TTLCache,
PathPatternNode, CNPhysicalPlanGenerator); all numbers big-endian, ``istr`` = i32 length + UTF-8
(-1: null)::

    i16 planType, then by type:
    200 CreateDatabase / 210 AlterDatabase   TDatabaseSchema (Thrift binary protocol struct:
                                             1 name, 2 TTL i64, 3 schemaReplicationFactor,
                                             4 dataReplicationFactor, 5 timePartitionInterval,
                                             6–9 region group numbers, 10 timePartitionOrigin,
                                             11 isTableModel)
    201 SetTTL          i32 n, n × istr node, i64 ttl (-1: unset), u8 isDataBase
    206 DeleteDatabase  istr name
    800 CreateSchemaTemplate   i32 length, template:
                        i32 id, istr name, u8 aligned, i32 n,
                        n × (istr key, u8 0, istr measurement, u8 type, u8 encoding,
                             u8 compressor)
    811 DropSchemaTemplate     istr name
    813 CommitSetSchemaTemplate istr name, istr path, u8 isRollback
    814 ExtendSchemaTemplate   istr name, i32 n, n × istr measurement, n × u8 type,
                        u8 1 + n × u8 encoding (or u8 0), u8 1 + n × u8 compressor (or u8 0)
    1700 PipeEnriched   the inner plan (from its i16 type)
    1701 PipeUnsetTemplate     istr name, istr path
    1702 PipeDeleteTimeSeries  i32 length, PathPatternTree
                        (node: istr name, i32 -1 (a pattern ends here) / -2, i32 children,
                        children…)
    1704 PipeDeactivateTemplate i32 n, n × (PartialPath, i32 m, m × template)

Snapshot files (``fileType`` 4 SCHEMA: ``cluster_schema.bin`` + ``template_info.bin``; 5 TTL:
``ttl_info.bin``; 1–3 are users and roles)::

    cluster_schema.bin  the database tree, children before their parent, ending with root:
                        u8 0 (internal) istr name, i32 templateId, i32 childCount
                        u8 1 (database) istr name, i32 templateId, TDatabaseSchema
                        (a database's children — nodes with a template set below it — have
                        no count: they are the subtrees without a database just before it)
    template_info.bin   i32 idGenerator, i32 n, n × template (as above)
    ttl_info.bin        i32 n, n × (istr path, i64 ttl)

IoTDB's receiver turns a SCHEMA snapshot into CreateSchemaTemplate plans (every template),
then CreateDatabase plans (in file order), then CommitSetSchemaTemplate plans (every node with
a template id ≥ 0), and a TTL snapshot into SetTTL plans; it keeps those whose type is in the
seal's ``Type`` (comma list of plan type numbers) and that the ``PathPattern`` reaches
(`snapshot_plans`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs

from pipecore_storage.paths import _iotdb_quote, join_path, parse_pattern, split_path
from pipecore_storage.types import CompressionType, TSDataType, TSEncoding

from .errors import PipeProtocolError
from .io import BodyReader, BodyWriter

__all__ = [
    "ALTER_DATABASE",
    "COMMIT_SET_SCHEMA_TEMPLATE",
    "CREATE_DATABASE",
    "CREATE_SCHEMA_TEMPLATE",
    "DELETE_DATABASE",
    "DROP_SCHEMA_TEMPLATE",
    "EXTEND_SCHEMA_TEMPLATE",
    "PIPE_DEACTIVATE_TEMPLATE",
    "PIPE_DELETE_TIMESERIES",
    "PIPE_ENRICHED",
    "PIPE_UNSET_TEMPLATE",
    "SET_TTL",
    "SNAPSHOT_SCHEMA",
    "SNAPSHOT_TTL",
    "TTL_INFINITE",
    "TTL_UNSET",
    "CommitSetTemplate",
    "ConfigPlan",
    "CreateTemplate",
    "DatabasePlan",
    "DatabaseSchema",
    "DeactivateTemplate",
    "DeleteDatabase",
    "DeleteTimeSeries",
    "DropTemplate",
    "ExtendTemplate",
    "SetTTL",
    "TemplateDef",
    "UnknownPlan",
    "UnsetTemplate",
    "decode_config_plan",
    "encode_config_plan",
    "parse_cluster_schema",
    "parse_template_info",
    "parse_ttl_info",
    "snapshot_plans",
]

CREATE_DATABASE = 200
SET_TTL = 201
DELETE_DATABASE = 206
ALTER_DATABASE = 210
CREATE_SCHEMA_TEMPLATE = 800
DROP_SCHEMA_TEMPLATE = 811
COMMIT_SET_SCHEMA_TEMPLATE = 813
EXTEND_SCHEMA_TEMPLATE = 814
PIPE_ENRICHED = 1700
PIPE_UNSET_TEMPLATE = 1701
PIPE_DELETE_TIMESERIES = 1702
PIPE_DEACTIVATE_TEMPLATE = 1704

SNAPSHOT_SCHEMA = 4  # CNSnapshotFileType
SNAPSHOT_TTL = 5
TTL_INFINITE = (1 << 63) - 1  # Long.MAX_VALUE: no TTL
TTL_UNSET = -1  # SetTTL with -1: UNSET TTL

_NAMES = {
    CREATE_DATABASE: "CreateDatabase",
    SET_TTL: "SetTTL",
    DELETE_DATABASE: "DeleteDatabase",
    ALTER_DATABASE: "AlterDatabase",
    CREATE_SCHEMA_TEMPLATE: "CreateSchemaTemplate",
    DROP_SCHEMA_TEMPLATE: "DropSchemaTemplate",
    COMMIT_SET_SCHEMA_TEMPLATE: "CommitSetSchemaTemplate",
    EXTEND_SCHEMA_TEMPLATE: "ExtendSchemaTemplate",
    PIPE_ENRICHED: "PipeEnriched",
    PIPE_UNSET_TEMPLATE: "PipeUnsetTemplate",
    PIPE_DELETE_TIMESERIES: "PipeDeleteTimeSeries",
    1703: "PipeDeleteLogicalView",
    PIPE_DEACTIVATE_TEMPLATE: "PipeDeactivateTemplate",
    1705: "PipeSetTTL",
}


def plan_name(plan_type: int) -> str:
    return _NAMES.get(plan_type, f"plan type {plan_type}")


# ---------------------------------------------------------------- plans
@attrs.frozen
class DatabaseSchema:
    """The fields of IoTDB's ``TDatabaseSchema`` pipecore reads (the others are skipped)."""

    name: str
    ttl: int | None = None
    time_partition_interval: int | None = None
    is_table_model: bool = False


@attrs.frozen
class DatabasePlan:
    """CreateDatabase (200) or AlterDatabase (210)."""

    schema: DatabaseSchema
    type: int = CREATE_DATABASE

    @property
    def name(self) -> str:
        return self.schema.name


@attrs.frozen
class DeleteDatabase:
    name: str
    type: int = DELETE_DATABASE


@attrs.frozen
class SetTTL:
    """SET TTL (`ttl` ms; `TTL_UNSET` = UNSET TTL) on a path pattern (``root.db.**`` for a
    database's TTL)."""

    nodes: tuple[str, ...]
    ttl: int
    is_database: bool = False
    type: int = SET_TTL

    @property
    def path(self) -> str:
        return ".".join(self.nodes)


@attrs.frozen
class TemplateDef:
    """A schema template: measurements as (name, data type, encoding, compressor) names."""

    name: str
    aligned: bool
    measurements: tuple[tuple[str, str, str, str], ...]
    id: int = 0


@attrs.frozen
class CreateTemplate:
    template: TemplateDef
    type: int = CREATE_SCHEMA_TEMPLATE


@attrs.frozen
class ExtendTemplate:
    """ALTER SCHEMA TEMPLATE … ADD: encodings/compressors None where IoTDB sent none."""

    name: str
    measurements: tuple[tuple[str, str, str | None, str | None], ...]
    type: int = EXTEND_SCHEMA_TEMPLATE


@attrs.frozen
class DropTemplate:
    name: str
    type: int = DROP_SCHEMA_TEMPLATE


@attrs.frozen
class CommitSetTemplate:
    name: str
    path: str
    rollback: bool = False
    type: int = COMMIT_SET_SCHEMA_TEMPLATE


@attrs.frozen
class UnsetTemplate:
    name: str
    path: str
    type: int = PIPE_UNSET_TEMPLATE


@attrs.frozen
class DeactivateTemplate:
    """DEACTIVATE / DELETE TIMESERIES OF SCHEMA TEMPLATE: (path pattern, template names)."""

    entries: tuple[tuple[str, tuple[str, ...]], ...]
    type: int = PIPE_DEACTIVATE_TEMPLATE


@attrs.frozen
class DeleteTimeSeries:
    patterns: tuple[str, ...]
    type: int = PIPE_DELETE_TIMESERIES


@attrs.frozen
class UnknownPlan:
    """A plan pipecore has no counterpart for (auth, views, table model, triggers …)."""

    type: int
    body: bytes = attrs.field(repr=False)


ConfigPlan = (
    DatabasePlan
    | DeleteDatabase
    | SetTTL
    | CreateTemplate
    | ExtendTemplate
    | DropTemplate
    | CommitSetTemplate
    | UnsetTemplate
    | DeactivateTemplate
    | DeleteTimeSeries
    | UnknownPlan
)


# ---------------------------------------------------------------- Thrift binary struct
_T_STOP, _T_BOOL, _T_BYTE, _T_DOUBLE, _T_I16, _T_I32, _T_I64, _T_STRING = 0, 2, 3, 4, 6, 8, 10, 11
_T_STRUCT, _T_MAP, _T_SET, _T_LIST = 12, 13, 14, 15
_FIXED = {_T_BOOL: 1, _T_BYTE: 1, _T_DOUBLE: 8, _T_I16: 2, _T_I32: 4, _T_I64: 8}


def _skip(r: BodyReader, ftype: int, depth: int = 0) -> None:
    if depth > 16:
        raise PipeProtocolError("Thrift struct nested too deeply", "TDatabaseSchema")
    if ftype in _FIXED:
        r.take(_FIXED[ftype], "thrift field")
    elif ftype == _T_STRING:
        r.take(r.length("thrift string"), "thrift string")
    elif ftype == _T_STRUCT:
        while (inner := r.byte("thrift field type")) != _T_STOP:
            r.i16("thrift field id")
            _skip(r, inner, depth + 1)
    elif ftype == _T_MAP:
        k, v, n = r.byte("map key type"), r.byte("map value type"), r.count("map size")
        for _ in range(n):
            _skip(r, k, depth + 1)
            _skip(r, v, depth + 1)
    elif ftype in (_T_SET, _T_LIST):
        e, n = r.byte("element type"), r.count("list size")
        for _ in range(n):
            _skip(r, e, depth + 1)
    else:
        raise PipeProtocolError(f"unknown Thrift field type {ftype}", "TDatabaseSchema")


def _read_database_schema(r: BodyReader) -> DatabaseSchema:
    name: str | None = None
    ttl = interval = None
    table = False
    while (ftype := r.byte("TDatabaseSchema field type")) != _T_STOP:
        fid = r.i16("TDatabaseSchema field id")
        if fid == 1 and ftype == _T_STRING:
            name = r.string("TDatabaseSchema.name")
        elif fid == 2 and ftype == _T_I64:
            ttl = r.i64("TDatabaseSchema.TTL")
        elif fid == 5 and ftype == _T_I64:
            interval = r.i64("TDatabaseSchema.timePartitionInterval")
        elif fid == 11 and ftype == _T_BOOL:
            table = r.bool("TDatabaseSchema.isTableModel")
        else:
            _skip(r, ftype)
    if not name:
        raise PipeProtocolError("TDatabaseSchema without a name", "TDatabaseSchema.name")
    return DatabaseSchema(name, ttl, interval, table)


def _write_database_schema(w: BodyWriter, schema: DatabaseSchema) -> None:
    w.byte(_T_STRING)
    w.i16(1)
    w.string(schema.name)
    if schema.ttl is not None:
        w.byte(_T_I64)
        w.i16(2)
        w.i64(schema.ttl)
    if schema.time_partition_interval is not None:
        w.byte(_T_I64)
        w.i16(5)
        w.i64(schema.time_partition_interval)
    w.byte(_T_BOOL)
    w.i16(11)
    w.bool(schema.is_table_model)
    w.byte(_T_STOP)


# ---------------------------------------------------------------- templates
def _enum_name(enum_type, value: int, field: str) -> str:
    try:
        return enum_type(value).name
    except ValueError:
        raise PipeProtocolError(f"unknown {field} {value}", field) from None


def _read_template(r: BodyReader) -> TemplateDef:
    tid = r.i32("template.id")
    name = r.required_string("template.name")
    aligned = r.bool("template.aligned")
    measurements = []
    for _ in range(r.count("template.measurements", 6)):
        r.required_string("template measurement key")
        flag = r.byte("measurement schema flag")
        if flag != 0:
            raise PipeProtocolError(
                f"template {name}: measurement schema kind {flag} is not a MeasurementSchema (0)",
                "template",
            )
        m = r.required_string("measurement name")
        dt = _enum_name(TSDataType, r.byte("dataType"), "dataType")
        enc = _enum_name(TSEncoding, r.byte("encoding"), "encoding")
        comp = _enum_name(CompressionType, r.byte("compressor"), "compressor")
        measurements.append((m, dt, enc, comp))
    return TemplateDef(name, aligned, tuple(measurements), tid)


def _write_template(w: BodyWriter, t: TemplateDef) -> None:
    w.i32(t.id)
    w.string(t.name)
    w.bool(t.aligned)
    w.i32(len(t.measurements))
    for m, dt, enc, comp in t.measurements:
        w.string(m)
        w.byte(0)
        w.string(m)
        w.byte(int(TSDataType[dt]))
        w.byte(int(TSEncoding[enc]))
        w.byte(int(CompressionType[comp]))


# ---------------------------------------------------------------- paths
def _read_partial_path(r: BodyReader) -> str:
    """A ``PartialPath.serialize`` (type byte 2; the nodes are what counts)."""
    kind = r.byte("path type")
    if kind not in (0, 1, 2):
        raise PipeProtocolError(f"path type {kind} is not a PartialPath", "path")
    if r.byte("measurement flag"):
        r.string("measurement")
    if r.byte("device flag"):
        for _ in range(_uvar(r)):
            _skip_vstr(r)
    if r.byte("fullPath flag"):
        r.string("fullPath")
    return ".".join(r.required_string("node") for _ in range(r.count("nodes", 4)))


def _uvar(r: BodyReader) -> int:
    shift = value = 0
    while True:
        b = r.byte("varint") & 0xFF
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value
        shift += 7
        if shift > 35:
            raise PipeProtocolError("varint too long", "device")


def _skip_vstr(r: BodyReader) -> None:
    raw = _uvar(r)
    n = (raw >> 1) ^ -(raw & 1)
    if n > 0:
        r.take(n, "device segment")


def _read_pattern_tree(r: BodyReader, depth: int = 0) -> list[list[str]]:
    """The patterns of a ``PathPatternTree`` (each a node list from its root)."""
    if depth > 256:
        raise PipeProtocolError("pattern tree nested too deeply", "patternTree")
    name = r.required_string("pattern node")
    mark = r.i32("pattern node mark")
    if mark >= 0:
        raise PipeProtocolError("pattern tree nodes with values are not expected", "patternTree")
    out: list[list[str]] = [[name]] if mark == -1 else []
    for _ in range(r.count("pattern children", 12)):
        out.extend([name, *rest] for rest in _read_pattern_tree(r, depth + 1))
    return out


def encode_path_pattern_tree(paths: Sequence[str]) -> bytes:
    """A ``PathPatternTree`` of `paths`: pre-order from "root", each node ``istr name; i32 -1
    (a pattern ends here) | -2; i32 childCount``."""
    tree: dict = {}
    ends: set[tuple[str, ...]] = set()
    for path in paths:
        nodes = tuple(
            n if "*" in n else _iotdb_quote(n) for n in split_path(path, allow_wildcards=True)
        )
        ends.add(nodes)
        level = tree
        for node in nodes[1:]:
            level = level.setdefault(node, {})
    w = BodyWriter()

    def emit(name: str, prefix: tuple[str, ...], children: dict) -> None:
        w.string(name)
        w.i32(-1 if prefix in ends else -2)
        w.i32(len(children))
        for child, grand in children.items():
            emit(child, (*prefix, child), grand)

    emit("root", ("root",), tree)
    return w.getvalue()


# ---------------------------------------------------------------- decode / encode
def decode_config_plan(body: bytes | memoryview) -> ConfigPlan:
    """A type-200 body; PipeEnriched (1700) is unwrapped. PipeProtocolError for a body that
    does not hold what its type says; UnknownPlan for a type pipecore does not apply."""
    r = BodyReader(body)
    kind = r.i16("planType")
    if kind == PIPE_ENRICHED:
        return decode_config_plan(r.data[r.pos :])
    if kind in (CREATE_DATABASE, ALTER_DATABASE):
        return DatabasePlan(_read_database_schema(r), kind)
    if kind == DELETE_DATABASE:
        return DeleteDatabase(r.required_string("database"))
    if kind == SET_TTL:
        nodes = tuple(r.required_string("ttl path node") for _ in range(r.count("nodes", 4)))
        ttl = r.i64("ttl")
        is_db = r.bool("isDataBase") if r.remaining else False
        return SetTTL(nodes, ttl, is_db)
    if kind == CREATE_SCHEMA_TEMPLATE:
        inner = BodyReader(r.take(r.length("template length"), "template"))
        return CreateTemplate(_read_template(inner))
    if kind == DROP_SCHEMA_TEMPLATE:
        return DropTemplate(r.required_string("template name"))
    if kind == COMMIT_SET_SCHEMA_TEMPLATE:
        name = r.required_string("template name")
        path = r.required_string("path")
        return CommitSetTemplate(name, path, r.bool("isRollback"))
    if kind == EXTEND_SCHEMA_TEMPLATE:
        return _read_extend(r)
    if kind == PIPE_UNSET_TEMPLATE:
        return UnsetTemplate(r.required_string("template name"), r.required_string("path"))
    if kind == PIPE_DELETE_TIMESERIES:
        inner = BodyReader(r.take(r.length("pattern tree length"), "pattern tree"))
        return DeleteTimeSeries(tuple(".".join(p) for p in _read_pattern_tree(inner)))
    if kind == PIPE_DEACTIVATE_TEMPLATE:
        entries = []
        for _ in range(r.count("templateSetInfo", 8)):
            path = _read_partial_path(r)
            names = tuple(_read_template(r).name for _ in range(r.count("templates", 13)))
            entries.append((path, names))
        return DeactivateTemplate(tuple(entries))
    return UnknownPlan(kind, bytes(body))


def _read_extend(r: BodyReader) -> ExtendTemplate:
    name = r.required_string("template name")
    n = r.count("measurements", 4)
    names = [r.required_string("measurement") for _ in range(n)]
    types = [_enum_name(TSDataType, r.byte("dataType"), "dataType") for _ in range(n)]
    encodings: list[str | None] = [None] * n
    compressors: list[str | None] = [None] * n
    if r.byte("encodings flag") == 1:
        encodings = [_enum_name(TSEncoding, r.byte("encoding"), "encoding") for _ in range(n)]
    if r.byte("compressors flag") == 1:
        compressors = [
            _enum_name(CompressionType, r.byte("compressor"), "compressor") for _ in range(n)
        ]
    return ExtendTemplate(name, tuple(zip(names, types, encodings, compressors, strict=True)))


def encode_config_plan(plan: ConfigPlan) -> bytes:
    """The type-200 body IoTDB's ConfigNode receiver decodes (`ConfigPhysicalPlan.Factory`)."""
    w = BodyWriter()
    w.i16(plan.type)
    if isinstance(plan, DatabasePlan):
        _write_database_schema(w, plan.schema)
    elif isinstance(plan, DeleteDatabase):
        w.string(plan.name)
    elif isinstance(plan, SetTTL):
        w.i32(len(plan.nodes))
        for node in plan.nodes:
            w.string(node)
        w.i64(plan.ttl)
        w.bool(plan.is_database)
    elif isinstance(plan, CreateTemplate):
        inner = BodyWriter()
        _write_template(inner, plan.template)
        data = inner.getvalue()
        w.i32(len(data))
        w.raw(data)
    elif isinstance(plan, DropTemplate):
        w.string(plan.name)
    elif isinstance(plan, CommitSetTemplate):
        w.string(plan.name)
        w.string(plan.path)
        w.bool(plan.rollback)
    elif isinstance(plan, ExtendTemplate):
        _write_extend(w, plan)
    elif isinstance(plan, UnsetTemplate):
        w.string(plan.name)
        w.string(plan.path)
    elif isinstance(plan, DeleteTimeSeries):
        w.binary(encode_path_pattern_tree(plan.patterns))
    elif isinstance(plan, UnknownPlan):
        return plan.body
    else:
        raise ValueError(f"{plan_name(plan.type)} is not encoded by pipecore")
    return w.getvalue()


def _write_extend(w: BodyWriter, plan: ExtendTemplate) -> None:
    w.string(plan.name)
    w.i32(len(plan.measurements))
    for m in plan.measurements:
        w.string(m[0])
    for m in plan.measurements:
        w.byte(int(TSDataType[m[1]]))
    for column in (2, 3):
        enum_type = TSEncoding if column == 2 else CompressionType
        values = [m[column] for m in plan.measurements]
        if any(v is None for v in values):
            w.byte(0)
            continue
        w.byte(1)
        for v in values:
            w.byte(int(enum_type[v]))  # type: ignore[misc]


# ---------------------------------------------------------------- snapshots
@attrs.frozen
class _MNode:
    name: str
    template_id: int
    schema: DatabaseSchema | None  # None: an internal node
    children: tuple[_MNode, ...] = ()
    has_database: bool = False  # a database at or below this node


def parse_cluster_schema(data: bytes) -> tuple[list[DatabaseSchema], list[tuple[str, int]]]:
    """``cluster_schema.bin``: the databases (file order) and the (path, template id) of every
    node with a template set."""
    r = BodyReader(data)
    stack: list[_MNode] = []
    while True:
        kind = r.byte("mnode type")
        if kind == 0:
            name = r.required_string("mnode name")
            tid = r.i32("templateId")
            n = r.count("childCount", 0)
            if n > len(stack):
                raise PipeProtocolError(f"node {name} claims {n} children", "cluster_schema")
            children = tuple(stack[len(stack) - n :])
            del stack[len(stack) - n :]
            has_db = any(c.has_database for c in children)
            stack.append(_MNode(name, tid, None, children, has_db))
            if name == "root":
                break
        elif kind == 1:
            name = r.required_string("database name")
            tid = r.i32("templateId")
            schema = _read_database_schema(r)
            # its children (nodes below it with a template set) come just before it; like
            # IoTDB's CNPhysicalPlanGenerator, every subtree on the stack without a database
            below = []
            while stack and not stack[-1].has_database:
                below.append(stack.pop())
            stack.append(_MNode(name, tid, schema, tuple(reversed(below)), True))
        else:
            raise PipeProtocolError(
                f"config mtree node type {kind} is not a tree-model node (0, 1)", "cluster_schema"
            )
    databases: list[DatabaseSchema] = []
    set_on: list[tuple[str, int]] = []

    def walk(node: _MNode, prefix: tuple[str, ...]) -> None:
        nodes = (*prefix, node.name)
        if node.schema is not None:
            databases.append(node.schema)
        if node.template_id >= 0:
            set_on.append((".".join(nodes), node.template_id))
        for child in node.children:
            walk(child, nodes)

    walk(stack[-1], ())
    return databases, set_on


def parse_template_info(data: bytes) -> list[TemplateDef]:
    r = BodyReader(data)
    r.i32("templateIdGenerator")
    return [_read_template(r) for _ in range(r.count("templates", 13))]


def parse_ttl_info(data: bytes) -> list[tuple[str, int]]:
    r = BodyReader(data)
    return [(r.required_string("ttl path"), r.i64("ttl")) for _ in range(r.count("ttls", 12))]


def _reaches(pattern: str, path: str) -> bool:
    """IoTDB's ``matchPrefixPath``: the pattern matches `path` or something below it."""
    try:
        return parse_pattern(pattern).may_match_below(split_path(path, allow_wildcards=True))
    except ValueError:
        return False


def snapshot_plans(
    file_type: int,
    files: Sequence[bytes],
    types: Iterable[int],
    pattern: str = "root.**",
) -> list[ConfigPlan]:
    """The plans IoTDB's receiver executes for a sealed config snapshot: `files` as the seal
    names them (SCHEMA: cluster_schema.bin, template_info.bin; TTL: ttl_info.bin), kept when
    their type is in `types` (the seal's ``Type``) and `pattern` reaches them."""
    wanted = set(types)
    plans: list[ConfigPlan] = []
    if file_type == SNAPSHOT_SCHEMA:
        if len(files) < 2:
            raise PipeProtocolError(
                "a schema snapshot needs the schema file and the template file", "files"
            )
        templates = parse_template_info(files[1])
        databases, set_on = parse_cluster_schema(files[0])
        by_id = {t.id: t.name for t in templates}
        plans.extend(CreateTemplate(attrs.evolve(t, id=0)) for t in templates)
        plans.extend(DatabasePlan(schema) for schema in databases)
        if by_id:
            plans.extend(CommitSetTemplate(by_id[tid], p) for p, tid in set_on if tid in by_id)
    elif file_type == SNAPSHOT_TTL:
        for path, ttl in parse_ttl_info(files[0]):
            plans.append(SetTTL(tuple(split_path(path, allow_wildcards=True)), ttl))
    else:
        raise PipeProtocolError(
            f"config snapshot file type {file_type} is not applied here (users and roles: "
            "receiver_auth)",
            "fileType",
        )
    kept: list[ConfigPlan] = []
    for plan in plans:
        if plan.type not in wanted:
            continue
        filtered = _filter(plan, pattern)
        if filtered is not None:
            kept.append(filtered)
    return kept


def _filter(plan: ConfigPlan, pattern: str) -> ConfigPlan | None:
    """IoTDB's PipeConfigPhysicalPlanPatternParseVisitor for the snapshot plans."""
    if isinstance(plan, DatabasePlan):
        return plan if _reaches(pattern, plan.name) else None
    if isinstance(plan, CommitSetTemplate):
        return plan if _reaches(pattern, plan.path) else None
    if isinstance(plan, CreateTemplate):
        compiled = parse_pattern(pattern)
        tail = compiled.nodes[-1] if compiled.nodes else "**"
        kept = tuple(m for m in plan.template.measurements if _tail_matches(tail, m[0]))
        return (
            attrs.evolve(plan, template=attrs.evolve(plan.template, measurements=kept))
            if (kept)
            else None
        )
    if isinstance(plan, SetTTL):
        return plan if _reaches(pattern, plan.path) or _reaches(plan.path, pattern) else None
    return plan


def _tail_matches(tail: str, measurement: str) -> bool:
    if tail in ("*", "**"):
        return True
    return parse_pattern(f"root.{tail}").matches(["root", measurement])


def database_nodes(name: str) -> tuple[str, ...]:
    return tuple(split_path(name))


def database_path(nodes: Sequence[str]) -> str:
    return join_path(list(nodes))
