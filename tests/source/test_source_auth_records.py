"""Users, roles and privileges as pipe records (issue 16, inclusion ``auth``): each change made
through `PublishingAuthority` is published to the store's schema subscribers with the stored
password hash (never the password), `auth_snapshot` is the history, `apply_auth_record` applies
a record idempotently with IoTDB's answers, and the source's filter honours the ``auth.*``
leaves and trims path grants to the pipe's pattern."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from pipecore import (
    AUTH_PARTS,
    PipeParameters,
    PublishingAuthority,
    apply_auth_record,
    auth_part,
    auth_snapshot,
)
from pipecore.server.users import UserStore
from pipecore_iotdb_source.options import parse_options
from pipecore_iotdb_source.schema import schema_records
from pipecore_storage import Store
from pipecore_storage.listeners import StoreSchemaChange
from pipecore_storage.origin import Origin


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "s") as s:
        yield s


def _authority(path, store=None, origin=None) -> PublishingAuthority:
    users = UserStore(path)
    return (
        PublishingAuthority(users, store, origin) if origin else PublishingAuthority(users, store)
    )


def _records(sub) -> list[dict]:
    return [r for e in sub.drain() if isinstance(e, StoreSchemaChange) for r in e.records]


def test_every_change_is_published_in_order_with_the_hash(tmp_path, store):
    sub = store.subscribe("p", schema=True)
    a = _authority(tmp_path / "users.json", store)
    a.create_user("thulab", "s3cret-pw")
    a.create_role("admin")
    a.grant("ROLE", "admin", ["READ"], ["root.ln.**"])
    a.grant("ROLE", "admin", ["MANAGE_USER"], ["root.**"], grant_option=True)
    a.grant_role("admin", "thulab")
    a.alter_password("thulab", "other-pw")
    a.revoke("ROLE", "admin", ["READ_DATA"], ["root.ln.**"])
    a.revoke_role("admin", "thulab")
    a.drop_role("admin")
    a.drop_user("thulab")
    records = _records(sub)
    assert [r["op"] for r in records] == [
        "create_user", "create_role", "grant", "grant", "grant_role", "alter_user", "revoke",
        "revoke_role", "drop_role", "drop_user",
    ]  # fmt: skip
    assert records[2]["privileges"] == ["READ_DATA", "READ_SCHEMA"]  # READ expanded
    assert records[3] == {
        "op": "grant", "kind": "ROLE", "name": "admin", "privileges": ["MANAGE_USER"],
        "paths": [], "grant_option": True,
    }  # fmt: skip
    assert records[0]["hash"] != records[5]["hash"]
    text = json.dumps(records)
    assert "s3cret-pw" not in text and "other-pw" not in text
    assert [auth_part(r) for r in records] == [
        "auth.user.create", "auth.role.create", "auth.role.grant", "auth.role.grant",
        "auth.user.grant", "auth.user.alter", "auth.role.revoke", "auth.user.revoke",
        "auth.role.drop", "auth.user.drop",
    ]  # fmt: skip
    assert set(map(auth_part, records)) <= set(AUTH_PARTS)


def test_a_refused_change_publishes_nothing(tmp_path, store):
    sub = store.subscribe("p", schema=True)
    a = _authority(tmp_path / "users.json", store)
    with pytest.raises(Exception, match="does not exist"):
        a.drop_user("ghost")
    a.alter_password("root", "new-root-pw")  # root's password never travels
    assert _records(sub) == []


def _state(users: UserStore) -> dict:
    document = users.document()
    document["users"].pop("root")
    for record in document["users"].values():
        record["roles"] = sorted(record.get("roles", []))
        record["privileges"] = record.get("privileges", {})
    for record in document["roles"].values():
        record["privileges"] = record.get("privileges", {})
    return document


def test_snapshot_rebuilds_the_users_elsewhere_and_twice_is_harmless(tmp_path):
    a = _authority(tmp_path / "a.json")
    a.create_user("u1", "pw-one")
    a.create_user("u2", "pw-two")
    a.create_role("r")
    a.grant("ROLE", "r", ["WRITE"], ["root.sg.**", "root.t.d1.s"])
    a.grant("USER", "u1", ["USE_PIPE", "READ_DATA"], ["root.x.**"], grant_option=True)
    a.grant_role("r", "u2")
    snapshot = auth_snapshot(a.users.document())
    assert all(r.get("name") != "root" for r in snapshot)
    b = _authority(tmp_path / "b.json")
    for _ in range(2):  # a snapshot sent again (or overlapping realtime) applies cleanly
        assert [apply_auth_record(b, r).code for r in snapshot] == [200] * len(snapshot)
    assert _state(b.users) == _state(a.users)
    assert b.users.check("u1", "pw-one").is_success  # the hash travelled, not a new one
    assert not b.users.check("u1", "pw-two").is_success


def test_idempotent_answers_and_real_conflicts(tmp_path):
    b = _authority(tmp_path / "b.json")
    ok = [
        {"op": "drop_user", "name": "ghost"},
        {"op": "drop_role", "name": "ghost"},
        {"op": "create_role", "name": "r"},
        {"op": "create_role", "name": "r"},
        {"op": "create_user", "name": "u", "salt": "00", "hash": "ab"},
        {"op": "create_user", "name": "u", "salt": "00", "hash": "ab"},
        {"op": "grant_role", "role": "r", "user": "u"},
        {"op": "grant_role", "role": "r", "user": "u"},
        {"op": "revoke_role", "role": "r", "user": "u"},
        {"op": "revoke_role", "role": "r", "user": "u"},
        {"op": "revoke", "kind": "USER", "name": "u", "privileges": ["READ_DATA"],
         "paths": ["root.**"]},
        {"op": "alter_user", "name": "root", "salt": "00", "hash": "ab"},
        {"op": "grant", "kind": "USER", "name": "root", "privileges": ["USE_UDF"], "paths": []},
    ]  # fmt: skip
    assert [apply_auth_record(b, r).code for r in ok] == [200] * len(ok)
    assert b.users.check("root", "root").is_success  # root untouched
    grant = {
        "op": "grant",
        "kind": "USER",
        "name": "nobody",
        "privileges": ["USE_UDF"],
        "paths": [],
    }
    assert apply_auth_record(b, grant).code == 804  # USER_NOT_EXIST
    to_missing = {"op": "grant_role", "role": "missing", "user": "u"}
    assert apply_auth_record(b, to_missing).code == 808  # ROLE_NOT_EXIST
    assert (
        apply_auth_record(b, {"op": "alter_user", "name": "x", "salt": "", "hash": ""}).code == 804
    )


def test_applied_records_are_published_with_the_receivers_origin(tmp_path, store):
    sub = store.subscribe("p", schema=True)
    origin = Origin.pipe("sender-cluster")
    b = _authority(tmp_path / "b.json", store, origin)
    apply_auth_record(b, {"op": "create_role", "name": "r"})
    apply_auth_record(b, {"op": "create_role", "name": "r"})  # already so: nothing new
    [event] = [e for e in sub.drain() if isinstance(e, StoreSchemaChange)]
    assert event.origin == origin and event.records[0]["op"] == "create_role"


def _options(**kv: str):
    return parse_options(PipeParameters(kv))


def test_source_filter_selects_leaves_and_trims_paths_to_the_pattern():
    records = [
        {"op": "create_user", "name": "u", "salt": "", "hash": ""},
        {"op": "create_role", "name": "r"},
        {"op": "grant", "kind": "ROLE", "name": "r", "privileges": ["READ_DATA"],
         "paths": ["root.ln.**", "root.other.**"], "grant_option": False},
        {"op": "grant", "kind": "USER", "name": "u", "privileges": ["WRITE_DATA", "USE_PIPE"],
         "paths": ["root.other.**"], "grant_option": False},
        {"op": "grant", "kind": "USER", "name": "u", "privileges": ["WRITE_DATA"],
         "paths": ["root.other.**"], "grant_option": False},
        {"op": "create_database", "name": "root.ln"},
    ]  # fmt: skip
    got = schema_records(records, _options(inclusion="auth", path="root.ln.**"))
    assert [r["op"] for r in got] == ["create_user", "create_role", "grant", "grant"]
    assert got[2]["paths"] == ["root.ln.**"]
    assert got[3]["privileges"] == ["USE_PIPE"] and got[3]["paths"] == []
    everything = schema_records(records, _options(inclusion="auth"))
    assert everything == tuple(records[:5])
    users_only = schema_records(records, _options(inclusion="auth.user.create"))
    assert [r["op"] for r in users_only] == ["create_user"]
    assert schema_records(records, _options(inclusion="data")) == ()


_NAMES = hs.sampled_from(["a", "b", "c"])
_STEPS = hs.lists(
    hs.one_of(
        hs.tuples(hs.just("user"), _NAMES),
        hs.tuples(hs.just("role"), _NAMES),
        hs.tuples(hs.just("drop_user"), _NAMES),
        hs.tuples(hs.just("drop_role"), _NAMES),
        hs.tuples(hs.just("grant_role"), _NAMES, _NAMES),
        hs.tuples(hs.just("grant"), _NAMES, hs.sampled_from(["READ", "USE_CQ", "WRITE_DATA"])),
        hs.tuples(hs.just("revoke"), _NAMES, hs.sampled_from(["READ", "USE_CQ", "WRITE_DATA"])),
    ),
    max_size=12,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=_STEPS)
def test_replaying_the_published_records_converges(tmp_path_factory, steps):
    """Law: whatever a sender does, its published records applied (once, or twice over)
    leave the receiver with the sender's users, roles and privileges."""
    tmp = tmp_path_factory.mktemp("law")
    with Store.open(tmp / "s") as store:
        sub = store.subscribe("p", schema=True)
        a = _authority(tmp / "a.json", store)
        for step in steps:
            kind, *args = step
            try:
                if kind == "user":
                    a.create_user(args[0], "pw-" + args[0])
                elif kind == "role":
                    a.create_role(args[0])
                elif kind == "drop_user":
                    a.drop_user(args[0])
                elif kind == "drop_role":
                    a.drop_role(args[0])
                elif kind == "grant_role":
                    a.grant_role(args[0], args[1])
                elif kind == "grant":
                    a.grant("ROLE", args[0], [args[1]], ["root.sg.**"])
                else:
                    a.revoke("ROLE", args[0], [args[1]], ["root.sg.**"])
            except Exception:
                continue  # refused on the sender: nothing published
        records = _records(sub)
    b = _authority(tmp / "b.json")
    for r in records:
        assert apply_auth_record(b, r).is_success, r
    assert _state(b.users) == _state(a.users)
