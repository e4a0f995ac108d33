"""Users, roles and privileges in pipecore's schema request (29002): every record of
`pipecore.auth_records` round-trips, a record without its fields is refused naming them, and
a real IoTDB receiver gets IoTDB 2.0.1's author plans (a password change left out)."""

from __future__ import annotations

import json
import logging
import struct

import pytest

from pipecore import AUTH_FIELDS, AUTH_OPS
from pipecore.privileges import PRIVILEGES
from pipecore_thrift_sink.protocol.auth_plans import (
    IOTDB_PRIVILEGES,
    auth_requests,
    decode_author_plan,
    encode_author_plan,
)
from pipecore_thrift_sink.protocol.errors import PipeProtocolError
from pipecore_thrift_sink.protocol.request import PipeRequestType
from pipecore_thrift_sink.protocol.schema_iotdb import AUTH_RECORD_OPS, iotdb_schema_requests
from pipecore_thrift_sink.protocol.schema_plan import (
    SCHEMA_REQUEST_TYPE,
    decode_schema_plan,
    schema_requests,
)

RECORDS = (
    {"op": "create_role", "name": "admin"},
    {"op": "grant", "kind": "ROLE", "name": "admin", "privileges": ["READ_DATA"],
     "paths": ["root.ln.**"], "grant_option": False},
    {"op": "create_user", "name": "thulab", "salt": "00ff", "hash": "ab" * 32},
    {"op": "grant_role", "role": "admin", "user": "thulab"},
    {"op": "alter_user", "name": "thulab", "salt": "0a", "hash": "cd" * 32},
    {"op": "revoke", "kind": "USER", "name": "thulab", "privileges": ["USE_PIPE"], "paths": []},
    {"op": "revoke_role", "role": "admin", "user": "thulab"},
    {"op": "drop_role", "name": "admin"},
    {"op": "drop_user", "name": "thulab"},
)  # fmt: skip


def test_the_ops_agree_with_the_kernel():
    assert AUTH_RECORD_OPS == AUTH_OPS == {r["op"] for r in RECORDS}


def test_auth_records_round_trip_in_one_request():
    [(type_, body, count)] = list(schema_requests(RECORDS, snapshot=True))
    assert (type_, count) == (SCHEMA_REQUEST_TYPE, len(RECORDS))
    plan = decode_schema_plan(body)
    assert plan.snapshot and plan.records == RECORDS


@pytest.mark.parametrize("op", sorted(AUTH_FIELDS))
def test_a_record_without_its_fields_is_refused(op):
    field = AUTH_FIELDS[op][-1]
    record = next(r for r in RECORDS if r["op"] == op)
    body = (
        b'{"records": [%s]}' % json.dumps({k: v for k, v in record.items() if k != field}).encode()
    )
    with pytest.raises(PipeProtocolError, match=f"{op} without {field}"):
        decode_schema_plan(body)


def test_a_real_iotdb_gets_its_author_plans(caplog):
    with caplog.at_level(logging.WARNING):
        out = list(iotdb_schema_requests(RECORDS, False, {}))
    config = int(PipeRequestType.TRANSFER_CONFIG_PLAN)
    assert {t for t, _, _ in out} == {config}
    types = [struct.unpack(">h", body[:2])[0] for _, body, _ in out]
    # CreateRole, GrantRole, CreateUserWithRawPassword, GrantRoleToUser, (alter_user: none),
    # RevokeUser, RevokeRoleFromUser, DropRole, DropUser
    assert types == [622, 625, 638, 627, 628, 630, 624, 623]
    assert sum(c for _, _, c in out) == len(RECORDS) - 1  # the password change is left out
    assert "alter_user" in caplog.text and "cd" * 32 not in caplog.text  # no hash logged


def _string(value: str) -> bytes:
    data = value.encode()
    return struct.pack(">i", len(data)) + data


def test_author_plan_layout():
    """IoTDB 2.0.1's AuthorPlan: type, user, role, password, newPassword, permissions (a set
    of PrivilegeType ordinals), paths, grant option."""
    body = encode_author_plan(
        "GrantRole", role="r", privileges=["READ_DATA", "USE_MODEL"], paths=["root.a.**"],
        grant_option=True,
    )  # fmt: skip
    assert body == (
        struct.pack(">h", 625) + _string("") + _string("r") + _string("") + _string("")
        + b"\x01" + struct.pack(">iii", 2, 0, 10)  # USE_MODEL is IoTDB 2.0.1's 11th
        + struct.pack(">i", 1) + _string("root.a.**") + struct.pack(">i", 1)
    )  # fmt: skip
    assert set(IOTDB_PRIVILEGES) == set(PRIVILEGES)


def test_a_mixed_grant_goes_as_a_path_plan_and_a_global_plan():
    record = {"op": "grant", "kind": "USER", "name": "u", "privileges": ["READ_DATA", "USE_UDF"],
              "paths": ["root.sg.**"], "grant_option": False}  # fmt: skip
    plans = list(auth_requests(record))
    assert [c for _, _, c in plans] == [0, 1]  # one record carried by the last
    assert plans[0][1].endswith(_string("root.sg.**") + struct.pack(">i", 0))
    assert plans[1][1].endswith(struct.pack(">ii", 0, 0))  # no paths, no grant option


@pytest.mark.parametrize("record", [r for r in RECORDS if r["op"] != "alter_user"])
def test_author_plans_decode_back_to_the_record(record):
    """What the sink sends a real IoTDB, a pipecore receiver reads back (the air gap)."""
    back = [decode_author_plan(body) for _, body, _ in auth_requests(record)]
    assert [password for _, password in back] == [None]
    [(got, _)] = back
    want = dict(record)
    if record["op"] == "grant":
        want["grant_option"] = bool(record.get("grant_option"))
    assert got == want


def test_iotdbs_plans_with_a_password_in_clear():
    body = encode_author_plan("GrantUser", user="u")[:2]  # a type header to rewrite
    create = struct.pack(">h", 621) + encode_author_plan("DropUser", user="u", password="pw12")[2:]
    assert decode_author_plan(create) == (
        {"op": "create_user", "name": "u", "salt": "", "hash": ""}, "pw12",
    )  # fmt: skip
    with pytest.raises(PipeProtocolError, match="not an author plan"):
        decode_author_plan(struct.pack(">h", 200) + body)
    with pytest.raises(PipeProtocolError):
        decode_author_plan(create[:9])  # cut short
