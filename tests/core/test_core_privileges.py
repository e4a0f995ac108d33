"""IoTDB 1.3's user/role privileges: every authority statement, the 803 refusals of a user
without rights (and their end after GRANT), root's immunity, persistence across a restart,
and the path-pattern law behind path privileges."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipecore import Node
from pipecore.cli.remote import RemoteSession, ServerError
from pipecore.privileges import pattern_covers
from pipecore.sql.errors import SqlError


def _code(node: Node, sql: str, user: str | None) -> int:
    try:
        node.run(sql, user=user)
    except SqlError as exc:
        return exc.status_code
    return 200


def _rows(node: Node, sql: str, user: str | None = None) -> list[tuple]:
    outcome = node.run(sql, user=user)
    assert outcome.data is not None
    return [tuple(r) for r in outcome.table().rows]


@pytest.fixture
def node(tmp_path: Path):
    with Node.open(tmp_path / "node") as n:
        n.run("CREATE DATABASE root.sg")
        n.run("INSERT INTO root.sg.d(time, s) VALUES (1, 1)")
        n.run("CREATE USER u 'pass1'")
        yield n


@pytest.mark.parametrize(
    ("sql", "privilege"),
    [
        ("DELETE DATABASE root.sg", "MANAGE_DATABASE"),
        ("CREATE DATABASE root.other", "MANAGE_DATABASE"),
        ("CREATE PIPEPLUGIN p AS 'x.Y' USING URI 'file:///nonexistent/p.py'", "USE_PIPE"),
        ("SHOW PIPES", "USE_PIPE"),
        ("SHOW PIPE RECEIVERS", "USE_PIPE"),
        ("SELECT s FROM root.sg.d", "READ_DATA"),
        ("INSERT INTO root.sg.d(time, s) VALUES (2, 2)", "WRITE_DATA"),
        ("CREATE TIMESERIES root.sg.d.t INT32", "WRITE_SCHEMA"),
        ("SHOW TIMESERIES root.sg.**", "READ_SCHEMA"),
        ("DELETE FROM root.sg.d.s", "WRITE_DATA"),
        ("FLUSH", "MAINTAIN"),
        ("LOAD CONFIGURATION", "MAINTAIN"),
        ("CREATE USER v 'pass2'", "MANAGE_USER"),
        ("CREATE ROLE r2", "MANAGE_ROLE"),
    ],
)
def test_a_user_without_the_privilege_gets_803_then_grant_lets_it(node, sql, privilege):
    with pytest.raises(SqlError) as refused:
        node.run(sql, user="u")
    assert refused.value.status_code == 803
    assert f"No permissions for this operation, please add privilege {privilege}" in str(
        refused.value
    )
    node.run(f"GRANT {privilege} ON root.** TO USER u")
    assert _code(node, sql, "u") != 803


def test_load_needs_write_data_on_the_files_series(node, tmp_path):
    node.run("FLUSH")
    node.run("CREATE DATABASE root.ld")
    node.run("INSERT INTO root.ld.d(time, s) VALUES (5, 5)")
    node.run("FLUSH")
    [tsfile] = [p for p in (node.data_dir).rglob("*.tsfile") if "ld" in str(p.parent)] or [None]
    assert tsfile is not None
    copy = tmp_path / "copy.tsfile"
    copy.write_bytes(tsfile.read_bytes())
    node.run("DELETE DATABASE root.ld")
    with pytest.raises(SqlError) as refused:
        node.run(f"LOAD '{copy}'", user="u")
    assert refused.value.status_code == 803 and "WRITE_DATA on [root.ld.d.s]" in str(refused.value)
    node.run("GRANT WRITE_DATA ON root.ld.** TO USER u")
    with pytest.raises(SqlError, match="WRITE_SCHEMA"):  # it would create root.ld.d.s
        node.run(f"LOAD '{copy}'", user="u")
    node.run("GRANT WRITE_SCHEMA ON root.ld.** TO USER u")
    node.run(f"LOAD '{copy}'", user="u")
    assert _rows(node, "SELECT s FROM root.ld.d")[0][1] == "5.0"


def test_path_privileges_cover_only_their_patterns(node):
    node.run("GRANT READ_DATA ON root.sg.d.* TO USER u")
    assert _code(node, "SELECT s FROM root.sg.d", "u") == 200
    assert _code(node, "SELECT * FROM root.sg.d", "u") == 200
    assert _code(node, "SELECT * FROM root.sg.**", "u") == 803  # ** reaches deeper
    assert _code(node, "SELECT s FROM root.other.d", "u") == 803


def test_every_authority_statement(node):
    node.run("CREATE ROLE reader")
    node.run("GRANT READ_DATA, READ_SCHEMA ON root.sg.** TO ROLE reader")
    node.run("GRANT USE_PIPE ON root.** TO USER u WITH GRANT OPTION")
    node.run("GRANT ROLE reader TO u")
    assert _rows(node, "LIST USER") == [("root",), ("u",)]
    assert _rows(node, "LIST ROLE") == [("reader",)]
    assert _rows(node, "LIST USER OF ROLE reader") == [("u",)]
    assert _rows(node, "LIST ROLE OF USER u") == [("reader",)]
    assert _rows(node, "LIST PRIVILEGES OF USER u") == [
        ("", "root.**", "USE_PIPE", "true"),
        ("reader", "root.sg.**", "READ_DATA", "false"),
        ("reader", "root.sg.**", "READ_SCHEMA", "false"),
    ]
    assert _rows(node, "LIST PRIVILEGES OF ROLE reader") == [
        ("reader", "root.sg.**", "READ_DATA", "false"),
        ("reader", "root.sg.**", "READ_SCHEMA", "false"),
    ]
    outcome = node.run("LIST PRIVILEGES OF ROLE reader")
    assert outcome.data is not None
    assert list(outcome.data.columns) == ["Role", "Path", "Privileges", "GrantOption"]
    assert _code(node, "SELECT s FROM root.sg.d", "u") == 200
    node.run("REVOKE ROLE reader FROM u")
    assert _code(node, "SELECT s FROM root.sg.d", "u") == 803
    node.run("REVOKE USE_PIPE ON root.** FROM USER u")
    assert _rows(node, "LIST PRIVILEGES OF USER u") == []
    assert _code(node, "REVOKE USE_PIPE ON root.** FROM USER u", None) == 811
    node.run("ALTER USER u SET PASSWORD 'newpass'")
    assert node.users.check("u", "newpass").is_success
    node.run("ALTER USER u SET PASSWORD 'mine1'", user="u")  # one's own password
    assert _code(node, "ALTER USER root SET PASSWORD 'hijack'", "u") == 803
    node.run("DROP ROLE reader")
    node.run("DROP USER u")
    assert _rows(node, "LIST USER") == [("root",)]
    # the errors, with IoTDB's codes
    assert _code(node, "DROP USER root", None) == 814
    assert _code(node, "DROP USER ghost", None) == 804
    assert _code(node, "DROP ROLE ghost", None) == 808
    node.run("CREATE ROLE r")
    assert _code(node, "CREATE ROLE r", None) == 809
    assert _code(node, "CREATE USER root 'abcd'", None) == 805
    assert _code(node, "GRANT FLY ON root.** TO ROLE r", None) == 813
    assert _code(node, "GRANT READ_DATA ON root.** TO USER root", None) == 814
    assert _code(node, "CREATE USER w 'a b c'", None) == 303


def test_grant_needs_the_grant_option(node):
    node.run("CREATE USER v 'pass2'")
    node.run("GRANT READ_DATA ON root.sg.** TO USER u")
    assert _code(node, "GRANT READ_DATA ON root.sg.** TO USER v", "u") == 817
    node.run("GRANT READ_DATA ON root.sg.** TO USER u WITH GRANT OPTION")
    assert _code(node, "GRANT READ_DATA ON root.sg.d.** TO USER v", "u") == 200
    assert _code(node, "GRANT READ_DATA ON root.** TO USER v", "u") == 817  # wider than held


def test_root_has_everything_and_cannot_be_dropped(node):
    assert len(_rows(node, "LIST PRIVILEGES OF USER root")) == 14
    assert _code(node, "DELETE DATABASE root.sg", "root") == 200
    assert _code(node, "DROP USER root", "root") == 814


def test_users_roles_and_privileges_survive_a_restart(tmp_path):
    with Node.open(tmp_path / "n") as node:
        node.run("CREATE USER u 'pass1'")
        node.run("CREATE ROLE r")
        node.run("GRANT WRITE_DATA ON root.a.** TO ROLE r")
        node.run("GRANT ROLE r TO u")
        node.run("GRANT MAINTAIN ON root.** TO USER u")
    users_file = tmp_path / "n" / "system" / "users.json"
    assert "pass1" not in users_file.read_text()
    assert json.loads(users_file.read_text())["roles"]["r"]
    with Node.open(tmp_path / "n") as node:
        assert _rows(node, "LIST PRIVILEGES OF USER u") == [
            ("", "root.**", "MAINTAIN", "false"),
            ("r", "root.a.**", "WRITE_DATA", "false"),
        ]
        assert node.users.check("u", "pass1").is_success
        assert _code(node, "FLUSH", "u") == 200


def test_remote_session_of_a_non_root_user(tmp_path):
    with Node.open(tmp_path / "node") as node:
        node.run("CREATE USER u 'pass1'")
        host, port = node.serve("127.0.0.1", 0)
        with RemoteSession(host, port, "u", "pass1") as session:
            with pytest.raises(ServerError, match="803"):
                session.run("CREATE DATABASE root.x")
            node.run("GRANT MANAGE_DATABASE ON root.** TO USER u")
            session.run("CREATE DATABASE root.x")


_NODE = st.sampled_from(["a", "b", "*", "**"])
_PATTERN = st.lists(_NODE, min_size=1, max_size=4).map(lambda n: ("root", *n))
_CONCRETE = st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=6).map(
    lambda n: ("root", *n)
)


def _matches(pattern: tuple[str, ...], path: tuple[str, ...]) -> bool:
    if not pattern:
        return not path
    if not path:
        return False
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_matches(rest, path[i:]) for i in range(1, len(path) + 1))
    return head in ("*", path[0]) and _matches(rest, path[1:])


@given(_PATTERN, _PATTERN, _CONCRETE)
def test_a_covering_pattern_matches_every_path_the_covered_one_does(granted, wanted, path):
    # the law: covers(g, w) and w matches p  =>  g matches p
    if pattern_covers(granted, wanted) and _matches(wanted, path):
        assert _matches(granted, path)


@given(_PATTERN)
def test_a_pattern_covers_itself_and_root_dstar_covers_all(pattern):
    assert pattern_covers(pattern, pattern)
    assert pattern_covers(("root", "**"), pattern)


def test_only_root_changes_roots_password(node):
    node.run("GRANT MANAGE_USER ON root.** TO USER u")
    assert _code(node, "ALTER USER root SET PASSWORD 'taken'", "u") == 803
    assert _code(node, "CREATE USER v 'pass2'", "u") == 200
    assert node.users.check("root", "root").is_success


@given(_PATTERN, _CONCRETE)
def test_on_a_concrete_path_covering_is_matching(granted, path):
    assert pattern_covers(granted, path) == _matches(granted, path)


def test_system_and_security_shorthands() -> None:
    """IoTDB's later SYSTEM / SECURITY groups (IoTDBPipePermissionIT grants them)."""
    from pipecore.privileges import GLOBAL_PRIVILEGES, expand

    assert expand(["security"]) == ["MANAGE_USER", "MANAGE_ROLE"]
    assert set(expand(["SYSTEM", "SECURITY"])) == GLOBAL_PRIVILEGES
    assert expand(["read", "SYSTEM"])[:2] == ["READ_DATA", "READ_SCHEMA"]
