"""IoTDB 1.3's user and role privileges: who may do what, on which paths.

Privileges are IoTDB 1.3's `PrivilegeType`s. Four are *path* privileges, granted on path
patterns (``root.sg.**``): READ_DATA, WRITE_DATA, READ_SCHEMA, WRITE_SCHEMA. The others are
*global* (no path): MANAGE_DATABASE, MANAGE_USER, MANAGE_ROLE, USE_TRIGGER, USE_UDF, USE_CQ,
USE_PIPE, EXTEND_TEMPLATE, MAINTAIN, USE_MODEL. ``ALL`` stands for every one of them.

A user holds its own privileges and those of its roles. A path privilege on pattern P covers
a path (or pattern) Q when every path Q matches is matched by P. ``root`` holds every
privilege, cannot lose one and cannot be dropped.

Everything lives in the users file (`pipecore.server.users.UserStore`, ``system/users.json``)::

    {"users": {"u": {"salt": ..., "hash": ..., "roles": ["r"],
                     "privileges": {"root.sg.**": {"READ_DATA": false}, "": {"USE_PIPE": true}}}},
     "roles": {"r": {"privileges": {...}}}}

(path ``""`` holds the global privileges; the boolean is the grant option.)
"""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path as FsPath
from typing import Any, Protocol, TypeVar

from pipecore_storage.status import Status, TSStatusCode

_T = TypeVar("_T")


class UserFile(Protocol):
    """What `Authority` uses of a node's users file (`pipecore.server.users.UserStore`)."""

    def document(self) -> dict[str, Any]: ...

    def update(self, change: Callable[[dict[str, Any]], _T]) -> _T: ...

    def set_password(self, username: str, password: str, *, create: bool = False) -> None: ...

    def drop_user(self, username: str) -> None: ...


__all__ = [
    "GLOBAL_PRIVILEGES",
    "NOT_HAS_PRIVILEGE_GRANTOPT",
    "NO_PERMISSION_PROMPT",
    "PATH_PRIVILEGES",
    "PRIVILEGES",
    "ROOT",
    "Authority",
    "AuthorityError",
    "expand",
    "pattern_covers",
    "split",
    "tsfile_series",
]

ROOT = "root"
# IoTDB 1.3's PrivilegeType, in its order (LIST PRIVILEGES lists them in this order)
PRIVILEGES = (
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
    "EXTEND_TEMPLATE",
    "MANAGE_DATABASE",
    "MAINTAIN",
    "USE_MODEL",
)
PATH_PRIVILEGES = frozenset(PRIVILEGES[:4])
# IoTDB 1.3's READ / WRITE; IoTDB after 2.0.1 groups the global ones as SYSTEM and SECURITY
# (IoTDBPipePermissionIT grants them)
_SHORTHANDS = {
    "READ": ("READ_DATA", "READ_SCHEMA"),
    "WRITE": ("WRITE_DATA", "WRITE_SCHEMA"),
    "SYSTEM": PRIVILEGES[6:],  # USE_TRIGGER … USE_MODEL
    "SECURITY": PRIVILEGES[4:6],  # MANAGE_USER, MANAGE_ROLE
}
GLOBAL_PRIVILEGES = frozenset(PRIVILEGES[4:])
NO_PERMISSION_PROMPT = "No permissions for this operation, please add privilege "
_GLOBAL = ""

# IoTDB 1.3's status codes of authority statements
USER_ALREADY_EXIST = 805
USER_ALREADY_HAS_ROLE = 806
USER_NOT_HAS_ROLE = 807
ROLE_NOT_EXIST = 808
ROLE_ALREADY_EXIST = 809
NOT_HAS_PRIVILEGE = 811
UNKNOWN_AUTH_PRIVILEGE = 813
UNSUPPORTED_AUTH_OPERATION = 814
ILLEGAL_PRIVILEGE = 816
NOT_HAS_PRIVILEGE_GRANTOPT = 817


