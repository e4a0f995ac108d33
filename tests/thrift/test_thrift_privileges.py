"""Privileges on the wire: the receiver refuses (803) a handshake user without WRITE_DATA /
WRITE_SCHEMA on what it writes (IoTDB 1.3.3+), and IoTDB's own Python client, logged in as a
non-root user of a `pipecore serve` process, gets 803 until a GRANT."""

from __future__ import annotations

import pytest
from test_thrift_receiver import _tsfile_bytes, client, handshake  # noqa: F401
from thrift_helpers import double_tablet
from thrift_processes import Serve

from pipecore.privileges import Authority
from pipecore_thrift_sink.protocol import (
    PipeRequestType,
    encode_file_piece,
    encode_file_seal_v1,
    encode_tablet_raw,
)

T = PipeRequestType


def test_receiver_refuses_a_user_without_write_data(receiver, client):  # noqa: F811
    receiver.users.set_password("edge", "pw12", create=True)
    authority = Authority(receiver.users)
    assert handshake(client, username="edge", password="pw12").code == 200
    body = encode_tablet_raw(double_tablet("root.r.d1", 0, 10))
    code, message, _ = client.transfer(1, T.TRANSFER_TABLET_RAW, body)
    assert code == 803 and "please add privilege WRITE_DATA" in message
    authority.grant("USER", "edge", ["WRITE_DATA"], ["root.r.**"])
    code, message, _ = client.transfer(1, T.TRANSFER_TABLET_RAW, body)
    assert code == 803 and "WRITE_SCHEMA" in message  # the series do not exist yet
    assert receiver.points() == 0
    authority.grant("USER", "edge", ["WRITE_SCHEMA"], ["root.r.**"])
    assert client.transfer(1, T.TRANSFER_TABLET_RAW, body).code == 200
    assert receiver.points() == 30
    other = encode_tablet_raw(double_tablet("root.elsewhere.d1", 0, 10))
    assert client.transfer(1, T.TRANSFER_TABLET_RAW, other).code == 803


def test_receiver_refuses_a_tsfile_the_user_may_not_write(receiver, client, tmp_path):  # noqa: F811
    receiver.users.set_password("edge", "pw12", create=True)
    assert handshake(client, username="edge", password="pw12").code == 200
    data = _tsfile_bytes(tmp_path, [double_tablet("root.f.d1", 0, 50)])
    name = "100-1-0-0.tsfile"
    client.transfer(1, T.TRANSFER_TS_FILE_PIECE, encode_file_piece(name, 0, data))
    code, message, _ = client.transfer(
        1, T.TRANSFER_TS_FILE_SEAL, encode_file_seal_v1(name, len(data))
    )
    assert code == 803 and "WRITE_DATA" in message
    assert receiver.points() == 0


@pytest.mark.subprocess
def test_official_client_as_a_non_root_user_gets_803(tmp_path):
    pytest.importorskip("iotdb", reason="the apache-iotdb client is a test dependency")
    from iotdb.Session import Session
    from iotdb.utils.exception import StatementExecutionException

    node = Serve(tmp_path, "node").start()
    try:
        node.sql("CREATE USER reader 'pass1'")
        session = Session("127.0.0.1", node.port, "reader", "pass1", zone_id="UTC")
        session.open(False)
        try:
            for statement in (
                "DELETE DATABASE root.sg",
                "CREATE PIPEPLUGIN p AS 'a.B' USING URI 'file:///tmp/p.py'",
                "LOAD CONFIGURATION",
            ):
                with pytest.raises(StatementExecutionException, match="803"):
                    session.execute_non_query_statement(statement)
            with pytest.raises(StatementExecutionException, match="803"):
                session.execute_query_statement("SELECT * FROM root.**")
            node.sql("GRANT MANAGE_DATABASE ON root.** TO USER reader")
            session.execute_non_query_statement("CREATE DATABASE root.sg")
        finally:
            session.close()
    finally:
        node.stop()


def test_a_failed_handshake_leaves_no_identity(receiver, client):  # noqa: F811
    assert handshake(client).code == 200  # root
    assert handshake(client, username="root", password="wrong").code == 801
    body = encode_tablet_raw(double_tablet("root.r.d1", 0, 10))
    assert client.transfer(1, T.TRANSFER_TABLET_RAW, body).code == 1811  # not root any more
    assert receiver.points() == 0


def test_failed_handshakes_lock_the_address_out(receiver, client, caplog):  # noqa: F811
    import logging

    caplog.set_level(logging.WARNING, logger="pipecore.logins")
    receiver.users.throttle.configure(3, 30.0)
    for _ in range(3):
        assert handshake(client, password="guess").code == 801
    assert "failed login of user 'root' from 127.0.0.1" in caplog.text
    code, message, _ = handshake(client)  # the right password, refused unchecked
    assert code == 822 and "Too many failed logins" in message


def test_schema_changes_need_write_schema(receiver, client):  # noqa: F811
    """Issue 16: a schema request (29002) and a CreateTimeSeriesNode (100/19) from a user
    without WRITE_SCHEMA on the path are refused with 803; with it they apply."""
    from pipecore_thrift_sink.protocol.schema_node import encode_create_timeseries
    from pipecore_thrift_sink.protocol.schema_plan import (
        SCHEMA_REQUEST_TYPE,
        SchemaPlan,
        encode_schema_plan,
    )

    receiver.users.set_password("schemer", "pw12", create=True)
    assert handshake(client, username="schemer", password="pw12").code == 200
    database = encode_schema_plan(SchemaPlan(({"op": "create_database", "name": "root.w"},)))
    series = encode_create_timeseries(
        {
            "device": "root.w.d",
            "measurement": "s",
            "type": "INT32",
            "encoding": "RLE",
            "compression": "LZ4",
            "aligned": False,
        }
    )
    code, message, _ = client.transfer(1, SCHEMA_REQUEST_TYPE, database)
    assert code == 803 and "WRITE_SCHEMA" in message
    assert client.transfer(1, T.TRANSFER_SCHEMA_PLAN, series).code == 803
    assert receiver.store.list_series("root.**") == []
    Authority(receiver.users).grant("USER", "schemer", ["WRITE_SCHEMA"], ["root.w.**"])
    assert client.transfer(1, SCHEMA_REQUEST_TYPE, database).code == 200
    assert client.transfer(1, T.TRANSFER_SCHEMA_PLAN, series).code == 200
    assert [s.path for s in receiver.store.list_series("root.**")] == ["root.w.d.s"]
