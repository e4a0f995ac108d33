"""Authentication hygiene: failed logins are logged with user and address and lock the
address out; unauthenticated calls with bad arguments get a status (no traceback); failed
statements are logged masked and truncated; pipe passwords are encrypted in the catalog."""

from __future__ import annotations

import json
import logging
import stat
import time
from pathlib import Path

import pytest

from pipecore import Node
from pipecore.cli.remote import RemoteSession, ServerError
from pipecore.logins import loggable_statement
from pipecore.rpc import RpcClient
from pipecore.rpc import thrift as t


def _login(host: str, port: int, password: str) -> None:
    with RemoteSession(host, port, "root", password) as session:
        session.run("SHOW DATABASES")


def test_failed_logins_are_logged_and_lock_the_address_out(tmp_path: Path, caplog) -> None:
    config = {"login_lock_threshold": 3, "login_lock_seconds": 0.6}
    caplog.set_level(logging.WARNING, logger="pipecore.logins")
    with Node.open(tmp_path / "node", config) as node:
        host, port = node.serve("127.0.0.1", 0)
        for _ in range(3):
            with pytest.raises(ServerError, match="801"):
                _login(host, port, "guess")
        assert "failed login of user 'root' from 127.0.0.1 (3 in a row)" in caplog.text
        # locked: even the right password is refused, unchecked
        with pytest.raises(ServerError, match=r"Too many failed logins from 127\.0\.0\.1"):
            _login(host, port, "root")
        time.sleep(0.7)
        _login(host, port, "root")  # the lock ends, and a success clears the count
        with pytest.raises(ServerError, match="801"):
            _login(host, port, "guess")
        _login(host, port, "root")


def test_each_further_failure_doubles_the_lock(tmp_path: Path) -> None:
    with Node.open(tmp_path / "node", {"login_lock_threshold": 1, "login_lock_seconds": 5}) as n:
        throttle = n.users.throttle
        assert not n.users.check("root", "x", address="10.9.9.9").is_success
        refused = n.users.check("root", "root", address="10.9.9.9")
        assert refused.code == 822 and "try again in 5 s" in (refused.message or "")
        assert n.users.check("root", "root", address="10.9.9.8").is_success  # per address
        throttle._failures["10.9.9.9"] = (1, 0.0, time.monotonic())  # lock over, count kept
        assert not n.users.check("root", "x", address="10.9.9.9").is_success
        refused = n.users.check("root", "root", address="10.9.9.9")
        assert "try again in 10 s" in (refused.message or "")


def test_unauthenticated_calls_with_bad_arguments_get_a_status(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO)
    with Node.open(tmp_path / "node") as node:
        host, port = node.serve("127.0.0.1", 0)
        with RpcClient(host, port, timeout=10) as client:
            resp = client.call("executeStatementV2", req=None)
            assert resp.status.code == 303
            resp = client.call(
                "executeStatementV2", req=t.TSExecuteStatementReq(sessionId=1, statement=None)
            )
            assert resp.status.code == 802  # not logged in
            resp = client.call("fetchResultsV2", req=t.TSFetchResultsReq(sessionId=1))
            assert resp.status.code == 802
            status = client.call("closeSession", req=None)
            assert status.code == 303
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.exc_info]


def test_failed_statements_are_logged_masked_and_truncated(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="pipecore.server.sql_session")
    with Node.open(tmp_path / "node") as node:
        host, port = node.serve("127.0.0.1", 0)
        with RemoteSession(host, port, "root", "root") as session:
            with pytest.raises(ServerError):
                session.run("CREATE USER bob 'x'")  # refused: too short
            with pytest.raises(ServerError):
                session.run("SELECT " + ", ".join(f"s{i}" for i in range(2000)) + " FROM nowhere")
    assert "statement of session" in caplog.text
    assert "'x'" not in caplog.text and "'******'" in caplog.text
    assert "s1999" not in caplog.text and "more characters" in caplog.text
    assert loggable_statement("ALTER USER u SET PASSWORD 'p4ss'") == (
        "ALTER USER u SET PASSWORD '******'"
    )


def test_pipe_passwords_are_encrypted_in_the_catalog(tmp_path: Path) -> None:
    with Node.open(tmp_path / "receiver") as receiver:
        host, port = receiver.serve("127.0.0.1", 0)
        receiver.run("CREATE USER edge 'Sup3rSecret!'")
        sql = (
            "CREATE PIPE p WITH SINK ('sink'='iotdb-thrift-sink', "
            f"'sink.node-urls'='{host}:{port}', 'sink.username'='edge', "
            "'sink.password'='Sup3rSecret!')"
        )
        with Node.open(tmp_path / "node") as node:
            node.run(sql)
            node.run("STOP PIPE p")
            meta = tmp_path / "node" / "pipe" / "meta" / "p.json"
            text = meta.read_text()
            assert "Sup3rSecret!" not in text
            sealed = json.loads(text)["sink"]["sink.password"]
            assert sealed.startswith("pipecore-encrypted:v1:")
            key = tmp_path / "node" / "system" / "node.key"
            assert stat.S_IMODE(key.stat().st_mode) == 0o600
        with Node.open(tmp_path / "node") as node:  # read back after a restart
            [info] = node.list_pipes()
            assert info.sink.get("sink.password") == "Sup3rSecret!"
