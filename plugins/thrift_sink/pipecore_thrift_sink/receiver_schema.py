"""The receiver's side of schema transfer: apply schema-log records to the store, idempotently.

* a database or series that exists already as sent is fine (nothing to do);
* a series that exists with another data type, or on a device of the other alignment, is a
  conflict: 1810 PIPE_RECEIVER_USER_CONFLICT_EXCEPTION naming the series, which the sender's
  conflict rules (``sink.exception.conflict.*``) then retry, ignore or record; the records
  before it stay applied;
* deleting what is not there is fine;
* ``series_meta`` (alias, tags, attributes) replaces the series' metadata.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pipecore.rpc import Status, TSStatusCode
from pipecore_storage.errors import SchemaError, StoreClosedError
from pipecore_storage.origin import CLIENT, Origin
from pipecore_storage.paths import join_path
from pipecore_storage.series_meta import meta_from_record

__all__ = ["apply_schema_records", "record_series"]


def record_series(record: dict) -> str:
    return f"{record['device']}.{join_path([record['measurement']])}"


def apply_schema_records(store: Any, records: Sequence[dict], origin: Origin = CLIENT) -> Status:
    """Apply `records` in order, as changes of `origin` (the sender's); the status of the
    first one that cannot be applied."""
    for record in records:
        try:
            conflict = _apply(store, record, origin)
        except StoreClosedError as exc:
            return Status(TSStatusCode.PIPE_RECEIVER_TEMPORARY_UNAVAILABLE_EXCEPTION, str(exc))
        except (SchemaError, ValueError) as exc:
            return Status(
                TSStatusCode.PIPE_TRANSFER_EXECUTE_STATEMENT_ERROR,
                f"{record.get('op')}: {exc}",
            )
        if conflict is not None:
            return Status(TSStatusCode.PIPE_RECEIVER_USER_CONFLICT_EXCEPTION, conflict)
    return Status.ok()


def _apply(store: Any, record: dict, origin: Origin) -> str | None:
    op = record["op"]
    if op == "create_database":
        if record["name"] not in _database_names(store):
            store.create_database(record["name"], origin=origin)
        return None
    if op == "delete_database":
        if record["name"] in _database_names(store):
            store.delete_database(record["name"], origin=origin)
        return None
    path = record_series(record)
    if op == "delete_series":
        if store.series(path) is not None:
            store.delete_timeseries(path, origin=origin)
        return None
    if op == "series_meta":
        info = store.series(path)
        if info is None:
            return f"metadata of {path}: the series does not exist on the receiver"
        meta = meta_from_record(record)
        if info.meta != meta:
            store.set_series_meta(path, meta, origin=origin)
        return None
    # create_series
    aligned = bool(record["aligned"])
    existing = store.series(path)
    if existing is not None:
        if existing.data_type.name != record["type"]:
            return (
                f"timeseries {path} exists with data type {existing.data_type.name}; the "
                f"sender's is {record['type']}"
            )
        if existing.aligned != aligned:
            return f"timeseries {path} exists on a device that is {_kind(existing.aligned)}"
        return None
    device_aligned = store.device_aligned(record["device"])
    if device_aligned is not None and device_aligned != aligned:
        return f"device {record['device']} exists and is {_kind(device_aligned)}"
    props = {str(k): str(v) for k, v in record.get("props", [])} or None
    spec = (record["measurement"], record["type"], record["encoding"], record["compression"], props)
    store.create_series_groups([(record["device"], [spec], aligned, None)], origin=origin)
    return None


def _kind(aligned: bool) -> str:
    return "aligned" if aligned else "not aligned"


def _database_names(store: Any) -> set[str]:
    return {row[0] for row in store.show_databases("root.**").rows}
