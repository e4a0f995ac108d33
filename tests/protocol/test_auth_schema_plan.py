"""Users, roles and privileges in pipecore's schema request (29002): every record of
`pipecore.auth_records` round-trips, a record without its fields is refused naming them, and
a real IoTDB receiver gets none of them (left out with a warning)."""

from __future__ import annotations

import json
import logging

import pytest

from pipecore import AUTH_FIELDS, AUTH_OPS
from pipecore_thrift_sink.protocol.errors import PipeProtocolError
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


def test_a_real_iotdb_gets_none_of_them(caplog):
    with caplog.at_level(logging.WARNING):
        out = list(iotdb_schema_requests(RECORDS, False, {}))
    assert out == []
    assert "create_user" in caplog.text and "not sent" in caplog.text
    assert "ab" * 32 not in caplog.text  # no hash in the log
