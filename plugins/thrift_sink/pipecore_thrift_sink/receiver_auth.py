"""The receiver's side of users, roles and privileges in pipecore's schema request (29002):
the records of `pipecore.auth_records` applied to the node's users file, idempotently.

What is already as the record says is fine (200), as IoTDB's ConfigNode receiver answers a
pipe's author plans: a user or role that exists, a role the user has, a privilege it no longer
holds, a user or role already dropped. A record that cannot apply here (a grant to a user or
role this node lacks, a role granted to an unknown user) is IoTDB's user conflict, 1810, with
the reason, which the sender's conflict rules (``sink.exception.conflict.*``) retry, ignore or
record. ``root`` never changes: its password and privileges do not travel.

Authorization, as IoTDB 2.0.1's ConfigNode receiver checks the handshake's user
(``IoTDBConfigNodeReceiver.checkPermission``): creating or dropping a user needs MANAGE_USER,
changing a password MANAGE_USER unless it is the user's own; creating or dropping a role and
granting or revoking one to a user need MANAGE_ROLE; granting or revoking privileges needs
each of them WITH GRANT OPTION (on the paths, for a path privilege); else 803 NO_PERMISSION and
nothing of the request is applied. root may do everything. Passwords travel as the sender's
stored salt and PBKDF2 hash (and IoTDB's stored form, `pipecore.iotdb_password`, when the
sender keeps it), never in clear from pipecore, and are never logged. A real IoTDB's clear
CreateUser / UpdateUser are hashed here; its auth history (the user and role files of its
config snapshot, `protocol.auth_snapshot`) is applied as records like the realtime plans.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from pipecore import AUTH_OPS, Authority, AuthorityError, PublishingAuthority, apply_auth_record
from pipecore.rpc import PipeTransferResponse, Status, TSStatusCode
from pipecore_storage.origin import Origin

from .protocol.auth_plans import AUTHOR_PLAN_TYPES, decode_author_plan
from .protocol.auth_snapshot import AUTH_SNAPSHOT_TYPES, auth_snapshot_records

__all__ = [
    "AUTH_OPS",
    "apply_with_auth",
    "auth_snapshot_request",
    "author_plan_request",
    "authorize_auth",
    "is_auth_snapshot",
    "is_author_plan",
]

log = logging.getLogger(__name__)

_CONFLICT = TSStatusCode.PIPE_RECEIVER_USER_CONFLICT_EXCEPTION
_PROMPT = "No permissions for this operation, please add privilege "
_GLOBAL = frozenset(
    ("MANAGE_USER", "MANAGE_ROLE", "USE_TRIGGER", "USE_UDF", "USE_CQ", "USE_PIPE",
     "EXTEND_TEMPLATE", "MANAGE_DATABASE", "MAINTAIN", "USE_MODEL")
)  # fmt: skip
_SENT_AS_CONFLICT = (
    int(TSStatusCode.USER_NOT_EXIST),
    807,  # USER_NOT_HAS_ROLE
    808,  # ROLE_NOT_EXIST
    805,  # USER_ALREADY_EXIST
    809,  # ROLE_ALREADY_EXIST
    811,  # NOT_HAS_PRIVILEGE
    814,  # UNSUPPORTED_AUTH_OPERATION
)


_NEEDS = {
    "create_user": "MANAGE_USER",
    "drop_user": "MANAGE_USER",
    "alter_user": "MANAGE_USER",
    "create_role": "MANAGE_ROLE",
    "drop_role": "MANAGE_ROLE",
    "grant_role": "MANAGE_ROLE",
    "revoke_role": "MANAGE_ROLE",
}


def authorize_auth(receiver: Any, records: Sequence[dict]) -> PipeTransferResponse | None:
    """803 NO_PERMISSION for the first auth record the handshake's user may not apply (see
    the module's text); None when it may apply them all."""
    users, user = receiver.settings.users, receiver.username
    if users is None or user is None or user == "root":
        return None
    authority = Authority(users)
    for record in records:
        refused = _refused(authority, user, record)
        if refused is not None:
            log.warning("receiver: %s may not %s: %s", user, record["op"], refused)
            return PipeTransferResponse(Status(TSStatusCode.NO_PERMISSION, refused))
    return None


def _refused(authority: Authority, user: str, record: dict) -> str | None:
    op = record.get("op")
    if op not in AUTH_OPS:
        return None
    if op == "alter_user" and record.get("name") == user:
        return None  # one's own password
    needed = _NEEDS.get(op)
    if needed is not None:
        return None if authority.has_global(user, needed) else f"{_PROMPT}{needed}"
    for privilege in record.get("privileges", ()):
        if privilege in _GLOBAL:
            held = authority.has_global(user, privilege, grant_option=True)
        else:
            held = not authority.uncovered(user, privilege, record["paths"], grant_option=True)
        if not held:
            return f"{_PROMPT}{privilege} with grant option"
    return None


