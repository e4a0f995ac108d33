"""IoTDB's stored form of a password (`pipecore.iotdb_password`) in the users file, the auth
records and the author plans a real IoTDB gets: CreateUserWithRawPassword carries it, a
password change goes as DropUser + CreateUserWithRawPassword + the user's grants, a user
without it keeps today's behaviour, and a user with only IoTDB's form logs in with it."""

from __future__ import annotations

import json
import logging
import struct
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from pipecore.auth_records import PublishingAuthority, apply_auth_record, auth_snapshot
from pipecore.iotdb_password import iotdb_password_digest, java_utf8_decode
from pipecore.server.users import UserStore
from pipecore_thrift_sink.protocol.auth_plans import (
    auth_requests,
    decode_author_plan,
    encode_author_plan,
)

# IoTDB 2.0.1's MessageDigestEncrypt.encrypt(...) as UTF-8 (Java 17, the fixture's jar)
KNOWN = {
    "root": "63efbfbdefbfbdefbfbd7befbfbdefbfbd50796b64efbfbdefbfbd481845",
    "lGPkMeXhHOqH": "0f5defbfbdefbfbd75efbfbd663034efbfbd39efbfbd52efbfbd0f",
    "gm*InAHi=^kjBw$3c_V!KCz@E25": (
        "efbfbddab3efbfbd5fefbfbdefbfbdefbfbd5e1f21efbfbdefbfbdefbfbdefbfbd"
    ),
}


def _string(value: str) -> bytes:
    data = value.encode()
    return struct.pack(">i", len(data)) + data


class _Store:
    def __init__(self) -> None:
        self.published: list[dict] = []

    def publish_schema(self, records: list[dict], origin: object = None) -> None:
        self.published += records


def test_known_digests():
    for password, digest in KNOWN.items():
        assert iotdb_password_digest(password).encode().hex() == digest


def test_java_reads_malformed_stretches_its_own_way():
    # a surrogate's encoding is one replacement, so is ED then a continuation, then a cut tail
    assert java_utf8_decode(b"\xed\xa0\x80") == "\ufffd"
    assert java_utf8_decode(b"\xed\xa7f") == "\ufffdf"
    assert java_utf8_decode(b"\xf0\x9f") == "\ufffd"
    assert java_utf8_decode(b"\xc3\xa9\xff") == "é\ufffd"


@given(st.text())
def test_valid_utf8_decodes_as_python(text):
    data = text.encode("utf-8", "replace")  # lone surrogates are not UTF-8
    assert java_utf8_decode(data) == data.decode()


@given(st.binary(max_size=40))
def test_any_bytes_decode_to_text_without_surrogates(data):
    text = java_utf8_decode(data)
    text.encode("utf-8")  # strict: no lone surrogate
    assert len(text) <= len(data)


def test_the_users_file_keeps_iotdbs_form_unless_turned_off(tmp_path: Path):
    users = UserStore(tmp_path / "users.json")
    users.set_password("u1", "lGPkMeXhHOqH", create=True)
    users.set_password("root", "root-pw-2")
    document = users.document()["users"]
    assert document["u1"]["iotdb"] == iotdb_password_digest("lGPkMeXhHOqH")
    assert "iotdb" not in document["root"]  # root never travels
    users.configure_iotdb_digest(False)
    assert "iotdb" not in users.document()["users"]["u1"]
    users.set_password("u1", "second-pw")
    assert "iotdb" not in users.document()["users"]["u1"]
    assert users.check("u1", "second-pw").is_success


def test_a_user_with_only_iotdbs_form_logs_in_with_it(tmp_path: Path):
    users = UserStore(tmp_path / "users.json")
    authority = PublishingAuthority(users, _Store())
    record, password = decode_author_plan(
        encode_author_plan(
            "CreateUserWithRawPassword", user="iu", password=iotdb_password_digest("iotdb-pw1")
        )
    )
    assert password is None and record["iotdb"] == iotdb_password_digest("iotdb-pw1")
    assert apply_auth_record(authority, record).is_success
    assert users.check("iu", "iotdb-pw1").is_success
    assert users.check("iu", "iotdb-pw1").is_success  # remembered
    assert users.check("iu", "iotdb-pw2").code == 801
    # a user with neither form never logs in
    users.update(lambda d: d["users"].__setitem__("none", {"salt": "", "hash": ""}))
    assert users.check("none", "").code == 801


