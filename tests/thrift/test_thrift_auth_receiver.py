"""The receiver's checks and answers for auth records (no processes): IoTDB 2.0.1's
ConfigNode receiver rules for the handshake's user (MANAGE_USER, MANAGE_ROLE, grant option)
and the order in which auth and other schema records are applied."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from pipecore import PublishingAuthority
from pipecore.rpc import Status
from pipecore.server.users import UserStore
from pipecore_thrift_sink.receiver_auth import apply_with_auth, authorize_auth


@pytest.fixture
def users(tmp_path):
    store = UserStore(tmp_path / "users.json")
    a = PublishingAuthority(store, None)
    a.create_user("u", "u-pass")
    a.create_role("r")
    return store


def _code(users, user, *records) -> int:
    receiver = SimpleNamespace(settings=SimpleNamespace(users=users), username=user)
    refused = authorize_auth(receiver, list(records))
    return 200 if refused is None else int(refused.status.code)


ROLE = {"op": "create_role", "name": "x"}
USER = {"op": "create_user", "name": "x", "salt": "", "hash": ""}
GRANT = {"op": "grant", "kind": "ROLE", "name": "r", "privileges": ["READ_DATA", "USE_UDF"],
         "paths": ["root.sg.**"], "grant_option": False}  # fmt: skip


def test_root_may_send_everything(users):
    assert _code(users, "root", ROLE, USER, GRANT) == 200


def test_each_record_needs_what_iotdb_asks(users):
    a = PublishingAuthority(users, None)
    assert _code(users, "u", ROLE) == 803
    assert _code(users, "u", USER) == 803
    assert _code(users, "u", {"op": "alter_user", "name": "u", "salt": "", "hash": ""}) == 200
    assert _code(users, "u", {"op": "alter_user", "name": "v", "salt": "", "hash": ""}) == 803
    a.grant("USER", "u", ["MANAGE_ROLE"], [])
    assert _code(users, "u", ROLE, {"op": "grant_role", "role": "r", "user": "u"}) == 200
    assert _code(users, "u", USER) == 803
    a.grant("USER", "u", ["READ_DATA"], ["root.**"])  # without grant option
    assert _code(users, "u", GRANT) == 803
    a.grant("USER", "u", ["READ_DATA"], ["root.**"], grant_option=True)
    assert _code(users, "u", GRANT) == 803  # USE_UDF still lacks it
    a.grant("USER", "u", ["USE_UDF"], [], grant_option=True)
    assert _code(users, "u", GRANT) == 200
    assert _code(users, "u", {"op": "create_database", "name": "root.sg"}) == 200  # not auth


def test_records_apply_in_order_and_a_conflict_stops_there(users):
    seen: list[list[str]] = []

    def others(run) -> Status:
        seen.append([r["op"] for r in run])
        return Status.ok()

    records = [
        {"op": "create_database", "name": "root.a"},
        {"op": "create_role", "name": "r"},  # exists: fine
        {"op": "create_database", "name": "root.b"},
        {"op": "grant_role", "role": "r", "user": "nobody"},  # unknown user: 1810
        {"op": "create_database", "name": "root.c"},
    ]
    status = apply_with_auth(None, users, records, None, others)
    assert int(status.code) == 1810 and "nobody" in status.message
    assert seen == [["create_database"], ["create_database"]]
    status = apply_with_auth(None, None, records[1:2], None, others)
    assert int(status.code) == 1810 and "keeps no users" in status.message
