"""The node's users: the `pipecore users` command, SQL session logins and receiver handshakes
check the same `<data dir>/system/users.json`."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipecore import Node
from pipecore.cli import main as pipecore_main
from pipecore.cli.remote import RemoteSession, ServerError
from pipecore.server.users import UserStore


def _users(data_dir: Path, *args: str) -> int:
    return pipecore_main(["users", "--data-dir", str(data_dir), *args])


def test_users_command_keeps_only_salted_hashes(tmp_path: Path, capsys) -> None:
    assert _users(tmp_path, "list") == 0
    assert capsys.readouterr().out.split() == ["root"]
    assert _users(tmp_path, "passwd", "root", "--password", "n3w") == 0
    assert _users(tmp_path, "add", "edge", "--password", "e") == 0
    assert _users(tmp_path, "drop", "nobody") == 1
    users = UserStore.for_data_dir(tmp_path)
    assert users.check("root", "root").code == 801
    assert users.check("nobody", "x").code == 804
    assert users.check("root", "n3w").is_success and users.check("edge", "e").is_success
    assert "n3w" not in users.path.read_text()


def test_sql_sessions_log_in_with_the_nodes_users(tmp_path: Path) -> None:
    with Node.open(tmp_path / "node") as node:
        host, port = node.serve("127.0.0.1", 0)
        with RemoteSession(host, port, "root", "root") as session:
            assert session.run("SHOW DATABASES").table().columns[0] == "Database"
        assert _users(node.data_dir, "passwd", "root", "--password", "s3cret") == 0
        with pytest.raises(ServerError, match=r"801|password"):
            RemoteSession(host, port, "root", "root").run("SHOW DATABASES")
        with RemoteSession(host, port, "root", "s3cret") as session:
            assert session.run("SHOW DATABASES").table().columns[0] == "Database"
