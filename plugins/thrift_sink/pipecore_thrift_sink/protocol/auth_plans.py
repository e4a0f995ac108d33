"""pipecore's auth records (`pipecore.auth_records`) as IoTDB 2.0.1's author plans, for a real
IoTDB receiver (``TRANSFER_CONFIG_PLAN``, type 200, after the config handshake) — what IoTDB's
own config-region source sends.

An author plan (``AuthorPlan.serializeImpl``, IoTDB 2.0.1)::

    i16 plan type, string userName, string roleName, string password, string newPassword,
    byte 0 (no permissions, null) | byte 1, i32 n, n × i32 PrivilegeType ordinal (pipecore
    always sends byte 1, with n = 0 when the plan has none),
    i32 path count, path count × string path, i32 grantOpt (0/1)

(strings: i32 byte length, -1 for null, then the bytes.) The plan types
(``ConfigPhysicalPlanType``): CreateRole 622, DropUser 623, DropRole 624, GrantRole 625,
GrantUser 626, GrantRoleToUser 627, RevokeUser 628, RevokeRole 629, RevokeRoleFromUser 630,
CreateUserWithRawPassword 638 (its password is stored as given: the receiver does not hash it).

* ``create_user`` → CreateUserWithRawPassword carrying pipecore's stored hash: the user exists
  on IoTDB with its roles and privileges, but cannot log in there with its password (IoTDB
  checks its own digest of the password, which pipecore's salted PBKDF2 hash is not);
* ``alter_user`` is left out with a warning (IoTDB's UpdateUser hashes the new password it
  gets, and pipecore has only a hash);
* a grant or revoke goes as one plan for its path privileges (with the paths) and one for
  its global privileges (without paths), with IoTDB 2.0.1's PrivilegeType ordinals, which
  differ from pipecore's order (USE_MODEL is the 11th there).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

from .io import BodyWriter
from .request import PipeRequestType

__all__ = ["AUTH_PLAN_TYPES", "IOTDB_PRIVILEGES", "auth_requests", "encode_author_plan"]

log = logging.getLogger("pipecore.thrift_sink")

_CONFIG = int(PipeRequestType.TRANSFER_CONFIG_PLAN)

#: IoTDB 2.0.1's PrivilegeType, in its order (the ordinal is what a plan carries)
IOTDB_PRIVILEGES = (
    "READ_DATA",
    "WRITE_DATA",
    "READ_SCHEMA",
    "WRITE_SCHEMA",
    "MANAGE_USER",
    "MANAGE_ROLE",
    "USE_TRIGGER",
    "USE_UDF",
    "USE_CQ",
    "USE_PIPE",
    "USE_MODEL",
    "EXTEND_TEMPLATE",
    "MANAGE_DATABASE",
    "MAINTAIN",
)
_PATH_PRIVILEGES = frozenset(IOTDB_PRIVILEGES[:4])
AUTH_PLAN_TYPES = {
    "CreateRole": 622,
    "DropUser": 623,
    "DropRole": 624,
    "GrantRole": 625,
    "GrantUser": 626,
    "GrantRoleToUser": 627,
    "RevokeUser": 628,
    "RevokeRole": 629,
    "RevokeRoleFromUser": 630,
    "CreateUserWithRawPassword": 638,
}


def encode_author_plan(
    plan: str,
    *,
    user: str = "",
    role: str = "",
    password: str = "",
    privileges: Sequence[str] = (),
    paths: Sequence[str] = (),
    grant_option: bool = False,
) -> bytes:
    """The type-200 body of one author plan (see the module's text)."""
    w = BodyWriter()
    w.i16(AUTH_PLAN_TYPES[plan])
    w.string(user)
    w.string(role)
    w.string(password)
    w.string("")  # newPassword
    # always a set, empty when the plan has none: IoTDB 2.0.1's GrantRoleToUser iterates it
    # (a null set is answered 305 "priSet is null")
    w.raw(b"\x01")
    w.i32(len(privileges))
    for privilege in privileges:
        w.i32(IOTDB_PRIVILEGES.index(privilege))
    w.i32(len(paths))
    for path in paths:
        w.string(path)
    w.i32(1 if grant_option else 0)
    return w.getvalue()


def _privilege_plans(record: dict) -> Iterator[tuple[int, bytes, int]]:
    grant = record["op"] == "grant"
    kind = record["kind"]
    plan = ("Grant" if grant else "Revoke") + ("User" if kind == "USER" else "Role")
    who = {"user": record["name"]} if kind == "USER" else {"role": record["name"]}
    known = [p for p in record["privileges"] if p in IOTDB_PRIVILEGES]
    path_privileges = [p for p in known if p in _PATH_PRIVILEGES]
    global_privileges = [p for p in known if p not in _PATH_PRIVILEGES]
    option = bool(record.get("grant_option")) and grant
    parts = [(path_privileges, list(record["paths"])), (global_privileges, [])]
    sent = [(p, paths) for p, paths in parts if p and (paths or p is global_privileges)]
    for i, (privileges, paths) in enumerate(sent):
        body = encode_author_plan(
            plan, **who, privileges=privileges, paths=paths, grant_option=option
        )
        yield _CONFIG, body, 1 if i == len(sent) - 1 else 0


def auth_requests(record: dict) -> Iterator[tuple[int, bytes, int]]:
    """(request type, body, records carried) for one auth record to a real IoTDB."""
    op = record["op"]
    if op == "create_user":
        body = encode_author_plan(
            "CreateUserWithRawPassword", user=record["name"], password=record["hash"]
        )
        yield _CONFIG, body, 1
    elif op == "drop_user":
        yield _CONFIG, encode_author_plan("DropUser", user=record["name"]), 1
    elif op == "create_role":
        yield _CONFIG, encode_author_plan("CreateRole", role=record["name"]), 1
    elif op == "drop_role":
        yield _CONFIG, encode_author_plan("DropRole", role=record["name"]), 1
    elif op in ("grant_role", "revoke_role"):
        plan = "GrantRoleToUser" if op == "grant_role" else "RevokeRoleFromUser"
        yield _CONFIG, encode_author_plan(plan, user=record["user"], role=record["role"]), 1
    elif op in ("grant", "revoke"):
        yield from _privilege_plans(record)
    else:  # alter_user: IoTDB would hash the hash
        log.warning(
            "a real IoTDB receiver: %s %s not sent (IoTDB's UpdateUser takes a password, "
            "pipecore keeps only its hash)",
            op,
            record.get("name"),
        )