def apply_with_auth(
    store: Any,
    users: Any,
    records: Sequence[dict],
    origin: Origin,
    apply_others: Callable[[Sequence[dict]], Status],
) -> Status:
    """Apply `records` in order: auth records to `users` (the node's users file), runs of
    the others through `apply_others`; the status of the first that cannot be applied."""
    authority = PublishingAuthority(users, store, origin) if users is not None else None
    run: list[dict] = []
    for record in records:
        if record["op"] not in AUTH_OPS:
            run.append(record)
            continue
        if run:
            status = apply_others(run)
            if not status.is_success:
                return status
            run = []
        status = _apply(authority, record)
        if not status.is_success:
            return status
    return apply_others(run) if run else Status.ok()


def _apply(authority: PublishingAuthority | None, record: dict) -> Status:
    op = record["op"]
    who = record.get("name") or f"{record.get('role')} of {record.get('user')}"
    if authority is None:
        return Status(_CONFLICT, f"{op} {who}: this receiver keeps no users")
    status = apply_auth_record(authority, record)
    if status.is_success:
        return status
    log.warning("receiver: %s %s refused: %s", op, who, status.message)
    if int(status.code) in _SENT_AS_CONFLICT:
        return Status(_CONFLICT, f"{op} {who}: {status.message}")
    return status


def is_author_plan(body: bytes) -> bool:
    """Whether a type-200 body is one of IoTDB's author plans (`protocol.auth_plans`)."""
    return len(body) >= 2 and int.from_bytes(body[:2], "big", signed=True) in AUTHOR_PLAN_TYPES


def author_plan_request(receiver: Any, body: bytes) -> PipeTransferResponse:
    """Type 200 with an IoTDB author plan (a real IoTDB's config-region source, or a pipecore
    sink speaking IoTDB's layout over the air gap): checked and applied as its auth record.
    A CreateUser / UpdateUser with the password in clear is hashed here."""
    record, password = decode_author_plan(body)
    refused = authorize_auth(receiver, [record])
    if refused is not None:
        return refused
    s = receiver.settings
    if password is None:
        return PipeTransferResponse(
            apply_with_auth(s.store, s.users, [record], receiver.origin, lambda run: Status.ok())
        )
    if s.users is None:
        return PipeTransferResponse(
            Status(_CONFLICT, f"{record['op']}: this receiver keeps no users")
        )
    authority = PublishingAuthority(s.users, s.store, receiver.origin)
    try:
        if record["op"] == "create_user":
            authority.create_user(record["name"], password)
        elif record["name"] != "root":
            authority.alter_password(record["name"], password)
    except AuthorityError as exc:
        if record["op"] == "create_user" and exc.code == 805:  # USER_ALREADY_EXIST: so it is
            return PipeTransferResponse(Status.ok())
        return PipeTransferResponse(Status(_CONFLICT, f"{record['op']} {record['name']}: {exc}"))
    return PipeTransferResponse(Status.ok())


def is_auth_snapshot(seal: Any) -> bool:
    """Whether a config snapshot seal (202) carries a user, role or user-role file."""
    raw = str(seal.params_dict.get("fileType") or "").strip()
    return raw.isdigit() and int(raw) in AUTH_SNAPSHOT_TYPES


def auth_snapshot_request(receiver: Any, seal: Any, files: Sequence[bytes]) -> PipeTransferResponse:
    """Type 202 with one file of IoTDB's auth history (`protocol.auth_snapshot`): its records
    of the plan types the seal's ``Type`` names, checked and applied like the realtime ones."""
    file_type = int(str(seal.params_dict.get("fileType")).strip())
    raw = str(seal.params_dict.get("Type") or "")
    try:
        wanted = {int(t) for t in raw.split(",") if t.strip()}
    except ValueError:
        return PipeTransferResponse(
            Status(TSStatusCode.PIPE_TRANSFER_FILE_ERROR, f"illegal plan types {raw!r}")
        )
    records = [
        record
        for name, data in zip(seal.file_names, files, strict=True)
        for plan_type, record in auth_snapshot_records(file_type, name, data)
        if plan_type in wanted
    ]
    refused = authorize_auth(receiver, records)
    if refused is not None:
        return refused
    s = receiver.settings
    status = apply_with_auth(s.store, s.users, records, receiver.origin, lambda run: Status.ok())
    log.info(
        "receiver %s: auth snapshot %s: %d record(s), %s",
        receiver.receiver_id,
        list(seal.file_names),
        len(records),
        TSStatusCode.name_of(status.code),
    )
    return PipeTransferResponse(status)