class AuthorityError(Exception):
    """A refused authority operation, with IoTDB's status code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = int(code)
        self.message = message

    def status(self) -> Status:
        return Status(self.code, self.message)


# ---------------------------------------------------------------------- path patterns
def _node_covers(a: str, b: str) -> bool:
    """Pattern node `a` matches everything node `b` (not ``**``) matches."""
    if a == "*" or a == b:
        return True
    if "*" in b:  # a partial wildcard in b is covered only by * or by itself
        return False
    return "*" in a and fnmatch.fnmatchcase(b, a)


def _matches(a: tuple[str, ...], b: tuple[str, ...], i: int = 0, j: int = 0) -> bool:
    """Pattern `a` matches the concrete path `b` (no wildcard in it)."""
    while i < len(a):
        if a[i] == "**":
            if i + 1 == len(a):
                return j < len(b)
            return any(_matches(a, b, i + 1, k) for k in range(j + 1, len(b)))
        if j == len(b) or not _node_covers(a[i], b[j]):
            return False
        i, j = i + 1, j + 1
    return j == len(b)


def pattern_covers(granted: Sequence[str], wanted: Sequence[str]) -> bool:
    """Every path `wanted` matches is matched by `granted` (both as node tuples; ``**``
    matches one or more nodes, ``*`` exactly one)."""
    a, b = tuple(granted), tuple(wanted)
    if not any("*" in n for n in b):  # a concrete path: plain matching
        return _matches(a, b)

    @functools.cache
    def covers(i: int, j: int) -> bool:
        if i == len(a):
            return j == len(b)
        if j == len(b):
            return False
        if a[i] == "**":
            # ** takes b[j] (whatever it is) and maybe more
            return covers(i, j + 1) or covers(i + 1, j + 1)
        if b[j] == "**":
            return False
        return _node_covers(a[i], b[j]) and covers(i + 1, j + 1)

    return covers(0, 0)


def split(path: str) -> tuple[str, ...]:
    """``root.sg.`a.b`.s`` -> nodes (backquoted nodes kept whole, unquoted)."""
    if "`" not in path:
        return tuple(path.split("."))
    nodes, current, quoted, i = [], [], False, 0
    while i < len(path):
        ch = path[i]
        if ch == "`":
            if quoted and i + 1 < len(path) and path[i + 1] == "`":
                current.append("`")
                i += 2
                continue
            quoted = not quoted
        elif ch == "." and not quoted:
            nodes.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    nodes.append("".join(current))
    return tuple(nodes)


def tsfile_series(path: str | FsPath) -> list[str]:
    """The full series paths (``device.measurement``) a TsFile holds."""
    from pipecore_storage.tsfile import TsFileReader

    reader = TsFileReader(FsPath(path))
    try:
        return [
            f"{device}.{measurement}"
            for device in reader.devices()
            for measurement in reader.schemas(device)
        ]
    finally:
        close = getattr(reader, "close", None)
        if close is not None:
            close()


# ---------------------------------------------------------------------- the model
def expand(privileges: Iterable[str]) -> list[str]:
    """Upper-cased privileges with ALL, READ, WRITE, SYSTEM and SECURITY expanded;
    AuthorityError for an unknown one."""
    out: list[str] = []
    for raw in privileges:
        name = raw.strip().upper()
        if name == "ALL":
            names: Iterable[str] = PRIVILEGES
        elif name in _SHORTHANDS:  # READ / WRITE / SYSTEM / SECURITY
            names = _SHORTHANDS[name]
        elif name in PRIVILEGES:
            names = (name,)
        else:
            raise AuthorityError(UNKNOWN_AUTH_PRIVILEGE, f"Unknown privilege {raw}")
        out.extend(n for n in names if n not in out)
    return out


def _grants(record: dict[str, Any]) -> dict[str, dict[str, bool]]:
    grants = record.setdefault("privileges", {})
    assert isinstance(grants, dict)
    return grants


class Authority:
    """Users, roles and privileges of a node, kept in `users` (its users file)."""

    def __init__(self, users: UserFile) -> None:
        self.users = users

    # ------------------------------------------------------------ reading
    def _holdings(self, user: str) -> list[tuple[str, dict[str, dict[str, bool]]]]:
        """(role name or "", privileges) of the user and each of its roles."""
        document = self.users.document()
        record = document["users"].get(user)
        if record is None:
            return []
        out = [("", dict(record.get("privileges", {})))]
        for role in record.get("roles", []):
            role_record = document["roles"].get(role)
            if role_record is not None:
                out.append((role, dict(role_record.get("privileges", {}))))
        return out

    def has_global(self, user: str, privilege: str, *, grant_option: bool = False) -> bool:
        if user == ROOT:
            return True
        for _, grants in self._holdings(user):
            option = grants.get(_GLOBAL, {}).get(privilege)
            if option is not None and (option or not grant_option):
                return True
        return False

    def uncovered(
        self, user: str, privilege: str, paths: Iterable[str], *, grant_option: bool = False
    ) -> list[str]:
        """The `paths` (strings) on which `user` does not hold `privilege`."""
        paths = list(dict.fromkeys(paths))
        if user == ROOT:
            return []
        patterns = [
            split(pattern)
            for _, grants in self._holdings(user)
            for pattern, privileges in grants.items()
            if pattern != _GLOBAL
            and privilege in privileges
            and (privileges[privilege] or not grant_option)
        ]
        # the usual grant `root.x.**`: a prefix test, no matching
        prefixes = [g[:-1] for g in patterns if g[-1] == "**" and not any("*" in n for n in g[:-1])]
        others = [g for g in patterns if g[:-1] not in prefixes or g[-1] != "**"]
        missing = []
        for path in paths:
            nodes = split(path)
            if any(len(nodes) > len(p) and nodes[: len(p)] == p for p in prefixes):
                continue
            if not any(pattern_covers(g, nodes) for g in others):
                missing.append(path)
        return missing

    def check(self, user: str | None, privilege: str, paths: Iterable[str] = ()) -> Status | None:
        """None when `user` may; else 803 with IoTDB's message. `paths` only for a path
        privilege."""
        if user is None or user == ROOT:
            return None
        if privilege in GLOBAL_PRIVILEGES:
            if self.has_global(user, privilege):
                return None
            return Status(TSStatusCode.NO_PERMISSION, NO_PERMISSION_PROMPT + privilege)
        missing = self.uncovered(user, privilege, paths)
        if not missing:
            return None
        return Status(
            TSStatusCode.NO_PERMISSION,
            f"{NO_PERMISSION_PROMPT}{privilege} on [{', '.join(missing)}]",
        )

    def user_exists(self, user: str) -> bool:
        return user in self.users.document()["users"]

    def list_users(self, role: str | None = None) -> list[str]:
        document = self.users.document()
        if role is not None:
            self._need_role(document, role)
            return sorted(u for u, r in document["users"].items() if role in r.get("roles", []))
        return sorted(document["users"])

    def list_roles(self, user: str | None = None) -> list[str]:
        document = self.users.document()
        if user is not None:
            record = self._need_user(document, user)
            return sorted(record.get("roles", []))
        return sorted(document["roles"])

    def privilege_rows(self, *, user: str | None = None, role: str | None = None) -> list[tuple]:
        """LIST PRIVILEGES' rows: (role, path, privilege, grant option); global privileges
        on ``root.**``, as IoTDB 1.3 shows them."""
        document = self.users.document()
        sources: list[tuple[str, dict[str, Any]]] = []
        if user is not None:
            record = self._need_user(document, user)
            if user == ROOT:
                return [("", "root.**", p, True) for p in PRIVILEGES]
            sources.append(("", record))
            for name in sorted(record.get("roles", [])):
                if name in document["roles"]:
                    sources.append((name, document["roles"][name]))
        if role is not None:
            sources.append((role, self._need_role(document, role)))
        rows: list[tuple] = []
        for name, record in sources:
            grants = record.get("privileges", {})
            ordered = sorted(grants, key=lambda p: (p != _GLOBAL, p))
            for path in ordered:
                for privilege in PRIVILEGES:
                    if privilege in grants[path]:
                        shown = "root.**" if path == _GLOBAL else path
                        rows.append((name, shown, privilege, bool(grants[path][privilege])))
        return rows

    # ------------------------------------------------------------ changing
    @staticmethod
    def _need_user(document: dict[str, Any], user: str) -> dict[str, Any]:
        record = document["users"].get(user)
        if record is None:
            raise AuthorityError(TSStatusCode.USER_NOT_EXIST, f"User {user} does not exist")
        assert isinstance(record, dict)
        return record

    @staticmethod
    def _need_role(document: dict[str, Any], role: str) -> dict[str, Any]:
        record = document["roles"].get(role)
        if record is None:
            raise AuthorityError(ROLE_NOT_EXIST, f"Role {role} does not exist")
        assert isinstance(record, dict)
        return record

    def create_user(self, user: str, password: str) -> None:
        if user in self.users.document()["users"]:
            raise AuthorityError(USER_ALREADY_EXIST, f"User {user} already exists")
        _check_password(password)
        self.users.set_password(user, password, create=True)

    def drop_user(self, user: str) -> None:
        if user == ROOT:
            raise AuthorityError(UNSUPPORTED_AUTH_OPERATION, "Cannot delete admin user")
        try:
            self.users.drop_user(user)
        except KeyError:
            raise AuthorityError(
                TSStatusCode.USER_NOT_EXIST, f"User {user} does not exist"
            ) from None

    def alter_password(self, user: str, password: str) -> None:
        _check_password(password)
        try:
            self.users.set_password(user, password)
        except KeyError:
            raise AuthorityError(
                TSStatusCode.USER_NOT_EXIST, f"User {user} does not exist"
            ) from None

    def create_role(self, role: str) -> None:
        def change(document: dict[str, Any]) -> None:
            if role in document["roles"]:
                raise AuthorityError(ROLE_ALREADY_EXIST, f"Role {role} already exists")
            document["roles"][role] = {"privileges": {}}

        self.users.update(change)

    def drop_role(self, role: str) -> None:
        def change(document: dict[str, Any]) -> None:
            self._need_role(document, role)
            del document["roles"][role]
            for record in document["users"].values():
                if role in record.get("roles", []):
                    record["roles"] = [r for r in record["roles"] if r != role]

        self.users.update(change)

    def grant_role(self, role: str, user: str) -> None:
        def change(document: dict[str, Any]) -> None:
            self._need_role(document, role)
            record = self._need_user(document, user)
            if user == ROOT:
                raise AuthorityError(UNSUPPORTED_AUTH_OPERATION, "Cannot grant role to admin")
            roles = record.setdefault("roles", [])
            if role in roles:
                raise AuthorityError(USER_ALREADY_HAS_ROLE, f"User {user} already has role {role}")
            roles.append(role)

        self.users.update(change)

    def revoke_role(self, role: str, user: str) -> None:
        def change(document: dict[str, Any]) -> None:
            self._need_role(document, role)
            record = self._need_user(document, user)
            if role not in record.get("roles", []):
                raise AuthorityError(USER_NOT_HAS_ROLE, f"User {user} does not have role {role}")
            record["roles"] = [r for r in record["roles"] if r != role]

        self.users.update(change)

    def _grantee(self, document: dict[str, Any], kind: str, name: str) -> dict[str, Any]:
        if kind == "ROLE":
            return self._need_role(document, name)
        if name == ROOT:
            raise AuthorityError(
                UNSUPPORTED_AUTH_OPERATION, "Cannot grant/revoke privileges of admin user"
            )
        return self._need_user(document, name)

    def grant(
        self,
        kind: str,
        name: str,
        privileges: Sequence[str],
        paths: Sequence[str],
        *,
        grant_option: bool = False,
    ) -> None:
        """Grant `privileges` (path ones on `paths`, global ones without) to a USER/ROLE."""
        names = expand(privileges)

        def change(document: dict[str, Any]) -> None:
            grants = _grants(self._grantee(document, kind, name))
            for privilege in names:
                targets = [_GLOBAL] if privilege in GLOBAL_PRIVILEGES else list(paths)
                for path in targets:
                    held = grants.setdefault(path, {})
                    held[privilege] = bool(held.get(privilege)) or grant_option

        self.users.update(change)

    def revoke(self, kind: str, name: str, privileges: Sequence[str], paths: Sequence[str]) -> None:
        names = expand(privileges)

        def change(document: dict[str, Any]) -> None:
            grants = _grants(self._grantee(document, kind, name))
            removed = 0
            for privilege in names:
                targets = [_GLOBAL] if privilege in GLOBAL_PRIVILEGES else list(paths)
                for path in targets:
                    if grants.get(path, {}).pop(privilege, None) is not None:
                        removed += 1
                    if path in grants and not grants[path]:
                        del grants[path]
            if not removed:
                raise AuthorityError(
                    NOT_HAS_PRIVILEGE, f"{kind.capitalize()} {name} does not have these privileges"
                )

        self.users.update(change)


def _check_password(password: str) -> None:
    # IoTDB 1.3: 4 to 32 characters, no spaces
    if not 4 <= len(password) <= 32 or any(c.isspace() for c in password):
        raise AuthorityError(
            TSStatusCode.ILLEGAL_PARAMETER,
            "The length of password should be between 4 and 32, and it cannot contain spaces",
        )
