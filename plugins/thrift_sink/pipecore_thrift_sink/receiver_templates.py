"""The receiver's side of schema templates in pipecore's schema request (29002) and of an
activation in IoTDB's schema-region layout (type 100): the records of
`pipecore.schema_templates` applied to the node's `SchemaTemplates`, idempotently.

What is already as the record says is fine (200: a snapshot sent again, a change that came
both in the snapshot and in realtime): a template that exists with the same measurements,
one set where it is set, a device that uses it, what is not there to drop, unset, prune or
deactivate. What contradicts this node's templates is IoTDB's user conflict, 1810
(``PIPE_RECEIVER_USER_CONFLICT_EXCEPTION``), naming the template — a template of the same
name with other measurements, another template set on or above or below the path, an unknown
template to set, extend or activate, a template still in use to unset, prune or drop — which
the sender's conflict rules (``sink.exception.conflict.*``) retry, ignore or record.

Authorization (IoTDB's ConfigNode receiver): creating, setting and unsetting a template is the
admin's (root) alone; extending, pruning and dropping too here (pipecore has no
EXTEND_TEMPLATE privilege); activation and deactivation need WRITE_SCHEMA on the device.
"""

from __future__ import annotations

from typing import Any

from pipecore import Authority, TemplateError, TemplateMeasurement
from pipecore.rpc import PipeTransferResponse, Status, TSStatusCode
from pipecore_storage.origin import Origin

from .protocol.template_plans import TEMPLATE_RECORD_OPS as TEMPLATE_OPS

__all__ = ["TEMPLATE_OPS", "apply_template_record", "authorize_templates"]

_ADMIN_OPS = TEMPLATE_OPS - {"activate_template", "deactivate_template"}
_CONFLICT = TSStatusCode.PIPE_RECEIVER_USER_CONFLICT_EXCEPTION
_TEMPLATE_NOT_SET = 513
_UNDEFINED_TEMPLATE = 512


def authorize_templates(receiver: Any, records: Any) -> PipeTransferResponse | None:
    """803 NO_PERMISSION for a template record the receiver's user may not apply (see the
    module's text); None when it may apply them all."""
    users, user = receiver.settings.users, receiver.username
    if users is None or user is None or user == "root":
        return None
    for record in records:
        op = record.get("op")
        if op in _ADMIN_OPS:
            return PipeTransferResponse(
                Status(TSStatusCode.NO_PERMISSION, "Only the admin user can perform this operation")
            )
        if op in TEMPLATE_OPS:
            refused = Authority(users).check(user, "WRITE_SCHEMA", [f"{record['device']}.**"])
            if refused is not None:
                return PipeTransferResponse(refused)
    return None


def _measurements(rows: Any) -> list[TemplateMeasurement]:
    return [TemplateMeasurement(*row) for row in rows]


def _conflict(message: str) -> Status:
    return Status(_CONFLICT, message)


def apply_template_record(store: Any, templates: Any, record: dict, origin: Origin) -> Status:
    """Apply one template record as a change of `origin`; 200, or 1810 with the reason."""
    if templates is None:
        return _conflict(f"{record['op']}: this receiver keeps no schema templates")
    try:
        return _apply(store, templates, record, origin) or Status.ok()
    except TemplateError as exc:
        return _conflict(f"{record['op']} {record.get('name') or record.get('device')}: {exc}")


def _apply(store: Any, templates: Any, record: dict, origin: Origin) -> Status | None:
    op = record["op"]
    name = record.get("name")
    if op == "create_template":
        wanted = _measurements(record["measurements"])
        existing = templates.templates.get(name)
        if existing is None:
            templates.create(name, wanted, bool(record["aligned"]), origin=origin)
            return None
        if existing.aligned != bool(record["aligned"]) or sorted(
            existing.measurements.values(), key=lambda m: m.name
        ) != sorted(wanted, key=lambda m: m.name):
            return _conflict(
                f"template {name} exists here with other measurements or alignment "
                f"({sorted(existing.measurements)}; the sender's: {sorted(m.name for m in wanted)})"
            )
        return None
    if op == "extend_template":
        current = templates.get(name)
        new = [
            m for m in _measurements(record["measurements"]) if m.name not in current.measurements
        ]
        for m in _measurements(record["measurements"]):
            known = current.measurements.get(m.name)
            if known is not None and known.data_type != m.data_type:
                return _conflict(
                    f"template {name}: measurement {m.name} is {known.data_type.name} here, "
                    f"{m.data_type.name} on the sender"
                )
        if new:
            templates.append(name, new, store, origin=origin)
        return None
    if op == "prune_template":
        template = templates.templates.get(name)
        if template is not None and record["measurement"] in template.measurements:
            templates.prune(name, record["measurement"], origin=origin)
        return None
    if op == "drop_template":
        if name in templates.templates:
            templates.drop(name, origin=origin)
        return None
    if op == "set_template":
        path = record["path"]
        if templates.set_on.get(path) == name:
            return None
        templates.set(name, path, store, origin=origin)
        return None
    if op == "unset_template":
        if templates.set_on.get(record["path"]) == name:
            templates.unset(name, record["path"], origin=origin)
        return None
    if op == "activate_template":
        device = record["device"]
        found = templates.template_for(device)
        if name is not None and found is not None and found[1] != name:
            return _conflict(
                f"device {device}: template {found[1]} is set over it here; the sender uses {name}"
            )
        templates.activate(device, store, origin=origin)
        return None
    if op == "deactivate_template":
        used = (record.get("definition") or {}).get("name")
        try:
            templates.deactivate(record["device"], store, used, origin=origin)
        except TemplateError as exc:
            if exc.code not in (_TEMPLATE_NOT_SET, _UNDEFINED_TEMPLATE):
                raise
        return None
    raise ValueError(f"unknown template record {op!r}")
