"""pipecore's schema request (type 29002): schema changes between pipecore nodes.

IoTDB 1.3 sends schema as plan nodes of its SchemaRegion (``TRANSFER_SCHEMA_PLAN``, type 100:
CreateTimeSeriesNode, CreateAlignedTimeSeriesNode, DeleteTimeSeriesNode, AlterTimeSeriesNode …)
and databases as ConfigNode plans to the config receiver (``TRANSFER_CONFIG_PLAN``, type 200);
snapshots as ``TRANSFER_SCHEMA_SNAPSHOT_PIECE/SEAL`` (101/102) of its mtree files. pipecore does
not reproduce those layouts yet: its sink sends the store's schema-log records instead, in a
request type of its own (like the digest request, 29001)::

    body = UTF-8 JSON {"snapshot": bool, "records": [record, …]}

each record in `pipecore_storage.schema`'s form: ``{"op": "create_database", "name": …}``,
``{"op": "delete_database", "name": …}``, ``{"op": "create_series", "device", "measurement",
"type", "encoding", "compression", "aligned", "props": [[k, v], …]}``, ``{"op":
"delete_series", "device", "measurement"}``, ``{"op": "series_meta", "device", "measurement",
"alias", "tags", "attributes"}``, and the schema templates' records of
`pipecore.schema_templates` (``create_template``, ``extend_template``, ``prune_template``,
``drop_template``, ``set_template``, ``unset_template``, ``activate_template``,
``deactivate_template``), and users, roles and privileges (`pipecore.auth_records`:
``create_user`` / ``alter_user`` with the stored password hash, ``drop_user``,
``create_role``, ``drop_role``, ``grant_role``, ``revoke_role``, ``grant``, ``revoke``). An
IoTDB receiver answers 1801 (unknown request type).

The creation of a non-aligned series goes as IoTDB's own CreateTimeSeriesNode instead
(`schema_node`), so that an IoTDB 1.3 receiver and a pipecore one read it alike;
`schema_requests` cuts a record list into those requests, in order.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

import attrs

from pipecore import AUTH_FIELDS

from .errors import PipeProtocolError
from .request import PipeRequestType
from .schema_node import encode_create_timeseries

__all__ = [
    "SCHEMA_REQUEST_TYPE",
    "SchemaPlan",
    "decode_schema_plan",
    "encode_schema_plan",
    "schema_requests",
]

SCHEMA_REQUEST_TYPE = 29002
_FIELDS = {
    "create_database": ("name",),
    "delete_database": ("name",),
    "create_series": ("device", "measurement", "type", "encoding", "compression", "aligned"),
    "delete_series": ("device", "measurement"),
    "series_meta": ("device", "measurement"),
    # schema templates (`pipecore.schema_templates`)
    "create_template": ("name", "aligned", "measurements"),
    "extend_template": ("name", "measurements"),
    "prune_template": ("name", "measurement"),
    "drop_template": ("name",),
    "set_template": ("name", "path"),
    "unset_template": ("name", "path"),
    "activate_template": ("device",),
    "deactivate_template": ("device", "definition"),
    # users, roles and privileges
    **AUTH_FIELDS,
}
_OPS = frozenset(_FIELDS)


@attrs.frozen
class SchemaPlan:
    records: tuple[dict, ...]
    snapshot: bool = False


def encode_schema_plan(plan: SchemaPlan) -> bytes:
    body = {"snapshot": plan.snapshot, "records": list(plan.records)}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def decode_schema_plan(body: bytes) -> SchemaPlan:
    """The plan; PipeProtocolError naming what is wrong for a malformed body."""
    try:
        value = json.loads(body.decode())
    except (UnicodeDecodeError, ValueError) as exc:
        raise PipeProtocolError(f"schema request is not UTF-8 JSON: {exc}", "body") from None
    if not isinstance(value, dict) or not isinstance(value.get("records"), list):
        raise PipeProtocolError("schema request without a records list", "records")
    for record in value["records"]:
        op = record.get("op") if isinstance(record, dict) else None
        if op not in _OPS:
            raise PipeProtocolError(f"unknown schema record {op!r}", "records")
        missing = [f for f in _FIELDS[op] if f not in record]
        if missing:
            raise PipeProtocolError(f"schema record {op} without {', '.join(missing)}", "records")
    return SchemaPlan(tuple(value["records"]), bool(value.get("snapshot", False)))


def schema_requests(
    records: Sequence[dict], snapshot: bool = False
) -> Iterator[tuple[int, bytes, int]]:
    """(request type, body, records carried) for `records`, in their order. A non-aligned
    series' ``create_series`` takes along the ``series_meta`` of the same series that follows
    it in `records` (a snapshot lists the metadata after all the series), unless something
    else touches that series in between."""
    merged: dict[int, dict] = {}  # index of a create_series -> its series_meta
    absorbed: set[int] = set()
    open_creates: dict[tuple[object, object], int] = {}
    for i, record in enumerate(records):
        key = (record.get("device"), record.get("measurement"))
        if record["op"] == "create_series" and not record.get("aligned"):
            open_creates[key] = i
        elif record["op"] == "series_meta" and key in open_creates:
            merged[open_creates.pop(key)] = record
            absorbed.add(i)
        elif key in open_creates:
            open_creates.pop(key)
    run: list[dict] = []
    for i, record in enumerate(records):
        if i in absorbed:
            continue
        if record["op"] == "create_series" and not record.get("aligned"):
            if run:
                body = encode_schema_plan(SchemaPlan(tuple(run), snapshot))
                yield SCHEMA_REQUEST_TYPE, body, len(run)
                run = []
            meta = merged.get(i)
            body = encode_create_timeseries(record, meta)
            yield int(PipeRequestType.TRANSFER_SCHEMA_PLAN), body, 1 if meta is None else 2
            continue
        run.append(record)
    if run:
        yield SCHEMA_REQUEST_TYPE, encode_schema_plan(SchemaPlan(tuple(run), snapshot)), len(run)
