"""IoTDB 2.0.1's auth history files (`protocol.auth_snapshot`): a role file, a user file
(with IoTDB's stored password form) and a user's role file read as auth records with the plan
types IoTDB's receiver makes of them; a cut file is refused naming it."""

from __future__ import annotations

import struct

import pytest

from pipecore.iotdb_password import iotdb_password_digest
from pipecore_thrift_sink.protocol.auth_snapshot import auth_snapshot_records
from pipecore_thrift_sink.protocol.errors import PipeProtocolError


def _s(text: str, *, flag: bool = False) -> bytes:
    data = text.encode()
    return struct.pack(">i", -len(data) if flag else len(data)) + data


def _i(value: int) -> bytes:
    return struct.pack(">i", value)


def test_a_role_file():
    # USE_CQ (bit 5) with grant option (bit 21); READ_DATA + WRITE_SCHEMA on a path
    data = _s("r1", flag=True) + _i(1 << 5 | 1 << 21) + _s("root.h.**") + _i(0b1001)
    assert auth_snapshot_records(2, "r1.profile", data) == [
        (622, {"op": "create_role", "name": "r1"}),
        (625, {"op": "grant", "kind": "ROLE", "name": "r1", "privileges": ["USE_CQ"],
               "paths": [], "grant_option": True}),
        (625, {"op": "grant", "kind": "ROLE", "name": "r1", "privileges": ["READ_DATA"],
               "paths": ["root.h.**"], "grant_option": False}),
        (625, {"op": "grant", "kind": "ROLE", "name": "r1", "privileges": ["WRITE_SCHEMA"],
               "paths": ["root.h.**"], "grant_option": False}),
    ]  # fmt: skip


def test_a_user_file_and_its_role_file():
    stored = iotdb_password_digest("lGPkMeXhHOqH")
    # MANAGE_DATABASE (bit 0); WRITE_DATA with grant option (bits 1 and 17)
    data = _s("u1") + _s(stored) + _i(1) + _s("root.h.d1.**") + _i(1 << 1 | 1 << 17)
    assert auth_snapshot_records(1, "u1.profile", data) == [
        (638, {"op": "create_user", "name": "u1", "salt": "", "hash": "", "iotdb": stored}),
        (626, {"op": "grant", "kind": "USER", "name": "u1", "privileges": ["MANAGE_DATABASE"],
               "paths": [], "grant_option": False}),
        (626, {"op": "grant", "kind": "USER", "name": "u1", "privileges": ["WRITE_DATA"],
               "paths": ["root.h.d1.**"], "grant_option": True}),
    ]  # fmt: skip
    roles = auth_snapshot_records(3, "u1_role.profile", _s("r1") + _s("r2"))
    assert roles == [
        (627, {"op": "grant_role", "role": "r1", "user": "u1"}),
        (627, {"op": "grant_role", "role": "r2", "user": "u1"}),
    ]


def test_malformed_files_are_refused():
    with pytest.raises(PipeProtocolError, match=r"u1\.profile: cut short in password"):
        auth_snapshot_records(1, "u1.profile", _s("u1") + _i(40) + b"abc")
    with pytest.raises(PipeProtocolError, match="not a user's role file"):
        auth_snapshot_records(3, "u1.profile", _s("r1"))
    with pytest.raises(PipeProtocolError, match="not an auth snapshot file type"):
        auth_snapshot_records(4, "cluster_schema.bin", b"")
