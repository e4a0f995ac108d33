"""A pipe source running as a user (``user`` / ``username`` with ``password``,
`pipecore.source_user`): CREATE / ALTER PIPE check the credentials (701 / 1107 / 801), SHOW
PIPES masks the password, and the source hands on only the series the user may read — a GRANT
reaching a running pipe, ALTER PIPE changing the user."""

from __future__ import annotations

import uuid

import pytest
from source_helpers import open_node, recording, wait_until

from pipecore import Node, SourceReader
from pipecore.server.users import UserStore
from pipecore.source_user import SourceUserError, check_source_user, takes_source_user
from pipecore.sql.errors import SqlError

PASSWORD = "s3cret-Passw0rd"


@pytest.fixture
def node(tmp_path):
    with open_node(tmp_path / "node") as n:
        n.run(f"CREATE USER u '{PASSWORD}'")
        yield n


def _code_and_message(node: Node, sql: str) -> tuple[int, str]:
    with pytest.raises(SqlError) as caught:
        node.run(sql)
    return caught.value.status_code, caught.value.reason


def _pipe(node: Node, source: str) -> str:
    name = "p" + uuid.uuid4().hex[:8]
    node.run(
        f"CREATE PIPE {name} WITH SOURCE ({source}) "
        f"WITH SINK ('sink'='recording-sink', 'sink.name'='{name}')"
    )
    return name


def _series(name: str) -> set[str]:
    return {series for series, _, _ in recording(name).point_set()}


def test_create_and_alter_refuse_bad_credentials(node: Node) -> None:
    sink = "WITH SINK ('sink'='recording-sink', 'sink.name'='x')"
    assert _code_and_message(node, f"CREATE PIPE a WITH SOURCE ('source.user'='u') {sink}") == (
        701,
        "Failed to create pipe a, in iotdb-source, password must be set when the username is "
        "specified.",
    )
    for source in (
        "'user'='u', 'password'='wrong'",
        "'extractor.username'='u', 'extractor.password'='wrong'",
        f"'user'='nobody', 'password'='{PASSWORD}'",
    ):
        assert _code_and_message(node, f"CREATE PIPE a WITH SOURCE ({source}) {sink}") == (
            801,
            "Failed to check password for pipe a.",
        )
    assert not node.run("SHOW PIPES").table().rows
    node.run(f"CREATE PIPE a WITH SOURCE ('user'='u', 'password'='{PASSWORD}') {sink}")
    assert _code_and_message(node, "ALTER PIPE a MODIFY SOURCE ('password'='wrong')") == (
        801,
        "Failed to check password for pipe a.",
    )
    assert _code_and_message(node, "ALTER PIPE a REPLACE SOURCE ('username'='u')") == (
        1107,
        "Failed to alter pipe a, in iotdb-source, password must be set when the username is "
        "specified.",
    )
    # another source's parameters are its own
    assert not takes_source_user({"source": "generated-source", "user": "u"})
    assert takes_source_user({"extractor": "IoTDB-Extractor", "user": "u"})


def test_show_pipes_masks_the_source_password(node: Node) -> None:
    name = _pipe(node, f"'source.user'='u', 'source.password'='{PASSWORD}'")
    text = " ".join(str(cell) for row in node.run("SHOW PIPES").table().rows for cell in row)
    assert name in text and "source.password=******" in text
    assert PASSWORD not in text


def test_the_source_sends_only_what_its_user_may_read(node: Node) -> None:
    node.run("GRANT READ_DATA ON root.sg.d1.s1 TO USER u")
    name = _pipe(node, f"'user'='u', 'password'='{PASSWORD}'")
    node.run("INSERT INTO root.sg.d1(time, s1, s2) VALUES (1, 1.0, 2.0)")
    node.run("INSERT INTO root.sg.d2(time, s1) VALUES (1, 3.0)")
    node.run("INSERT INTO root.sg.d1(time, s1) VALUES (2, 4.0)")
    wait_until(lambda: len(recording(name).point_set()) >= 2, what="d1.s1's two points")
    assert recording(name).point_set() == {("root.sg.d1.s1", 1, 1.0), ("root.sg.d1.s1", 2, 4.0)}
    # a grant reaches the running pipe (privileges are read again within half a second)
    node.run("GRANT READ_DATA ON root.sg.d2.** TO USER u")
    times = iter(range(3, 100_000))

    def d2_arrives() -> bool:
        node.run(f"INSERT INTO root.sg.d2(time, s1) VALUES ({next(times)}, 5.0)")
        return "root.sg.d2.s1" in _series(name)

    wait_until(d2_arrives, what="d2's data after the grant")
    assert _series(name) == {"root.sg.d1.s1", "root.sg.d2.s1"}
    assert ("root.sg.d2.s1", 1, 3.0) not in recording(name).point_set()  # skipped, not held