def test_create_and_alter_user_to_a_real_iotdb(tmp_path: Path, caplog):
    users = UserStore(tmp_path / "users.json")
    store = _Store()
    authority = PublishingAuthority(users, store)
    authority.create_role("r1")
    authority.create_user("u1", "lGPkMeXhHOqH")
    authority.grant("USER", "u1", ["WRITE_DATA"], ["root.a.**"])
    authority.grant("USER", "u1", ["USE_UDF"], ["root.**"], grant_option=True)
    authority.grant_role("r1", "u1")
    authority.alter_password("u1", "gm*InAHi=^kjBw$3c_V!KCz@E25")
    create = next(r for r in store.published if r["op"] == "create_user")
    alter = next(r for r in store.published if r["op"] == "alter_user")
    assert create["iotdb"] == iotdb_password_digest("lGPkMeXhHOqH")
    assert alter["iotdb"] == iotdb_password_digest("gm*InAHi=^kjBw$3c_V!KCz@E25")
    assert [g["op"] for g in alter["grants"]] == ["grant", "grant", "grant_role"]
    # create: one CreateUserWithRawPassword with IoTDB's form, byte for byte
    [(_, body, count)] = list(auth_requests(create))
    assert count == 1
    assert body == (
        struct.pack(">h", 638) + _string("u1") + _string("") + _string(create["iotdb"])
        + _string("") + b"\x01" + struct.pack(">iii", 0, 0, 0)
    )  # fmt: skip
    assert body[16:43].hex() == KNOWN["lGPkMeXhHOqH"]  # after type, "u1", "", length
    # alter: DropUser, CreateUserWithRawPassword (new form), the grants, one record carried
    plans = list(auth_requests(alter))
    types = [struct.unpack(">h", b[:2])[0] for _, b, _ in plans]
    assert types == [623, 638, 626, 626, 627]
    assert [c for _, _, c in plans] == [0, 0, 0, 0, 1]
    assert decode_author_plan(plans[1][1])[0]["iotdb"] == alter["iotdb"]
    granted = [decode_author_plan(b)[0] for _, b, _ in plans[2:]]
    assert granted == [
        {"op": "grant", "kind": "USER", "name": "u1", "privileges": ["USE_UDF"], "paths": [],
         "grant_option": True},
        {"op": "grant", "kind": "USER", "name": "u1", "privileges": ["WRITE_DATA"],
         "paths": ["root.a.**"], "grant_option": False},
        {"op": "grant_role", "role": "r1", "user": "u1"},
    ]  # fmt: skip
    # the history (auth_snapshot) sends the form too; the records never hold a password
    snapshot = auth_snapshot(users.document())
    assert next(r for r in snapshot if r["op"] == "create_user")["iotdb"] == alter["iotdb"]
    assert "gm*InAHi" not in json.dumps(store.published) + caplog.text


def test_a_user_without_iotdbs_form_keeps_todays_behaviour(caplog):
    old = {"op": "create_user", "name": "old", "salt": "00ff", "hash": "ab" * 32}
    [(_, body, _)] = list(auth_requests(old))
    assert _string("pbkdf2-sha256$00ff$" + "ab" * 32) in body
    with caplog.at_level(logging.WARNING):
        assert list(auth_requests({**old, "op": "alter_user"})) == []
    assert "alter_user old not sent" in caplog.text and "ab" * 32 not in caplog.text


def test_a_pipecore_receiver_keeps_the_form_it_gets(tmp_path: Path):
    """pipecore → pipecore (29002): the form travels with the PBKDF2 hash; a receiver with
    the setting off keeps only the hash."""
    sender = UserStore(tmp_path / "a.json")
    sent = _Store()
    PublishingAuthority(sender, sent).create_user("u2", "pw-of-u2")
    [record] = sent.published
    for keep in (True, False):
        receiver = UserStore(tmp_path / f"b{keep}.json", iotdb_digest=keep)
        assert apply_auth_record(PublishingAuthority(receiver, _Store()), record).is_success
        kept = receiver.document()["users"]["u2"]
        assert ("iotdb" in kept) is keep
        assert receiver.check("u2", "pw-of-u2").is_success


def test_the_users_command_follows_the_node_setting(tmp_path: Path, monkeypatch):
    from pipecore.cli import main as pipecore_main

    def add(user: str) -> dict:
        assert pipecore_main(["users", "--data-dir", str(tmp_path), "add", user,
                              "--password", "pw-of-" + user]) == 0  # fmt: skip
        return dict(UserStore.for_data_dir(tmp_path).document()["users"][user])

    assert add("on1")["iotdb"] == iotdb_password_digest("pw-of-on1")
    monkeypatch.setenv("PIPECORE_IOTDB_PASSWORD_DIGEST", "false")
    assert "iotdb" not in add("off1")


def test_a_node_started_with_the_setting_off_forgets_the_forms(tmp_path: Path):
    from pipecore import Node

    users = UserStore.for_data_dir(tmp_path)
    users.set_password("u3", "pw-of-u3", create=True)
    assert "iotdb" in users.document()["users"]["u3"]
    with Node.open(tmp_path, {"iotdb_password_digest": False}, env={}) as node:
        assert node.users.iotdb_digest is False
        assert "iotdb" not in node.users.document()["users"]["u3"]
        assert node.users.check("u3", "pw-of-u3").is_success
