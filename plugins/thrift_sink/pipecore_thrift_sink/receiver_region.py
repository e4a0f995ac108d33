"""The receiver's side of IoTDB's schema-region layout: plan nodes (type 100,
`protocol.schema_region`) and the schema-region snapshot (types 101/102,
`protocol.schema_snapshot`), applied to the store like pipecore's own schema records
(`receiver_schema`).

* ``alter_series`` (an AlterTimeSeriesNode) is applied to the series' current metadata with
  IoTDB's rules: RENAME and SET of a key the series lacks fail ("does not have tag/attribute"),
  ADD_TAGS / ADD_ATTRIBUTES of a key it has fail ("already has"), DROP of a missing key is
  fine, UPSERT sets the alias (when given) and adds or replaces tags and attributes;
* ``activate_template`` (and pipecore's other template records, `receiver_templates`) is
  applied to the node's templates when the caller passes them; without them it is refused
  with 1810 (a conflict: IoTDB's sender retries it for
  ``sink.exception.conflict.retry-max-time-seconds`` and then skips it);
* a snapshot: its series (filtered by the seal's ``PathPattern`` and ``Type``) and their
  alias, tags and attributes (from the tag file) are applied like a pipecore snapshot.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipecore.rpc import PipeTransferResponse, Status, TSStatusCode
from pipecore_storage.errors import SchemaError, StoreClosedError
from pipecore_storage.origin import Origin
from pipecore_storage.paths import parse_pattern, split_path
from pipecore_storage.series_meta import SeriesMeta, meta_record

from .protocol import PipeProtocolError, decode_file_seal_v2
from .protocol.schema_snapshot import MTREE_SNAPSHOT, decode_mtree_snapshot, read_tag_record
from .receiver_files import FileReceiver, SealError
from .receiver_schema import apply_schema_records, record_series
from .receiver_templates import TEMPLATE_OPS, apply_template_record

__all__ = ["apply_region_records", "seal_schema_snapshot", "snapshot_records"]

log = logging.getLogger("pipecore.thrift_receiver")

#: plan node types of a snapshot seal's ``Type`` that create series / activate templates
_SERIES_TYPES = {"19", "22", "69"}
_TEMPLATE_TYPES = {"53", "72"}


def _conflict(message: str) -> Status:
    return Status(TSStatusCode.PIPE_RECEIVER_USER_CONFLICT_EXCEPTION, message)


def _altered(path: str, meta: SeriesMeta, record: dict) -> SeriesMeta | str:
    """The metadata after an ALTER, or the error message IoTDB gives."""
    tags, attributes = dict(meta.tags), dict(meta.attributes)
    kind = record["alter_type"]
    changes = [(str(k), str(v)) for k, v in record.get("alter_map") or []]
    alias = meta.alias
    if kind == "RENAME":
        for old, new in changes:
            if new in tags or new in attributes:
                return f"TimeSeries [{path}] already has a tag/attribute named [{new}]."
            if old in tags:
                tags = {new if k == old else k: v for k, v in tags.items()}
            elif old in attributes:
                attributes = {new if k == old else k: v for k, v in attributes.items()}
            else:
                return f"TimeSeries [{path}] does not have tag/attribute [{old}]."
    elif kind == "SET":
        for key, value in changes:
            if key in tags:
                tags[key] = value
            elif key in attributes:
                attributes[key] = value
            else:
                return f"TimeSeries [{path}] does not have tag/attribute [{key}]."
    elif kind == "DROP":
        for key, _ in changes:
            tags.pop(key, None)
            attributes.pop(key, None)
    elif kind in ("ADD_TAGS", "ADD_ATTRIBUTES"):  # IoTDB puts the new keys in the alter map
        target = tags if kind == "ADD_TAGS" else attributes
        what = "tag" if kind == "ADD_TAGS" else "attribute"
        for key, value in changes:
            if key in target:
                return f"TimeSeries [{path}] already has the {what} [{key}]."
            target[key] = value
    else:  # UPSERT
        if record.get("alias") is not None:
            alias = record["alias"]
        tags.update({str(k): str(v) for k, v in record["tags"]})
        attributes.update({str(k): str(v) for k, v in record["attributes"]})
    return SeriesMeta(alias, tuple(tags.items()), tuple(attributes.items()))


def apply_region_records(
    store: Any, records: Sequence[dict], origin: Origin, templates: Any = None
) -> Status:
    """Apply `records` (store records, this layout's ``alter_series`` / ``activate_template``
    and pipecore's template records) in order; the status of the first that cannot be
    applied. `templates`: the node's `SchemaTemplates` (None: template records refused)."""
    run: list[dict] = []
    for record in records:
        op = record["op"]
        if op not in ("alter_series", *TEMPLATE_OPS):
            run.append(record)
            continue
        if run:
            status = apply_schema_records(store, run, origin)
            if not status.is_success:
                return status
            run = []
        if op in TEMPLATE_OPS and templates is not None:
            try:
                status = apply_template_record(store, templates, record, origin)
            except StoreClosedError as exc:
                status = Status(
                    TSStatusCode.PIPE_RECEIVER_TEMPORARY_UNAVAILABLE_EXCEPTION, str(exc)
                )
            except (SchemaError, ValueError) as exc:
                status = Status(TSStatusCode.PIPE_TRANSFER_EXECUTE_STATEMENT_ERROR, f"{op}: {exc}")
            if not status.is_success:
                return status
            continue
        if op in TEMPLATE_OPS:
            return _conflict(
                f"{op} {record.get('device') or record.get('name')}: this pipecore receiver "
                "keeps no schema templates"
            )
        path = record_series(record)
        try:
            info = store.series(path)
            if info is None:
                return _conflict(f"ALTER TIMESERIES {path}: the series does not exist here")
            meta = _altered(path, info.meta, record)
            if isinstance(meta, str):
                return Status(TSStatusCode.PIPE_TRANSFER_EXECUTE_STATEMENT_ERROR, meta)
            if meta != info.meta:
                store.set_series_meta(path, meta, origin=origin)
        except StoreClosedError as exc:
            return Status(TSStatusCode.PIPE_RECEIVER_TEMPORARY_UNAVAILABLE_EXCEPTION, str(exc))
        except (SchemaError, ValueError) as exc:
            return Status(TSStatusCode.PIPE_TRANSFER_EXECUTE_STATEMENT_ERROR, f"{path}: {exc}")
    return apply_schema_records(store, run, origin) if run else Status.ok()


def snapshot_records(
    mtree: bytes, tlog: bytes | None, database: str, pattern: str | None, types: str | None
) -> tuple[list[dict], list[str]]:
    """The records a schema-region snapshot asks to apply, and the devices it says use a
    template (the caller decides about those)."""
    snapshot = decode_mtree_snapshot(mtree, database)
    wanted = {t.strip() for t in (types or "").split(",") if t.strip()}
    templates = list(snapshot.template_devices) if not types or wanted & _TEMPLATE_TYPES else []
    if types is not None and not wanted & _SERIES_TYPES:
        return [], templates
    records = [dict(r) for r in snapshot.records]
    metas: dict[tuple[str, str], dict] = {}
    for record in records:
        if record["op"] == "series_meta":
            metas[(record["device"], record["measurement"])] = record
    for index, offset in snapshot.tag_offsets:
        if tlog is None:
            raise PipeProtocolError("the snapshot's series have tags but no tag file came", "tlog")
        create = records[index]
        tags, attributes = read_tag_record(tlog, offset)
        key = (create["device"], create["measurement"])
        if key not in metas:
            metas[key] = meta_record(key[0], key[1], SeriesMeta())
            records.append(metas[key])
        metas[key]["tags"], metas[key]["attributes"] = tags, attributes
    matcher = parse_pattern(pattern) if pattern else None
    if matcher is not None:
        records = [
            r for r in records if matcher.matches_series(split_path(r["device"]), r["measurement"])
        ]
    # series first, then their metadata (as a pipecore snapshot lists them)
    records.sort(key=lambda r: r["op"] != "create_series")
    return records, templates


def seal_schema_snapshot(
    files: FileReceiver, body: bytes, store: Any, origin: Origin, receiver_id: object
) -> PipeTransferResponse:
    """A ``TRANSFER_SCHEMA_SNAPSHOT_SEAL``: check the files like a TsFile seal, read them,
    apply, delete them."""
    seal = decode_file_seal_v2(body)
    try:
        paths = files.seal_files(seal)
    except SealError as exc:
        log.warning("receiver %s: %s", receiver_id, exc)
        files.clear()
        return PipeTransferResponse(exc.status)
    try:
        params = seal.params_dict
        mtree_path = next((p for p in paths if p.name.startswith(MTREE_SNAPSHOT)), paths[0])
        tlog_path = next((p for p in paths if p != mtree_path), None)
        database = params.get("Database")
        if not database:
            raise PipeProtocolError("schema snapshot seal without a Database", "Database")
        records, templates = snapshot_records(
            Path(mtree_path).read_bytes(),
            Path(tlog_path).read_bytes() if tlog_path is not None else None,
            database,
            params.get("PathPattern"),
            params.get("Type"),
        )
    finally:
        files.clear()
    status = apply_region_records(store, records, origin)
    if status.is_success and templates:
        log.warning(
            "receiver %s: schema snapshot of %s: %d device(s) use a template (%s…); their "
            "series need the sender's templates, which this receiver does not have: skipped",
            receiver_id,
            database,
            len(templates),
            templates[0],
        )
    if not status.is_success:
        log.warning("receiver %s: schema snapshot of %s: %s", receiver_id, database, status)
    else:
        log.info(
            "receiver %s: schema snapshot of %s: %d schema record(s) applied",
            receiver_id,
            database,
            len(records),
        )
    return PipeTransferResponse(status)
