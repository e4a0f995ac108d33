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

* ``create_user`` → CreateUserWithRawPassword carrying IoTDB's stored form of the password
  (the record's ``iotdb``, `pipecore.iotdb_password`: the string IoTDB 2.0.1 itself stores
  and checks a login against), so the user logs in on IoTDB with its password. A user whose
  record has no such form (set before pipecore kept it, or with ``iotdb_password_digest``
  off) goes with pipecore's stored hash (as ``pbkdf2-sha256$<salt>$<hash>``, which a pipecore
  receiver reads back): it exists on IoTDB with its roles and privileges but cannot log in
  there with its password;
* ``alter_user`` with IoTDB's form → DropUser, CreateUserWithRawPassword with the new form,
  then the user's privileges and roles again (the record's ``grants``): IoTDB 2.0.1 has no
  plan that sets a stored form on an existing user (its UpdateUser hashes the password it
  gets, and IoTDB's own sender sends it the password in clear, which pipecore never keeps);
  for that moment the user does not exist on IoTDB. Without the form it is left out with a
  warning, as before;
* a grant or revoke goes as one plan for its path privileges (with the paths) and one for
  its global privileges (without paths), with IoTDB 2.0.1's PrivilegeType ordinals, which
  differ from pipecore's order (USE_MODEL is the 11th there).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

from .io import BodyReader, BodyWriter
from .request import PipeRequestType

__all__ = [
    "AUTHOR_PLAN_TYPES",
    "AUTH_PLAN_TYPES",
    "IOTDB_PRIVILEGES",
    "auth_requests",
    "decode_author_plan",
    "encode_author_plan",
]

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


def _recreate_user(record: dict) -> Iterator[tuple[int, bytes, int]]:
    """A password change as IoTDB 2.0.1 can take one with the stored form: the user dropped,
    created again with its new form, and given back its privileges and roles."""
    name = record["name"]
    bodies = [
        encode_author_plan("DropUser", user=name),
        encode_author_plan("CreateUserWithRawPassword", user=name, password=record["iotdb"]),
    ]
    for grant in record.get("grants", ()):
        if grant["op"] == "grant_role":
            bodies.append(
                encode_author_plan("GrantRoleToUser", user=grant["user"], role=grant["role"])
            )
        elif grant["op"] == "grant":
            bodies += [body for _, body, _ in _privilege_plans(grant)]
    for i, body in enumerate(bodies):
        yield _CONFIG, body, 1 if i == len(bodies) - 1 else 0


def auth_requests(record: dict) -> Iterator[tuple[int, bytes, int]]:
    """(request type, body, records carried) for one auth record to a real IoTDB."""
    op = record["op"]
    if op == "alter_user" and record.get("iotdb"):
        yield from _recreate_user(record)
    elif op == "create_user":
        body = encode_author_plan(
            "CreateUserWithRawPassword", user=record["name"], password=_raw_password(record)
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
    else:  # alter_user without IoTDB's form: IoTDB would hash the hash
        log.warning(
            "a real IoTDB receiver: %s %s not sent (IoTDB's UpdateUser takes a password, "
            "pipecore keeps only its hash: the password was set before pipecore kept "
            "IoTDB's form, or with iotdb_password_digest off)",
            op,
            record.get("name"),
        )


# ---------------------------------------------------------------- a receiver's side
#: pipecore's hash in CreateUserWithRawPassword's password: ``pbkdf2-sha256$<salt>$<hash>``,
#: so that a pipecore receiver (over the air gap, where the sink speaks IoTDB's layout) keeps
#: the salt; to IoTDB it is an opaque stored digest
RAW_HASH_PREFIX = "pbkdf2-sha256$"
_TYPE_NAMES = {v: k for k, v in AUTH_PLAN_TYPES.items()}
CREATE_USER = 621  # IoTDB's CreateUser: the password in clear (hashed by the receiver)
UPDATE_USER = 631  # IoTDB's UpdateUser: the new password in clear
AUTHOR_PLAN_TYPES = frozenset({*AUTH_PLAN_TYPES.values(), CREATE_USER, UPDATE_USER})


def _raw_password(record: dict) -> str:
    """IoTDB's stored form when the record has it, else pipecore's hash (see the module)."""
    if record.get("iotdb"):
        return str(record["iotdb"])
    return f"{RAW_HASH_PREFIX}{record['salt']}${record['hash']}"


def decode_author_plan(body: bytes) -> tuple[dict, str | None]:
    """An IoTDB 2.0.1 author plan as (auth record, password in clear or None); the record of
    a CreateUser / UpdateUser in clear has no salt or hash (the receiver hashes the
    password). PipeProtocolError for a malformed body or another plan type."""
    r = BodyReader(body)
    plan_type = r.i16("plan type")
    if plan_type not in AUTHOR_PLAN_TYPES:
        raise r.error("plan type", f"{plan_type} is not an author plan")
    user = r.string("userName") or ""
    role = r.string("roleName") or ""
    password = r.string("password")
    new_password = r.string("newPassword")
    privileges: list[str] = []
    if r.byte("permissions present"):
        for i in range(r.count("permissions", 4)):
            ordinal = r.i32(f"permissions[{i}]")
            if not 0 <= ordinal < len(IOTDB_PRIVILEGES):
                raise r.error(f"permissions[{i}]", f"unknown PrivilegeType ordinal {ordinal}")
            privileges.append(IOTDB_PRIVILEGES[ordinal])
    paths = [r.required_string(f"paths[{i}]") for i in range(r.count("paths", 4))]
    grant_option = r.i32("grantOpt") > 0 if r.remaining >= 4 else False
    if plan_type == CREATE_USER:
        return {"op": "create_user", "name": user, "salt": "", "hash": ""}, password or ""
    if plan_type == UPDATE_USER:
        return {"op": "alter_user", "name": user, "salt": "", "hash": ""}, new_password or ""
    name = _TYPE_NAMES[plan_type]
    if name == "CreateUserWithRawPassword":
        raw = password or ""
        if raw.startswith(RAW_HASH_PREFIX):
            salt, _, digest = raw[len(RAW_HASH_PREFIX) :].partition("$")
            return {"op": "create_user", "name": user, "salt": salt, "hash": digest}, None
        # IoTDB's stored form (from pipecore or from IoTDB): a login is checked against it
        return {"op": "create_user", "name": user, "salt": "", "hash": "", "iotdb": raw}, None
    simple = {
        "DropUser": {"op": "drop_user", "name": user},
        "CreateRole": {"op": "create_role", "name": role},
        "DropRole": {"op": "drop_role", "name": role},
        "GrantRoleToUser": {"op": "grant_role", "role": role, "user": user},
        "RevokeRoleFromUser": {"op": "revoke_role", "role": role, "user": user},
    }
    if name in simple:
        return simple[name], None
    op = "grant" if name.startswith("Grant") else "revoke"
    kind = "USER" if name.endswith("User") else "ROLE"
    record: dict[str, object] = {
        "op": op,
        "kind": kind,
        "name": user if kind == "USER" else role,
        "privileges": privileges,
        "paths": paths,
    }
    if op == "grant":
        record["grant_option"] = grant_option
    return record, None
