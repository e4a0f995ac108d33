"""The receiver's side of IoTDB's ConfigNode plans (`protocol.config_plan`): type 200 plans
and the config snapshot (201 pieces, 202 seal) applied to the store and the node's schema
templates, idempotently, with the answers IoTDB's ConfigNode receiver gives
(``PipeConfigPhysicalPlanTSStatusVisitor``):

* CREATE DATABASE that exists: 1809 (idempotent conflict); one that overlaps another
  database: 1810 (user conflict). ALTER DATABASE: pipecore has no per-database attributes to
  change (TTL, partition interval, region groups): 200 when the database exists, else 1810.
* DELETE DATABASE that is not there: 1809.
* SET TTL: applied to the node's TTL table (`pipecore.ttl`; ``INF`` = Long.MAX_VALUE, UNSET
  = -1): 200; on a database that does not exist: 1809 (IoTDB's answer). A store without a
  TTL table (no node around it) answers 200 to INF / UNSET and 1810 to a finite TTL.
* templates: CREATE of an existing template 1809; ALTER … ADD of measurements it has 1809,
  of a template it lacks 1810; SET where it is set 1809, of an unknown template 1810, where
  another template is set 1810; UNSET where it is not set 1809, unknown or in use 1810; DROP
  of an unknown template 1809; DEACTIVATE where it is not activated 1809.
* DELETE TIMESERIES (PipeDeleteTimeSeries) of what is not there: 1809.
* plans pipecore has no counterpart for (users, roles, views, the table model, triggers):
  1810 naming the plan.

Each change is made with the sender's origin (forwarding rules as for data).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipecore import Authority, TemplateError, TemplateMeasurement, ttl_table
from pipecore.rpc import PipeTransferResponse, Status, TSStatusCode
from pipecore_storage.errors import SchemaError, StoreClosedError
from pipecore_storage.origin import CLIENT, Origin
from pipecore_storage.paths import join_path, split_path
from pipecore_storage.types import TSDataType

from .protocol import PipeProtocolError, TsFileSealV2, decode_file_seal_v2
from .protocol import config_plan as cp
from .protocol.request import prior_status
from .receiver_auth import (
    auth_snapshot_request,
    author_plan_request,
    is_auth_snapshot,
    is_author_plan,
)

__all__ = [
    "apply_config_plan",
    "apply_config_plans",
    "config_plan_request",
    "config_snapshot_seal",
    "read_snapshot_seal",
]

log = logging.getLogger("pipecore.thrift_receiver")

_IDEMPOTENT = TSStatusCode.PIPE_RECEIVER_IDEMPOTENT_CONFLICT_EXCEPTION
_CONFLICT = TSStatusCode.PIPE_RECEIVER_USER_CONFLICT_EXCEPTION
_TEMPLATE_IS_IN_USE = 515
_UNDEFINED_TEMPLATE = 512
_TEMPLATE_NOT_SET = 513
_DIFFERENT_TEMPLATE = 514
_DUPLICATED_TEMPLATE = 511
_MEASUREMENT_EXISTS = 527


def _databases(store: Any) -> set[str]:
    return {row[0] for row in store.show_databases("root.**").rows}


def apply_config_plans(
    store: Any, templates: Any, plans: Sequence[cp.ConfigPlan], origin: Origin = CLIENT
) -> Status:
    """Every plan (a snapshot's), IoTDB's prior status of their answers."""
    return prior_status([apply_config_plan(store, templates, p, origin) for p in plans])


def apply_config_plan(store: Any, templates: Any, plan: cp.ConfigPlan, origin: Origin) -> Status:
    try:
        status = _apply(store, templates, plan, origin)
    except StoreClosedError as exc:
        return Status(TSStatusCode.PIPE_RECEIVER_TEMPORARY_UNAVAILABLE_EXCEPTION, str(exc))
    except (SchemaError, ValueError) as exc:
        status = Status(
            TSStatusCode.PIPE_TRANSFER_EXECUTE_STATEMENT_ERROR,
            f"{cp.plan_name(plan.type)}: {exc}",
        )
    if not status.is_success:
        level = logging.INFO if status.code == _IDEMPOTENT else logging.WARNING
        log.log(level, "config plan %s: %s", cp.plan_name(plan.type), status)
    return status


def _apply(store: Any, templates: Any, plan: cp.ConfigPlan, origin: Origin) -> Status:
    if isinstance(plan, cp.DatabasePlan):
        return _database(store, plan, origin)
    if isinstance(plan, cp.DeleteDatabase):
        if plan.name not in _databases(store):
            return Status(_IDEMPOTENT, f"Path [{plan.name}] does not exist")
        store.delete_database(plan.name, origin=origin)
        return Status.ok()
    if isinstance(plan, cp.SetTTL):
        return _ttl(store, plan, origin)
    if isinstance(plan, cp.DeleteTimeSeries):
        return _delete_series(store, plan, origin)
    if isinstance(plan, cp.UnknownPlan):
        return Status(
            _CONFLICT,
            f"{cp.plan_name(plan.type)} (config plan type {plan.type}) is not applied by "
            "pipecore (no views, table model or triggers are replicated into it)",
        )
    if templates is None:
        return Status(_CONFLICT, "this receiver keeps no schema templates")
    return _template(store, templates, plan, origin)


def _database(store: Any, plan: cp.DatabasePlan, origin: Origin) -> Status:
    name = plan.name
    if plan.schema.is_table_model:
        return Status(_CONFLICT, f"database {name} is a table-model database (not in pipecore)")
    existing = _databases(store)
    if plan.type == cp.ALTER_DATABASE:
        if name not in existing:
            return Status(_CONFLICT, f"Database {name} does not exist")
        return Status.ok()  # TTL, partition interval, region groups: none kept per database
    if name in existing:
        return Status(_IDEMPOTENT, f"{name} has already been created as database")
    try:
        store.create_database(name, origin=origin)
    except SchemaError as exc:  # a prefix or a child of an existing database
        return Status(_CONFLICT, str(exc))
    return Status.ok()


def _ttl(store: Any, plan: cp.SetTTL, origin: Origin) -> Status:
    table = ttl_table(store)
    if table is None and plan.ttl in (cp.TTL_INFINITE, cp.TTL_UNSET):
        return Status.ok()  # a store without TTL keeps every point: what the plan asks holds
    path = plan.path
    nodes = plan.nodes[:-1] if plan.nodes and plan.nodes[-1] == "**" else plan.nodes
    if "*" not in "".join(nodes):
        database = ".".join(nodes)
        known = _databases(store)
        if not any(database == db or database.startswith(db + ".") for db in known):
            return Status(_IDEMPOTENT, f"Database {database} does not exist")
    if table is None:
        return Status(
            _CONFLICT, f"TTL {plan.ttl} ms on {path} is not applied: this receiver keeps no TTL"
        )
    if plan.ttl == cp.TTL_UNSET:
        table.unset(path, database=plan.is_database, origin=origin)
    else:
        table.set(path, plan.ttl, database=plan.is_database, origin=origin)
    return Status.ok()


def _delete_series(store: Any, plan: cp.DeleteTimeSeries, origin: Origin) -> Status:
    deleted = 0
    for pattern in plan.patterns:
        try:
            deleted += len(store.delete_timeseries(pattern, origin=origin))
        except SchemaError:
            continue  # nothing matches this pattern
    if not deleted:
        return Status(_IDEMPOTENT, f"Timeseries [{', '.join(plan.patterns)}] does not exist")
    return Status.ok()


def _measurements(template: cp.TemplateDef) -> list[Any]:
    return [TemplateMeasurement(*m) for m in template.measurements]


def _template(store: Any, templates: Any, plan: cp.ConfigPlan, origin: Origin) -> Status:
    try:
        if isinstance(plan, cp.CreateTemplate):
            t = plan.template
            if t.name in templates.templates:
                return Status(_IDEMPOTENT, f"Duplicated template name: {t.name}")
            templates.create(t.name, _measurements(t), t.aligned, origin=origin)
        elif isinstance(plan, cp.ExtendTemplate):
            current = templates.get(plan.name)
            new = [m for m in plan.measurements if m[0] not in current.measurements]
            if not new:
                return Status(_IDEMPOTENT, f"Measurements already exist in template {plan.name}")
            added = [
                TemplateMeasurement(
                    n, dt, enc or store.config.default_encoding(TSDataType[dt]).name, comp or "LZ4"
                )
                for n, dt, enc, comp in new
            ]
            templates.append(plan.name, added, store, origin=origin)
        elif isinstance(plan, cp.CommitSetTemplate):
            if plan.rollback:
                return Status.ok()
            templates.set(plan.name, plan.path, store, origin=origin)
        elif isinstance(plan, cp.UnsetTemplate):
            templates.unset(plan.name, plan.path, origin=origin)
        elif isinstance(plan, cp.DropTemplate):
            templates.drop(plan.name, origin=origin)
        elif isinstance(plan, cp.DeactivateTemplate):
            done = 0
            for path, names in plan.entries:
                for name in names or (None,):
                    try:
                        done += len(templates.deactivate(path, store, name, origin=origin))
                    except TemplateError as exc:
                        if exc.code not in (_TEMPLATE_NOT_SET, _UNDEFINED_TEMPLATE):
                            raise
            if not done:
                return Status(_IDEMPOTENT, "Template is not activated on the given paths")
        else:  # pragma: no cover - every plan type is handled above
            raise ValueError(f"unexpected plan {plan!r}")
    except TemplateError as exc:
        return _template_status(plan, exc)
    return Status.ok()


def _template_status(plan: cp.ConfigPlan, exc: Any) -> Status:
    code, message = exc.code, str(exc)
    idempotent = {
        cp.COMMIT_SET_SCHEMA_TEMPLATE: {_DUPLICATED_TEMPLATE},
        cp.PIPE_UNSET_TEMPLATE: {_TEMPLATE_NOT_SET},
        cp.DROP_SCHEMA_TEMPLATE: {_UNDEFINED_TEMPLATE},
        cp.EXTEND_SCHEMA_TEMPLATE: {_MEASUREMENT_EXISTS},
    }.get(plan.type, set())
    if code in idempotent:
        return Status(_IDEMPOTENT, message)
    conflicts = {_UNDEFINED_TEMPLATE, _TEMPLATE_IS_IN_USE, _DIFFERENT_TEMPLATE, _TEMPLATE_NOT_SET}
    if code in conflicts or plan.type == cp.EXTEND_SCHEMA_TEMPLATE:
        return Status(_CONFLICT, message)
    return Status(code, message)


# ---------------------------------------------------------------- snapshot seal
def read_snapshot_seal(files: Any, seal: TsFileSealV2) -> list[bytes]:
    """Check a type-202 seal against the pieces received (every file there with its length)
    and return the files' bytes in the seal's order. Raises PipeProtocolError."""
    folder: Path = files.folder
    out = []
    for name, length in zip(seal.file_names, seal.file_lengths, strict=True):
        if name == (files.writing.name if files.writing is not None else None):
            files._close_writer(fsync=False)
            files.writing = None
        path = (folder / name).resolve()
        if path.parent != folder.resolve() or not path.exists():
            raise PipeProtocolError(f"snapshot file {name} was not received", "fileNames")
        data = path.read_bytes()
        if len(data) != length:
            raise PipeProtocolError(
                f"snapshot file {name} has {len(data)} bytes, the seal says {length}",
                "fileLengths",
            )
        out.append(data)
    return out


def seal_plans(seal: TsFileSealV2, data: Sequence[bytes]) -> list[cp.ConfigPlan]:
    """The plans of a sealed config snapshot, as IoTDB's receiver picks them (its ``fileType``,
    ``Type`` and ``PathPattern`` parameters)."""
    params = seal.params_dict
    try:
        file_type = int(params.get("fileType") or "")
    except ValueError:
        raise PipeProtocolError("config snapshot seal without a fileType", "fileType") from None
    raw = (params.get("Type") or "").strip()
    try:
        types = [int(t) for t in raw.split(",") if t.strip()]
    except ValueError:
        raise PipeProtocolError(f"illegal plan types {raw!r}", "Type") from None
    pattern = params.get("PathPattern") or "root.**"
    return cp.snapshot_plans(file_type, data, types, _normal_pattern(pattern))


def _normal_pattern(pattern: str) -> str:
    """IoTDB's pattern text as pipecore parses it (`root` alone means ``root.**``)."""
    try:
        nodes = split_path(pattern, allow_wildcards=True)
    except ValueError:
        return pattern
    return "root.**" if nodes == ["root"] else join_path(nodes) if "*" not in pattern else pattern


