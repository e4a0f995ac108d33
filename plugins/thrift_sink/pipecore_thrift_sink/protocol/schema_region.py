"""IoTDB's schema-region plan nodes in a ``TRANSFER_SCHEMA_PLAN`` request (type 100) — what an
IoTDB DataNode's schema-region source sends for ``schema.timeseries.ordinary.create/alter``
and ``schema.timeseries.template.activate``, and what its receiver executes
(``PipePlanToStatementVisitor``). Layouts read from IoTDB 2.0.1's classes (``serializeAttributes``
of each node, ``MeasurementGroup.serialize``, ``PartialPath.serialize``, ``PlanNode.serialize``)
and checked against the bytes IoTDB's own classes write (tests/interop/test_iotdb_plan_nodes.py).

Every node: ``i16 planNodeType``, its attributes, ``istr planNodeId``, ``i32 childCount`` (0).
``istr`` = i32 length + UTF-8 (-1: null); ``map`` = i32 count (-1: null) + count × (istr, istr);
a *labelled list* = i8 label (-1 null, 0 empty, 1: one item per measurement follows)::

    22 CREATE_ALIGNED_TIME_SERIES   istr device; i32 n; n × istr measurement; n × u8 type;
                                    n × u8 encoding; n × u8 compressor; labelled aliases (istr),
                                    labelled tag maps, labelled attribute maps
    21 ALTER_TIME_SERIES            istr path; [i8 -1: a view]; u8 alterType (RENAME 0, SET 1,
                                    DROP 2, ADD_TAGS 3, ADD_ATTRIBUTES 4, UPSERT 5);
                                    u8 1 + istr alias | u8 0; i8 label + map (alterMap, tags,
                                    attributes; label -1 null, 0 empty, 1 map follows)
    39 CREATE_MULTI_TIME_SERIES     i32 n; n × (path, group)                  (not aligned)
    52 INTERNAL_CREATE_TIME_SERIES  path; group; u8 isAligned
    69 INTERNAL_CREATE_MULTI_TIMESERIES  i32 n; n × (path, u8 isAligned, group)
    53 ACTIVATE_TEMPLATE            path; i32 templateSetLevel; i32 templateId
    68 INTERNAL_BATCH_ACTIVATE_TEMPLATE, 72 BATCH_ACTIVATE_TEMPLATE
                                    i32 n; n × (path, i32 templateId, i32 templateSetLevel)

    path  = u8 2 (PartialPath); u8 measurement flag [+ istr]; u8 device flag [+ device];
            u8 fullPath flag [+ istr]; i32 nodeCount; nodeCount × istr
    group = (MeasurementGroup) i32 n; n × istr measurement; n × u8 type; n × u8 encoding;
            n × u8 compressor; labelled aliases, tag maps, attribute maps

Decoding gives the store's schema records (``create_series``, ``series_meta``) and two of this
module's own: ``{"op": "alter_series", "device", "measurement", "alter_type", "alias",
"alter_map", "tags", "attributes"}`` (applied against the receiver's current metadata) and
``{"op": "activate_template", "device"}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pipecore_storage.paths import _iotdb_quote, iotdb_path, join_path, split_path
from pipecore_storage.types import CompressionType, TSDataType, TSEncoding

from .errors import PipeProtocolError
from .io import BodyReader, BodyWriter
from .schema_node import CREATE_TIME_SERIES, decode_create_timeseries

__all__ = [
    "ALTER_TIME_SERIES",
    "ALTER_TYPES",
    "CREATE_ALIGNED_TIME_SERIES",
    "REGION_NODE_TYPES",
    "decode_region_node",
    "encode_alter_timeseries",
    "encode_create_aligned",
    "read_partial_path",
    "write_partial_path",
]

ALTER_TIME_SERIES = 21
CREATE_ALIGNED_TIME_SERIES = 22
CREATE_MULTI_TIME_SERIES = 39
INTERNAL_CREATE_TIME_SERIES = 52
ACTIVATE_TEMPLATE = 53
INTERNAL_BATCH_ACTIVATE_TEMPLATE = 68
INTERNAL_CREATE_MULTI_TIMESERIES = 69
BATCH_ACTIVATE_TEMPLATE = 72
ALTER_TYPES = ("RENAME", "SET", "DROP", "ADD_TAGS", "ADD_ATTRIBUTES", "UPSERT")
REGION_NODE_TYPES = frozenset(
    {
        CREATE_TIME_SERIES,
        ALTER_TIME_SERIES,
        CREATE_ALIGNED_TIME_SERIES,
        CREATE_MULTI_TIME_SERIES,
        INTERNAL_CREATE_TIME_SERIES,
        ACTIVATE_TEMPLATE,
        INTERNAL_BATCH_ACTIVATE_TEMPLATE,
        INTERNAL_CREATE_MULTI_TIMESERIES,
        BATCH_ACTIVATE_TEMPLATE,
    }
)
_PARTIAL_PATH = 2


# ---------------------------------------------------------------------------- primitives
def _write_map(w: BodyWriter, pairs: Iterable[Sequence[str]] | None) -> None:
    if pairs is None:
        w.i32(-1)
        return
    w.string_map({str(k): str(v) for k, v in pairs})


def _read_map(r: BodyReader, field: str) -> list[list[str]] | None:
    at = r.pos
    n = r.i32(field)
    if n == -1:
        return None
    r.pos = at
    return [[k, v or ""] for k, v in r.string_map(field).items()]


def _labelled_map(w: BodyWriter, pairs: Sequence[Sequence[str]] | None) -> None:
    if pairs is None:
        w.byte(-1)
    elif not pairs:
        w.byte(0)
    else:
        w.byte(1)
        _write_map(w, pairs)


def _read_labelled_map(r: BodyReader, field: str) -> list[list[str]] | None:
    label = r.byte(f"{field} label")
    if label == 1:
        return _read_map(r, field) or []
    return [] if label == 0 else None


def _nodes(path: str) -> list[str]:
    return [n if "*" in n else _iotdb_quote(n) for n in split_path(path, allow_wildcards=True)]


def write_partial_path(w: BodyWriter, path: str) -> None:
    """A PartialPath with measurement, device and full path left null (IoTDB rebuilds them
    from the nodes)."""
    w.byte(_PARTIAL_PATH)
    w.byte(0)
    w.byte(0)
    w.byte(0)
    nodes = _nodes(path)
    w.i32(len(nodes))
    for node in nodes:
        w.string(node)


def read_partial_path(r: BodyReader, field: str) -> str:
    """A serialized PartialPath (type byte 2) as a path string."""
    kind = r.byte(f"{field}.type")
    if kind != _PARTIAL_PATH:
        raise PipeProtocolError(f"{field}: path type {kind} is not a PartialPath (2)", field)
    if r.byte(f"{field}.measurement flag"):
        r.string(f"{field}.measurement")
    if r.byte(f"{field}.device flag"):
        for _ in range(_uvar(r, f"{field}.device")):
            _vstr(r, f"{field}.device")
    if r.byte(f"{field}.fullPath flag"):
        r.string(f"{field}.fullPath")
    nodes = [r.required_string(f"{field}.node") for _ in range(r.count(f"{field}.nodes", 4))]
    return ".".join(nodes)  # IoTDB's nodes keep their backquotes


def _uvar(r: BodyReader, field: str) -> int:
    value, shift = 0, 0
    while True:
        b = r.byte(field) & 0xFF
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value
        shift += 7
        if shift > 35:
            raise r.error(field, "varint too long")


def _vstr(r: BodyReader, field: str) -> None:
    raw = _uvar(r, field)
    n = (raw >> 1) ^ -(raw & 1)
    if n > 0:
        r.take(n, field)


def _unquote(name: str) -> str:
    """A measurement as IoTDB holds it (backquoted where needed) → the plain name."""
    if not name.startswith("`"):
        return name
    try:
        return split_path(f"root.{name}")[-1]
    except ValueError:
        raise PipeProtocolError(f"illegal measurement {name!r}", "measurement") from None


def _split_series(path: str, field: str) -> tuple[str, str]:
    try:
        nodes = split_path(path)
    except ValueError as exc:
        raise PipeProtocolError(f"illegal path {path!r}: {exc}", field) from None
    if len(nodes) < 3:
        raise PipeProtocolError(f"illegal timeseries path {path!r}", field)
    return join_path(nodes[:-1]), nodes[-1]


def _device(path: str, field: str) -> str:
    try:
        nodes = split_path(path)
    except ValueError as exc:
        raise PipeProtocolError(f"illegal device path {path!r}: {exc}", field) from None
    if len(nodes) < 2:
        raise PipeProtocolError(f"illegal device path {path!r}", field)
    return join_path(nodes)


def _enum(enum_type, value: int, field: str) -> str:
    try:
        return enum_type(value).name
    except ValueError:
        raise PipeProtocolError(f"unknown {field} {value}", field) from None


def _tail(w: BodyWriter, node_id: str) -> None:
    w.string(node_id)
    w.i32(0)


# ---------------------------------------------------------------------------- encoders
def encode_create_aligned(
    device: str, creates: Sequence[dict], metas: Sequence[dict | None], node_id: str = ""
) -> bytes:
    """A CreateAlignedTimeSeriesNode for `creates` (``create_series`` records of one aligned
    device) and their ``series_meta`` records (None where a series has none)."""
    w = BodyWriter()
    w.i16(CREATE_ALIGNED_TIME_SERIES)
    w.string(iotdb_path(device))
    w.i32(len(creates))
    for c in creates:
        w.string(_iotdb_quote(c["measurement"]))
    for c in creates:
        w.byte(int(TSDataType[c["type"]]))
    for c in creates:
        w.byte(int(TSEncoding[c["encoding"]]))
    for c in creates:
        w.byte(int(CompressionType[c["compression"]]))
    aliases = [m.get("alias") if m else None for m in metas]
    if any(a is not None for a in aliases):
        w.byte(1)
        for alias in aliases:
            w.string(alias)
    else:
        w.byte(-1)
    for key in ("tags", "attributes"):
        maps = [m.get(key) if m else None for m in metas]
        if any(maps):
            w.byte(1)
            for pairs in maps:
                _write_map(w, pairs or None)
        else:
            w.byte(-1)
    _tail(w, node_id)
    return w.getvalue()


def encode_alter_timeseries(
    path: str,
    alter_type: str,
    *,
    alias: str | None = None,
    alter_map: Sequence[Sequence[str]] | None = None,
    tags: Sequence[Sequence[str]] | None = None,
    attributes: Sequence[Sequence[str]] | None = None,
    node_id: str = "",
) -> bytes:
    """An AlterTimeSeriesNode (``ALTER TIMESERIES path <alter_type> …``)."""
    w = BodyWriter()
    w.i16(ALTER_TIME_SERIES)
    w.string(iotdb_path(path))
    w.byte(ALTER_TYPES.index(alter_type))
    w.byte(0 if alias is None else 1)
    if alias is not None:
        w.string(alias)
    _labelled_map(w, alter_map)
    _labelled_map(w, tags)
    _labelled_map(w, attributes)
    _tail(w, node_id)
    return w.getvalue()


# ---------------------------------------------------------------------------- decoders
def _group(r: BodyReader, device: str, aligned: bool) -> list[dict]:
    n = r.count("measurements", 4)
    return _group_rest(r, device, aligned, [r.required_string("measurement") for _ in range(n)])


def _group_rest(r: BodyReader, device: str, aligned: bool, names: list[str]) -> list[dict]:
    """A MeasurementGroup after its names (CreateAlignedTimeSeriesNode has the same layout)."""
    names = [_unquote(name) for name in names]
    n = len(names)
    types = [_enum(TSDataType, r.byte("dataType"), "dataType") for _ in range(n)]
    encodings = [_enum(TSEncoding, r.byte("encoding"), "encoding") for _ in range(n)]
    compressors = [_enum(CompressionType, r.byte("compressor"), "compressor") for _ in range(n)]
    aliases: list[str | None] = [None] * n
    if r.byte("alias label") == 1:
        aliases = [r.string("alias") for _ in range(n)]
    extra: dict[str, list] = {}
    for key in ("tags", "attributes"):
        extra[key] = [None] * n
        if r.byte(f"{key} label") == 1:
            extra[key] = [_read_map(r, key) for _ in range(n)]
    out: list[dict] = []
    for i, name in enumerate(names):
        out.append(
            {
                "op": "create_series",
                "device": device,
                "measurement": name,
                "type": types[i],
                "encoding": encodings[i],
                "compression": compressors[i],
                "aligned": aligned,
                "props": [],
            }
        )
        tags, attributes = extra["tags"][i] or [], extra["attributes"][i] or []
        if aliases[i] is not None or tags or attributes:
            out.append(
                {
                    "op": "series_meta",
                    "device": device,
                    "measurement": name,
                    "alias": aliases[i],
                    "tags": tags,
                    "attributes": attributes,
                }
            )
    return out


def _aligned(r: BodyReader) -> list[dict]:
    device = _device(r.required_string("devicePath"), "devicePath")
    n = r.count("measurements", 4)
    names = [r.required_string("measurement") for _ in range(n)]
    return _group_rest(r, device, True, names)


def _alter(r: BodyReader) -> list[dict]:
    path = r.required_string("path")
    device, measurement = _split_series(path, "path")
    kind = r.byte("alterType")
    view = kind == -1
    if view:
        kind = r.byte("alterType")
    if not 0 <= kind < len(ALTER_TYPES):
        raise PipeProtocolError(f"unknown alter type {kind}", "alterType")
    if view:
        raise PipeProtocolError("ALTER of a logical view is not supported", "alterType")
    alias = r.string("alias") if r.byte("alias flag") == 1 else None
    maps = [_read_labelled_map(r, f) for f in ("alterMap", "tagsMap", "attributesMap")]
    return [
        {
            "op": "alter_series",
            "device": device,
            "measurement": measurement,
            "alter_type": ALTER_TYPES[kind],
            "alias": alias,
            "alter_map": maps[0] or [],
            "tags": maps[1] or [],
            "attributes": maps[2] or [],
        }
    ]


def _activations(r: BodyReader) -> list[dict]:
    out = []
    for _ in range(r.count("activations", 10)):
        device = _device(read_partial_path(r, "path"), "path")
        out.append({"op": "activate_template", "device": device})
        r.i32("templateId")
        r.i32("templateSetLevel")
    return out


def decode_region_node(body: bytes) -> list[dict]:
    """The records of a schema-region plan node (types in `REGION_NODE_TYPES`)."""
    r = BodyReader(body)
    kind = r.i16("planNodeType")
    if kind == CREATE_TIME_SERIES:
        return decode_create_timeseries(body)
    if kind == CREATE_ALIGNED_TIME_SERIES:
        records = _aligned(r)
    elif kind == ALTER_TIME_SERIES:
        records = _alter(r)
    elif kind == CREATE_MULTI_TIME_SERIES:
        records = []
        for _ in range(r.count("devices", 10)):
            device = _device(read_partial_path(r, "devicePath"), "devicePath")
            records += _group(r, device, False)
    elif kind == INTERNAL_CREATE_TIME_SERIES:
        device = _device(read_partial_path(r, "devicePath"), "devicePath")
        records = _group(r, device, False)
        if r.bool("isAligned"):  # the flag follows the group
            for record in records:
                if record["op"] == "create_series":
                    record["aligned"] = True
    elif kind == INTERNAL_CREATE_MULTI_TIMESERIES:
        records = []
        for _ in range(r.count("devices", 10)):
            device = _device(read_partial_path(r, "devicePath"), "devicePath")
            records += _group(r, device, r.bool("isAligned"))
    elif kind == ACTIVATE_TEMPLATE:
        device = _device(read_partial_path(r, "activatePath"), "activatePath")
        r.i32("templateSetLevel")
        r.i32("templateId")
        records = [{"op": "activate_template", "device": device}]
    elif kind in (INTERNAL_BATCH_ACTIVATE_TEMPLATE, BATCH_ACTIVATE_TEMPLATE):
        records = _activations(r)
    else:
        raise PipeProtocolError(f"plan node type {kind} is not a schema-region node", "type")
    r.string("planNodeId")
    return records
