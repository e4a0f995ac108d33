"""Users, roles and privileges travel with a pipe between real `pipecore serve` processes
(issue 16, inclusion ``auth``): history (the users file when the pipe starts) and realtime
(each change), in pipecore's schema request (29002), so LIST USER / LIST ROLE / LIST
PRIVILEGES end equal on both ends; a user created on A logs in on B with its own password,
which no log shows; the receiver's user needs the privileges IoTDB's receiver asks for."""

from __future__ import annotations

import pytest
from thrift_processes import Serve, start_all, wait_for

from pipecore.cli.remote import RemoteSession

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]


@pytest.fixture(scope="module")
def ab(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("auth")
    made = start_all(Serve(tmp, "A"), Serve(tmp, "B"))
    yield made
    for node in made:
        node.stop()


def auth_of(node: Serve) -> dict[str, object]:
    users = sorted(str(r[0]) for r in node.rows("LIST USER"))
    roles = sorted(str(r[0]) for r in node.rows("LIST ROLE"))
    return {
        "users": users,
        "roles": roles,
        "user_privileges": {u: sorted(node.rows(f"LIST PRIVILEGES OF USER `{u}`")) for u in users},
        "role_privileges": {r: sorted(node.rows(f"LIST PRIVILEGES OF ROLE `{r}`")) for r in roles},
    }


def same(a: Serve, b: Serve, what: str) -> dict[str, object]:
    return wait_for(lambda: (s := auth_of(a)) == auth_of(b) and s, 30, what, logs=(a, b))


def logs_in(node: Serve, user: str, password: str) -> bool:
    try:
        RemoteSession("127.0.0.1", node.port, user, password, timeout=10).open().close()
    except Exception:
        return False
    return True


def test_users_roles_and_privileges_history_and_realtime(ab) -> None:
    a, b = ab
    a.sql("CREATE USER `thulab` 'first-secret'")
    a.sql("CREATE ROLE `admin`")
    a.sql("GRANT READ ON root.ln.** TO ROLE `admin`")
    a.sql("GRANT USE_PIPE, MANAGE_DATABASE ON root.** TO ROLE `admin` WITH GRANT OPTION")
    a.sql("GRANT ROLE `admin` TO `thulab`")
    a.sql(
        "CREATE PIPE p WITH SOURCE ('source.inclusion'='auth') "
        f"WITH SINK ('sink'='iotdb-thrift-sink', 'sink.node-urls'='{b.url}')"
    )
    got = same(a, b, "the users' snapshot on B")
    assert got["users"] == ["root", "thulab"] and got["roles"] == ["admin"]
    assert ("admin", "root.ln.**", "READ_DATA", "false") in got["role_privileges"]["admin"]
    assert logs_in(b, "thulab", "first-secret")

    a.sql("ALTER USER `thulab` SET PASSWORD 'second-secret'")
    a.sql("CREATE USER `edge` 'edge-pw1'")
    a.sql("GRANT WRITE_DATA ON root.edge.** TO USER `edge`")
    a.sql("REVOKE READ_DATA ON root.ln.** FROM ROLE `admin`")
    a.sql("REVOKE ROLE `admin` FROM `thulab`")
    a.sql("CREATE ROLE `gone`")
    a.sql("DROP ROLE `gone`")
    got = same(a, b, "the realtime changes on B")
    assert got["users"] == ["edge", "root", "thulab"]
    assert ("", "root.edge.**", "WRITE_DATA", "false") in got["user_privileges"]["edge"]
    assert wait_for(
        lambda: logs_in(b, "thulab", "second-secret"), 30, "the new password", logs=(a, b)
    )
    assert not logs_in(b, "thulab", "first-secret")
    a.sql("DROP USER `edge`")
    assert same(a, b, "the dropped user on B")["users"] == ["root", "thulab"]
    assert logs_in(b, "root", "root")  # root's own password is B's
    for secret in ("first-secret", "second-secret", "edge-pw1"):
        assert secret not in a.log() and secret not in b.log()
    a.sql("DROP PIPE p")


def test_the_receivers_user_needs_iotdbs_privileges(ab) -> None:
    """IoTDB's ConfigNode receiver: MANAGE_ROLE to create a role; without it 803 and the
    role is not made; once granted, the retried request goes through."""
    a, b = ab
    b.sql("CREATE USER `sender` 'sender-pw'")
    b.sql("GRANT WRITE ON root.** TO USER `sender`")
    a.sql(
        "CREATE PIPE q WITH SOURCE ('source.inclusion'='auth.role', "
        "'source.history.enable'='false') "
        f"WITH SINK ('sink'='iotdb-thrift-sink', 'sink.node-urls'='{b.url}', "
        "'sink.username'='sender', 'sink.password'='sender-pw')"
    )
    a.sql("CREATE ROLE `not_yet`")

    def refused() -> str:
        [row] = [r for r in a.rows("SHOW PIPES") if r[0] == "q"]
        return str(row[6]) if "MANAGE_ROLE" in str(row[6]) else ""

    wait_for(refused, 30, "the refusal in SHOW PIPES", logs=(a, b))
    assert "not_yet" not in [str(r[0]) for r in b.rows("LIST ROLE")]
    b.sql("GRANT MANAGE_ROLE ON root.** TO USER `sender`")
    wait_for(
        lambda: "not_yet" in [str(r[0]) for r in b.rows("LIST ROLE")],
        60,
        "the role once the sender's user may make it",
        logs=(a, b),
    )
    a.sql("DROP PIPE q")