def test_history_files_are_split_to_the_users_series(node: Node) -> None:
    node.run("INSERT INTO root.sg.d1(time, s1, s2) VALUES (1, 1.0, 2.0)")
    node.run("INSERT INTO root.sg.d2(time, s1) VALUES (1, 3.0)")
    node.run("FLUSH")
    node.run("GRANT READ_DATA ON root.sg.d1.s2 TO USER u")
    name = _pipe(node, f"'user'='u', 'password'='{PASSWORD}'")
    wait_until(lambda: bool(recording(name).point_set()), what="the history")
    assert recording(name).point_set() == {("root.sg.d1.s2", 1, 2.0)}


def test_alter_pipe_changes_the_user(node: Node) -> None:
    node.run("GRANT READ_DATA ON root.sg.d1.** TO USER u")
    name = _pipe(node, "'inclusion'='data.insert'")  # as root: everything
    node.run("INSERT INTO root.sg.d2(time, s1) VALUES (1, 3.0)")
    wait_until(lambda: "root.sg.d2.s1" in _series(name), what="root's data")
    node.run(f"ALTER PIPE {name} MODIFY SOURCE ('username'='u', 'password'='{PASSWORD}')")
    recording(name).points.clear()
    node.run("INSERT INTO root.sg.d2(time, s1) VALUES (2, 3.0)")
    node.run("INSERT INTO root.sg.d1(time, s1) VALUES (2, 4.0)")
    wait_until(lambda: "root.sg.d1.s1" in _series(name), what="u's data")
    assert _series(name) == {"root.sg.d1.s1"}


def test_an_unknown_skipif_is_refused(node: Node) -> None:
    code, message = _code_and_message(
        node,
        f"CREATE PIPE a WITH SOURCE ('user'='u', 'password'='{PASSWORD}', 'skipif'='never') "
        "WITH SINK ('sink'='recording-sink')",
    )
    assert code != 200 and "skipif" in message


def test_check_source_user_needs_no_password_for_the_session_user(tmp_path) -> None:
    users = UserStore(tmp_path / "users.json")
    check_source_user({"user": "root"}, users, pipe="p", action="create", session_user="root")
    with pytest.raises(SourceUserError) as caught:
        check_source_user({"user": "root"}, users, pipe="p", action="alter", session_user="u")
    assert caught.value.code == 1107


def test_source_reader_reads_grants_again_after_its_refresh(tmp_path) -> None:
    users = UserStore(tmp_path / "users.json")
    users.set_password("u", PASSWORD, create=True)
    now = [0.0]
    reader = SourceReader("u", users, refresh_s=1.0, clock=lambda: now[0])
    assert not reader.may("READ_DATA", "root.sg.d.s")
    assert not reader.may_reach("READ_DATA", "root.sg")

    def grant(document: dict) -> None:
        document["users"]["u"]["privileges"] = {
            "root.sg.*.s": {"READ_DATA": False},
            "": {"MANAGE_DATABASE": False},
        }

    users.update(grant)
    assert not reader.may("READ_DATA", "root.sg.d.s")  # cached until the refresh
    now[0] = 1.0
    assert reader.may("READ_DATA", "root.sg.d.s")
    assert not reader.may("READ_DATA", "root.sg.d.t")
    assert not reader.may("READ_DATA", "root.sg.d.**")
    assert reader.may_reach("READ_DATA", "root.sg") and reader.may_reach("READ_DATA", "root.sg.d")
    assert not reader.may_reach("READ_DATA", "root.other")
    assert not reader.may("READ_SCHEMA", "root.sg.d.s")
    assert reader.has_global("MANAGE_DATABASE") and not reader.has_global("USE_PIPE")
    assert SourceReader("root", users).may("READ_DATA", "root.**")
