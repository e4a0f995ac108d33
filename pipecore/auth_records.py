"""Users, roles and privileges as pipe records (IoTDB's ``auth`` inclusion).

A change of a node's users file (`pipecore.privileges.Authority`) made through
`PublishingAuthority` is also handed to the store's schema subscribers
(`Store.publish_schema`), in order with the data and the schema, as one of these records:

* ``create_user`` / ``alter_user`` (``name``, ``salt``, ``hash``: the stored PBKDF2 hash,
  never the password; ``iotdb``: IoTDB's stored form of the password when the node keeps it,
  `pipecore.iotdb_password`; an ``alter_user`` with ``iotdb`` also carries ``grants``, the
  ``grant`` / ``grant_role`` records of the user then, for a real IoTDB receiver, which can
  only take IoTDB's form in a new user), ``drop_user`` (``name``);
* ``create_role`` / ``drop_role`` (``name``);
* ``grant_role`` / ``revoke_role`` (``role``, ``user``);
* ``grant`` / ``revoke`` (``kind``: ``USER`` | ``ROLE``, ``name``, ``privileges``: IoTDB's
  privilege names, expanded, ``paths``: the path patterns of the path privileges,
  ``grant_option`` for ``grant``).

`auth_snapshot` is the whole users file in those records (a pipe's history). The user
``root`` never travels: neither its password nor its privileges (root holds them all).

`apply_auth_record` applies one record on a receiver idempotently, with IoTDB's answers:
what is already as the record says (a user or role that exists, a role the user has, a
privilege not held any more, a user or role already gone) is fine (200).

`AUTH_PARTS` maps each record to the leaf of IoTDB's inclusion tree it belongs to
(ConfigRegionListeningFilter: ``auth.role.create`` … ``auth.user.revoke``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pipecore_storage.origin import CLIENT, Origin
from pipecore_storage.status import Status, TSStatusCode

from .privileges import (
    GLOBAL_PRIVILEGES,
    NOT_HAS_PRIVILEGE,
    ROLE_ALREADY_EXIST,
    ROLE_NOT_EXIST,
    ROOT,
    USER_ALREADY_EXIST,
    USER_ALREADY_HAS_ROLE,
    USER_NOT_HAS_ROLE,
    Authority,
    AuthorityError,
    UserFile,
    expand,
)

__all__ = [
    "AUTH_FIELDS",
    "AUTH_OPS",
    "AUTH_PARTS",
    "USERS_KEY",
    "PublishingAuthority",
    "apply_auth_record",
    "auth_part",
    "auth_snapshot",
]

_GLOBAL = ""

#: the key of a node's users file (`pipecore.server.users.UserStore`) in its
#: `pipecore.host.NodeShared` (a source's ``auth`` snapshot reads it)
USERS_KEY = "pipecore.users"

#: IoTDB's inclusion leaves (``auth.<kind>.<action>``) of each record
AUTH_PARTS = (
    "auth.role.create",
    "auth.role.drop",
    "auth.role.grant",
    "auth.role.revoke",
    "auth.user.create",
    "auth.user.alter",
    "auth.user.drop",
    "auth.user.grant",
    "auth.user.revoke",
)
AUTH_OPS = frozenset(
    (
        "create_user",
        "alter_user",
        "drop_user",
        "create_role",
        "drop_role",
        "grant_role",
        "revoke_role",
        "grant",
        "revoke",
    )
)
#: the fields each record carries (besides ``op``)
AUTH_FIELDS: dict[str, tuple[str, ...]] = {
    "create_user": ("name", "salt", "hash"),
    "alter_user": ("name", "salt", "hash"),
    "drop_user": ("name",),
    "create_role": ("name",),
    "drop_role": ("name",),
    "grant_role": ("role", "user"),
    "revoke_role": ("role", "user"),
    "grant": ("kind", "name", "privileges", "paths"),
    "revoke": ("kind", "name", "privileges", "paths"),
}


def auth_part(record: dict) -> str:
    """The inclusion leaf of an auth record (``auth.user.grant`` …)."""
    op = record["op"]
    if op in ("grant", "revoke"):
        return f"auth.{str(record['kind']).lower()}.{op}"
    if op in ("grant_role", "revoke_role"):  # IoTDB: GrantRoleToUser is auth.user.grant
        return f"auth.user.{op.split('_')[0]}"
    action, kind = op.split("_")
    return f"auth.{kind}.{action}"


def _user_record(op: str, name: str, record: dict[str, Any]) -> dict:
    out = {"op": op, "name": name, "salt": record.get("salt", ""), "hash": record.get("hash", "")}
    if record.get("iotdb"):
        out["iotdb"] = record["iotdb"]
    return out


def _user_grants(document: dict[str, Any], user: str) -> list[dict]:
    """The ``grant`` and ``grant_role`` records giving `user` what it holds in `document`."""
    record = document.get("users", {}).get(user, {})
    roles = document.get("roles", {})
    out = _grant_records("USER", user, record.get("privileges", {}))
    for role in record.get("roles", []):
        if role in roles:
            out.append({"op": "grant_role", "role": role, "user": user})
    return out


def _grant_records(kind: str, name: str, grants: dict[str, dict[str, bool]]) -> list[dict]:
    """``grant`` records giving `name` its `grants` (path -> privilege -> grant option)."""
    out = []
    for path in sorted(grants, key=lambda p: (p != _GLOBAL, p)):
        for option in (False, True):
            privileges = sorted(p for p, o in grants[path].items() if bool(o) == option)
            if privileges:
                out.append(
                    {
                        "op": "grant",
                        "kind": kind,
                        "name": name,
                        "privileges": privileges,
                        "paths": [] if path == _GLOBAL else [path],
                        "grant_option": option,
                    }
                )
    return out


def auth_snapshot(document: dict[str, Any]) -> list[dict]:
    """The users file `document` (`UserStore.document`) as records: roles and their
    privileges, then users (not root), their privileges and roles."""
    out: list[dict] = []
    roles = document.get("roles", {})
    for role in sorted(roles):
        out.append({"op": "create_role", "name": role})
        out += _grant_records("ROLE", role, roles[role].get("privileges", {}))
    users = document.get("users", {})
    for user in sorted(users):
        if user == ROOT:
            continue
        out.append(_user_record("create_user", user, users[user]))
        out += _user_grants(document, user)
    return out


def _publish(store: Any, records: Sequence[dict], origin: Origin) -> None:
    publish = getattr(store, "publish_schema", None)
    if publish is not None and records:
        publish(list(records), origin=origin)


class PublishingAuthority(Authority):
    """An `Authority` that hands every change it makes to `store`'s schema subscribers
    (`Store.publish_schema`) as an auth record of `origin`."""

    def __init__(self, users: UserFile, store: Any, origin: Origin = CLIENT) -> None:
        super().__init__(users)
        self.store = store
        self.origin = origin

    def _published(self, *records: dict) -> None:
        _publish(self.store, records, self.origin)

    def _user_hash(self, op: str, user: str) -> None:
        document = self.users.document()
        record = _user_record(op, user, document["users"].get(user, {}))
        if op == "alter_user" and "iotdb" in record:
            record["grants"] = _user_grants(document, user)
        self._published(record)

    def create_user(self, user: str, password: str) -> None:
        super().create_user(user, password)
        self._user_hash("create_user", user)

    def alter_password(self, user: str, password: str) -> None:
        super().alter_password(user, password)
        if user != ROOT:
            self._user_hash("alter_user", user)

    def drop_user(self, user: str) -> None:
        super().drop_user(user)
        self._published({"op": "drop_user", "name": user})

    def create_role(self, role: str) -> None:
        super().create_role(role)
        self._published({"op": "create_role", "name": role})

    def drop_role(self, role: str) -> None:
        super().drop_role(role)
        self._published({"op": "drop_role", "name": role})

    def grant_role(self, role: str, user: str) -> None:
        super().grant_role(role, user)
        self._published({"op": "grant_role", "role": role, "user": user})

    def revoke_role(self, role: str, user: str) -> None:
        super().revoke_role(role, user)
        self._published({"op": "revoke_role", "role": role, "user": user})

    def grant(
        self,
        kind: str,
        name: str,
        privileges: Sequence[str],
        paths: Sequence[str],
        *,
        grant_option: bool = False,
    ) -> None:
        super().grant(kind, name, privileges, paths, grant_option=grant_option)
        self._published(_change("grant", kind, name, privileges, paths, grant_option))

    def revoke(self, kind: str, name: str, privileges: Sequence[str], paths: Sequence[str]) -> None:
        super().revoke(kind, name, privileges, paths)
        self._published(_change("revoke", kind, name, privileges, paths))

    # ------------------------------------------------------------ a receiver's side
    def set_user_hash(
        self, user: str, salt: str, digest: str, *, create: bool, iotdb: str = ""
    ) -> None:
        """Create `user` (or change its password) with the sender's stored hash (and IoTDB's
        form of the password, `iotdb`, when the sender kept it)."""

        def change(document: dict[str, Any]) -> None:
            users = document["users"]
            if create and user in users:
                raise AuthorityError(USER_ALREADY_EXIST, f"User {user} already exists")
            if not create and user not in users:
                raise AuthorityError(TSStatusCode.USER_NOT_EXIST, f"User {user} does not exist")
            record = {**users.get(user, {}), "salt": salt, "hash": digest}
            record.pop("iotdb", None)
            # kept when this node keeps IoTDB's forms, or when it is the only form sent
            if iotdb and (getattr(self.users, "iotdb_digest", True) or not digest):
                record["iotdb"] = iotdb
            users[user] = record

        self.users.update(change)
        self._user_hash("create_user" if create else "alter_user", user)


def _change(
    op: str,
    kind: str,
    name: str,
    privileges: Iterable[str],
    paths: Sequence[str],
    grant_option: bool = False,
) -> dict:
    names = expand(privileges)
    record: dict[str, Any] = {
        "op": op,
        "kind": kind,
        "name": name,
        "privileges": names,
        "paths": [] if all(p in GLOBAL_PRIVILEGES for p in names) else list(paths),
    }
    if op == "grant":
        record["grant_option"] = bool(grant_option)
    return record


#: what a receiver answers 200 to, per record: the state is already as the record says
_IDEMPOTENT = {
    "create_user": {USER_ALREADY_EXIST},
    "alter_user": set(),
    "drop_user": {int(TSStatusCode.USER_NOT_EXIST)},
    "create_role": {ROLE_ALREADY_EXIST},
    "drop_role": {ROLE_NOT_EXIST},
    "grant_role": {USER_ALREADY_HAS_ROLE},
    "revoke_role": {USER_NOT_HAS_ROLE},
    "grant": set(),
    "revoke": {NOT_HAS_PRIVILEGE},
}


def apply_auth_record(authority: PublishingAuthority, record: dict) -> Status:
    """Apply one auth record; 200 when done or already so, else IoTDB's status (a user or
    role that does not exist here, root, …)."""
    op = record["op"]
    try:
        if op in ("create_user", "alter_user"):
            if record["name"] == ROOT:
                return Status.ok()  # root's password never changes over a pipe
            authority.set_user_hash(
                record["name"],
                record["salt"],
                record["hash"],
                create=op == "create_user",
                iotdb=str(record.get("iotdb") or ""),
            )
        elif op == "drop_user":
            authority.drop_user(record["name"])
        elif op == "create_role":
            authority.create_role(record["name"])
        elif op == "drop_role":
            authority.drop_role(record["name"])
        elif op == "grant_role":
            authority.grant_role(record["role"], record["user"])
        elif op == "revoke_role":
            authority.revoke_role(record["role"], record["user"])
        elif op in ("grant", "revoke"):
            if record["kind"] == "USER" and record["name"] == ROOT:
                return Status.ok()  # root holds every privilege
            if op == "grant":
                authority.grant(
                    record["kind"],
                    record["name"],
                    record["privileges"],
                    record["paths"],
                    grant_option=bool(record.get("grant_option")),
                )
            else:
                authority.revoke(
                    record["kind"], record["name"], record["privileges"], record["paths"]
                )
        else:
            return Status(TSStatusCode.ILLEGAL_PARAMETER, f"unknown auth record {op!r}")
    except AuthorityError as exc:
        if exc.code in _IDEMPOTENT.get(op, set()):
            return Status.ok()
        return exc.status()
    return Status.ok()
