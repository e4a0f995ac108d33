"""IoTDB 2.0.1's auth history: the user and role files of its ConfigNode snapshot, sent by its
config-region source as snapshot pieces (201) and a seal (202) whose ``fileType`` is USER (1),
ROLE (2) or USER_ROLE (3) — one file a seal — read as pipecore's auth records
(`pipecore.auth_records`), as IoTDB's receiver turns them into plans
(``CNPhysicalPlanGenerator``)::

    role file   <name>.profile:       name, i32 system mask, then (path, i32 path mask)* to the end
    user file   <name>.profile:       name, password (IoTDB's stored form), i32 system mask,
                                      then (path, i32 path mask)* to the end
    user roles  <user>_role.profile:  role name* to the end (the user is in the file's name)

Strings are an i32 byte length and UTF-8 bytes (the name's length may be negative: a flag
IoTDB's receiver ignores). Bit ``i`` of the system mask is the i-th of MANAGE_DATABASE,
MANAGE_USER, MANAGE_ROLE, USE_TRIGGER, USE_UDF, USE_CQ, USE_PIPE, EXTEND_TEMPLATE, MAINTAIN,
USE_MODEL (``AuthUtils.posToSysPri``), bit ``i + 16`` its grant option; bit ``i`` of a path
mask READ_DATA, WRITE_DATA, READ_SCHEMA, WRITE_SCHEMA, bit ``i + 16`` the grant option.

The records, each with the plan type IoTDB makes of it (the seal's ``Type`` picks which are
applied): ``create_role`` (CreateRole 622), ``create_user`` with ``iotdb``, the stored form
(CreateUserWithRawPassword 638: the user logs in on pipecore with its IoTDB password),
``grant`` one privilege at a time (GrantRole 625 / GrantUser 626), ``grant_role``
(GrantRoleToUser 627).
"""

from __future__ import annotations

import struct

from .errors import PipeProtocolError

__all__ = [
    "AUTH_SNAPSHOT_TYPES",
    "SNAPSHOT_ROLE",
    "SNAPSHOT_USER",
    "SNAPSHOT_USER_ROLE",
    "auth_snapshot_records",
]

SNAPSHOT_USER, SNAPSHOT_ROLE, SNAPSHOT_USER_ROLE = 1, 2, 3
AUTH_SNAPSHOT_TYPES = frozenset((SNAPSHOT_USER, SNAPSHOT_ROLE, SNAPSHOT_USER_ROLE))
_SYSTEM = (
    "MANAGE_DATABASE", "MANAGE_USER", "MANAGE_ROLE", "USE_TRIGGER", "USE_UDF", "USE_CQ",
    "USE_PIPE", "EXTEND_TEMPLATE", "MAINTAIN", "USE_MODEL",
)  # fmt: skip
_PATH = ("READ_DATA", "WRITE_DATA", "READ_SCHEMA", "WRITE_SCHEMA")
_ROLE_FILE_SUFFIX = "_role.profile"


class _Reader:
    def __init__(self, data: bytes, name: str) -> None:
        self.data, self.pos, self.name = data, 0, name

    @property
    def more(self) -> bool:
        return self.pos < len(self.data)

    def i32(self, what: str) -> int:
        if self.pos + 4 > len(self.data):
            raise PipeProtocolError(f"{self.name}: cut short in {what}", "snapshot")
        (value,) = struct.unpack_from(">i", self.data, self.pos)
        self.pos += 4
        return int(value)

    def string(self, what: str, *, signed_length: bool = False) -> str:
        n = self.i32(what)
        if signed_length:
            n = abs(n)
        if n <= 0:
            return ""
        if self.pos + n > len(self.data):
            raise PipeProtocolError(f"{self.name}: cut short in {what}", "snapshot")
        text = self.data[self.pos : self.pos + n].decode("utf-8", "replace")
        self.pos += n
        return text


def _grants(kind: str, name: str, r: _Reader) -> list[tuple[int, dict]]:
    plan = 626 if kind == "USER" else 625
    out: list[tuple[int, dict]] = []

    def grant(privilege: str, paths: list[str], option: bool) -> None:
        record = {"op": "grant", "kind": kind, "name": name, "privileges": [privilege],
                  "paths": paths, "grant_option": option}  # fmt: skip
        out.append((plan, record))

    mask = r.i32("system privileges")
    for i, privilege in enumerate(_SYSTEM):
        if mask & (1 << i):
            grant(privilege, [], bool(mask & (1 << (i + 16))))
    while r.more:
        path = r.string("path")
        mask = r.i32(f"privileges of {path}")
        for i, privilege in enumerate(_PATH):
            if mask & (1 << i):
                grant(privilege, [path], bool(mask & (1 << (i + 16))))
    return out


def auth_snapshot_records(file_type: int, file_name: str, data: bytes) -> list[tuple[int, dict]]:
    """(IoTDB plan type, auth record) of one snapshot file (see the module's text);
    PipeProtocolError for a malformed file."""
    r = _Reader(data, file_name)
    if file_type == SNAPSHOT_USER_ROLE:
        if not file_name.endswith(_ROLE_FILE_SUFFIX):
            raise PipeProtocolError(f"{file_name} is not a user's role file", "fileNames")
        user = file_name[: -len(_ROLE_FILE_SUFFIX)]
        roles = []
        while r.more:
            roles.append(r.string("role name"))
        return [(627, {"op": "grant_role", "role": role, "user": user}) for role in roles]
    if file_type not in (SNAPSHOT_USER, SNAPSHOT_ROLE):
        raise PipeProtocolError(f"{file_type} is not an auth snapshot file type", "fileType")
    name = r.string("name", signed_length=True)
    if not name:
        return []  # IoTDB's receiver reads nothing from a file without a name
    if file_type == SNAPSHOT_ROLE:
        return [(622, {"op": "create_role", "name": name}), *_grants("ROLE", name, r)]
    stored = r.string("password")
    create = {"op": "create_user", "name": name, "salt": "", "hash": "", "iotdb": stored}
    return [(638, create), *_grants("USER", name, r)]