# ---------------------------------------------------------------- receiver handlers
def _authorize(receiver: Any, plans: Sequence[cp.ConfigPlan]) -> Status | None:
    """IoTDB's ConfigNode checks: MANAGE_DATABASE for databases, WRITE_SCHEMA on the paths of
    TTL and series deletions, the admin (root) for templates; 803 otherwise."""
    users, user = receiver.settings.users, receiver.username
    if users is None or user is None or user == "root":
        return None
    authority = Authority(users)
    for plan in plans:
        if isinstance(plan, cp.DatabasePlan | cp.DeleteDatabase):
            refused = authority.check(user, "MANAGE_DATABASE")
        elif isinstance(plan, cp.SetTTL):
            refused = authority.check(user, "WRITE_SCHEMA", [plan.path])
        elif isinstance(plan, cp.DeleteTimeSeries):
            refused = authority.check(user, "WRITE_SCHEMA", list(plan.patterns))
        elif isinstance(plan, cp.UnknownPlan):
            refused = None
        else:
            refused = Status(
                TSStatusCode.NO_PERMISSION, "Only the admin user can perform this operation"
            )
        if refused is not None:
            return refused
    return None


def config_plan_request(receiver: Any, body: bytes) -> PipeTransferResponse:
    """Type 200: one ConfigNode plan (an author plan: `receiver_auth`)."""
    if is_author_plan(body):
        return author_plan_request(receiver, body)
    plan = cp.decode_config_plan(body)
    refused = _authorize(receiver, [plan])
    if refused is not None:
        return PipeTransferResponse(refused)
    s = receiver.settings
    status = apply_config_plan(s.store, s.templates, plan, receiver.origin)
    if status.is_success and isinstance(plan, cp.DatabasePlan | cp.DeleteDatabase):
        receiver._record(databases={plan.name})
    return PipeTransferResponse(status)


