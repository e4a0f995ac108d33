"""Schema-log records as a real IoTDB receiver takes them: IoTDB's own schema-region plan nodes
(type 100) and, for a deletion, its ConfigNode plan (type 200) — the layout a pipe between two
IoTDBs uses. pipecore's receiver takes these too, but a pipecore sink talking to pipecore keeps
its own request (29002, `schema_plan`), which also carries databases.

* a non-aligned series' ``create_series`` (+ the ``series_meta`` that follows it):
  CreateTimeSeriesNode (19);
* consecutive aligned ``create_series`` of one device (+ their ``series_meta``):
  one CreateAlignedTimeSeriesNode (22);
* a ``series_meta`` on its own (an ALTER): AlterTimeSeriesNode (21) DROP of the tag/attribute
  keys the series had when this sink last sent its metadata and no longer has, then UPSERT of
  alias, tags and attributes. (IoTDB has no "replace": keys this sink never saw — metadata
  changed before the pipe existed and not in its snapshot — stay on the receiver. IoTDB cannot
  drop an alias either.)
* ``delete_series``: ``PipeDeleteTimeSeriesPlan`` (ConfigPhysicalPlanType 1702) in a
  ``TRANSFER_CONFIG_PLAN`` request — IoTDB's DataNode receiver has no plan node for a series
  deletion; it hands config plans to its ConfigNode, which wants a ``HANDSHAKE_CONFIGNODE_V2``
  (type 50, the type-51 body) on the connection first (the plan's layout: `config_plan`).

* schema templates (``create_template``, ``set_template``, ``activate_template`` …): config
  plans and the ActivateTemplateNode (`template_plans`).
* databases (``create_database`` / ``delete_database``): the sink sends them as ConfigNode
  plans first (`config_sink`); what is left of them here goes in pipecore's request.
* users, roles and privileges (`pipecore.auth_records`): IoTDB's author plans (`auth_plans`;
  a user arrives with pipecore's hash as its raw password: it cannot log in on IoTDB with
  its password; a password change is left out).
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping, Sequence

from pipecore import AUTH_OPS
from pipecore_storage.paths import join_path

from .auth_plans import auth_requests
from .config_plan import DeleteTimeSeries, encode_config_plan
from .request import PipeRequestType
from .schema_node import encode_create_timeseries
from .schema_plan import SCHEMA_REQUEST_TYPE, SchemaPlan, encode_schema_plan
from .schema_region import encode_alter_timeseries, encode_create_aligned
from .template_plans import TEMPLATE_RECORD_OPS, template_requests

#: the records of `pipecore.auth_records` (users, roles, privileges)
AUTH_RECORD_OPS = AUTH_OPS

__all__ = [
    "AUTH_RECORD_OPS",
    "SentMeta",
    "iotdb_schema_requests",
]

_PLAN = int(PipeRequestType.TRANSFER_SCHEMA_PLAN)
_CONFIG = int(PipeRequestType.TRANSFER_CONFIG_PLAN)

#: per sink: (device, measurement) -> (tag keys, attribute keys) last sent
SentMeta = MutableMapping[tuple[str, str], tuple[frozenset[str], frozenset[str]]]


def _series(record: dict) -> str:
    return f"{record['device']}.{join_path([record['measurement']])}"


def _key(record: dict) -> tuple[str, str]:
    return (record["device"], record["measurement"])


def _pairs(value) -> list[list[str]]:
    return [[str(k), str(v)] for k, v in (value or [])]


def _alter(record: dict, sent: SentMeta) -> Iterator[tuple[int, bytes, int]]:
    tags, attributes = _pairs(record.get("tags")), _pairs(record.get("attributes"))
    tag_keys = frozenset(k for k, _ in tags)
    attribute_keys = frozenset(k for k, _ in attributes)
    before = sent.get(_key(record))
    path = _series(record)
    if before is not None:
        # keys gone, and keys that moved between tags and attributes
        gone = (before[0] - tag_keys) | (before[1] - attribute_keys)
        if gone:
            body = encode_alter_timeseries(path, "DROP", alter_map=[[k, ""] for k in sorted(gone)])
            yield _PLAN, body, 0
    sent[_key(record)] = (tag_keys, attribute_keys)
    alias = record.get("alias")
    if alias is None and not tags and not attributes:
        return
    body = encode_alter_timeseries(
        path, "UPSERT", alias=alias, tags=tags or None, attributes=attributes or None
    )
    yield _PLAN, body, 1


def iotdb_schema_requests(
    records: Sequence[dict], snapshot: bool, sent: SentMeta
) -> Iterator[tuple[int, bytes, int]]:
    """(request type, body, records carried) for `records`, in their order, as an IoTDB
    receiver takes them (see the module's text). `sent` is the sink's memory of the metadata
    keys it sent (updated here)."""
    i, n = 0, len(records)
    pending: list[dict] = []  # database records, for pipecore's request

    def flush() -> Iterator[tuple[int, bytes, int]]:
        if pending:
            body = encode_schema_plan(SchemaPlan(tuple(pending), snapshot))
            yield SCHEMA_REQUEST_TYPE, body, len(pending)
            pending.clear()

    while i < n:
        record = records[i]
        op = record["op"]
        if op in ("create_database", "delete_database"):
            pending.append(record)
            i += 1
            continue
        yield from flush()
        if op == "create_series":
            # the run of creations (one device, one alignment) and the metadata right after
            run = [record]
            j = i + 1
            while (
                record["aligned"]
                and j < n
                and records[j]["op"] == "create_series"
                and records[j]["device"] == record["device"]
                and records[j]["aligned"]
            ):
                run.append(records[j])
                j += 1
            metas: dict[tuple[str, str], dict] = {}
            names = {_key(c) for c in run}
            while j < n and records[j]["op"] == "series_meta" and _key(records[j]) in names:
                metas[_key(records[j])] = records[j]
                j += 1
            for key, meta in metas.items():
                tags = frozenset(k for k, _ in _pairs(meta.get("tags")))
                sent[key] = (tags, frozenset(k for k, _ in _pairs(meta.get("attributes"))))
            if record["aligned"]:
                body = encode_create_aligned(
                    record["device"], run, [metas.get(_key(c)) for c in run]
                )
            else:
                body = encode_create_timeseries(record, metas.get(_key(record)))
            yield _PLAN, body, j - i
            i = j
        elif op == "series_meta":
            yield from _alter(record, sent)
            i += 1
        elif op == "delete_series":
            run = [record]
            j = i + 1
            while j < n and records[j]["op"] == "delete_series":
                run.append(records[j])
                j += 1
            for r in run:
                sent.pop(_key(r), None)
            plan = DeleteTimeSeries(tuple(_series(r) for r in run))
            yield _CONFIG, encode_config_plan(plan), len(run)
            i = j
        elif op in TEMPLATE_RECORD_OPS:  # config plans and ActivateTemplateNode
            yield from template_requests(record)
            i += 1
        elif op in AUTH_RECORD_OPS:  # IoTDB's author plans
            yield from auth_requests(record)
            i += 1
        else:
            pending.append(record)
            i += 1
    yield from flush()