def config_snapshot_seal(receiver: Any, body: bytes) -> PipeTransferResponse:
    """Type 202: the pieces received (201) make the config region's snapshot files; their
    plans are applied in IoTDB's order and answered with their prior status."""
    files = receiver.files
    try:
        seal = decode_file_seal_v2(body)
        try:
            data = read_snapshot_seal(files, seal)
        except PipeProtocolError as exc:
            return PipeTransferResponse(
                Status(TSStatusCode.PIPE_TRANSFER_FILE_ERROR, f"Failed to seal: {exc}")
            )
        if is_auth_snapshot(seal):  # users and roles (IoTDB's auth history)
            return auth_snapshot_request(receiver, seal, data)
        plans = seal_plans(seal, data)
    finally:
        files.clear()
    refused = _authorize(receiver, plans)
    if refused is not None:
        return PipeTransferResponse(refused)
    s = receiver.settings
    status = apply_config_plans(s.store, s.templates, plans, receiver.origin)
    log.info(
        "receiver %s: config snapshot %s: %d plan(s), %s",
        receiver.receiver_id,
        list(seal.file_names),
        len(plans),
        TSStatusCode.name_of(status.code),
    )
    receiver._record(databases={p.name for p in plans if isinstance(p, cp.DatabasePlan)})
    return PipeTransferResponse(status)
