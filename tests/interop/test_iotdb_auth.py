"""Users, roles and privileges from `pipecore serve` to a real IoTDB (issue 16, inclusion
``auth``): IoTDB's author plans (CreateRole, CreateUserWithRawPassword, GrantRole, GrantUser,
GrantRoleToUser, RevokeRole, DropRole, DropUser in type 200, after the config handshake),
history (the users file when the pipe starts) and realtime. Both ends end with the same LIST
ROLE, LIST USER OF ROLE and LIST PRIVILEGES OF ROLE / USER (IoTDB 2.0.1's columns)."""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable

import pytest
from iotdb_server import IoTDBServer
from pipecore_node import PipecoreNode, settle

from pipecore.cli.remote import RemoteSession

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]
_names = itertools.count()


def _row(row: tuple) -> tuple[str, ...]:
    """Path, privilege, grant option (IoTDB's client gives a bool, pipecore's text)."""
    return tuple(str(v).lower() for v in row[1:4])


def _view(query: Callable, users: list[str], roles: list[str]) -> dict[str, object]:
    present_roles = sorted(str(r[0]) for r in query("list role")[1] if str(r[0]) in roles)
    present_users = sorted(str(r[0]) for r in query("list user")[1] if str(r[0]) in users)
    return {
        "roles": present_roles,
        "users": present_users,
        "members": {r: sorted(str(x[0]) for x in query(f"list user of role {r}")[1])
                    for r in present_roles},
        "role_privileges": {
            r: sorted(_row(x) for x in query(f"list privileges of role {r}")[1])
            for r in present_roles
        },
        "user_privileges": {
            u: sorted(
                _row(x)
                for x in query(f"list privileges of user {u}")[1]
                if not str(x[0])  # the user's own, not its roles'
            )
            for u in present_users
        },
    }  # fmt: skip


def _logs_in(node: PipecoreNode, user: str, password: str) -> bool:
    try:
        RemoteSession("127.0.0.1", node.port, user, password, timeout=10).open().close()
    except Exception:
        return False
    return True


def _logs_in_iotdb(iotdb: IoTDBServer, user: str, password: str) -> bool:
    """Whether an official session to the real IoTDB opens as `user` / `password`."""
    from iotdb.Session import Session

    session = Session("127.0.0.1", iotdb.rpc_port, user, password)
    try:
        session.open(False)
    except Exception:
        return False
    session.close()
    return True


def _until(check: Callable[[], bool], node: PipecoreNode, what: str) -> None:
    deadline = time.monotonic() + 60
    while not check():
        assert time.monotonic() < deadline, f"{what}\n{node.log()[-3000:]}"
        time.sleep(0.5)


# MD5s with bytes that Java reads as UTF-8 otherwise than Python's errors="replace" (ED A7 then
# a non-continuation byte; ED AB F2 at the end): IoTDB's stored form of each is Java's reading
_PW1, _PW2 = "lGPkMeXhHOqH", "gm*InAHi=^kjBw$3c_V!KCz@E25"


def test_pipecore_user_logs_in_on_iotdb_and_password_change_travels(
    iotdb: IoTDBServer, pipecore: PipecoreNode
) -> None:
    """A user created on pipecore logs in on the real IoTDB with its password (it goes in
    IoTDB's own stored form, CreateUserWithRawPassword); after ALTER USER on pipecore the new
    password logs in there and the old one no more, the user keeping its role and privileges
    (DropUser, CreateUserWithRawPassword, its grants again). Neither password is logged."""
    n = next(_names)
    user, role, pipe = f"lu{n}a", f"lr{n}a", f"lp{n}"
    pipecore.execute(
        f"create role {role}",
        f"grant read_data on root.lg.** to role {role}",
        f"create user {user} '{_PW1}'",
        f"grant write_data on root.lg.** to user {user}",
        f"grant use_udf on root.** to user {user} with grant option",
        f"grant role {role} to {user}",
    )
    try:
        pipecore.execute(
            f"create pipe {pipe} with source ('source.inclusion'='auth') "
            f"with sink ('sink'='iotdb-thrift-sink', "
            f"'sink.node-urls'='127.0.0.1:{iotdb.rpc_port}')"
        )
        _until(lambda: _logs_in_iotdb(iotdb, user, _PW1), pipecore, "no login with the password")
        assert not _logs_in_iotdb(iotdb, user, _PW2)
        pipecore.execute(f"alter user {user} set password '{_PW2}'")
        _until(lambda: _logs_in_iotdb(iotdb, user, _PW2), pipecore, "no login after ALTER USER")
        assert not _logs_in_iotdb(iotdb, user, _PW1)
        got = settle(
            lambda: _view(pipecore.query, [user], [role]),
            lambda: _view(iotdb.query, [user], [role]),
            pipecore,
        )
        assert got["members"] == {role: [user]}  # type: ignore[comparison-overlap]
        assert len(got["user_privileges"][user]) == 2  # type: ignore[index]
        assert _PW1 not in pipecore.log() and _PW2 not in pipecore.log()
    finally:
        for statement in (f"drop pipe {pipe}",):
            with contextlib.suppress(Exception):
                pipecore.execute(statement)
        for statement in (f"drop user {user}", f"drop role {role}"):
            with contextlib.suppress(Exception):
                iotdb.execute(statement)


def test_pipecore_users_roles_and_privileges_reach_iotdb(
    iotdb: IoTDBServer, pipecore: PipecoreNode
) -> None:
    n = next(_names)
    user, user2, role, role2 = f"pu{n}a", f"pu{n}b", f"pr{n}a", f"pr{n}b"
    users, roles = [user, user2], [role, role2]
    pipecore.execute(
        f"create user {user} 'first-pw1'",
        f"create role {role}",
        f"grant read on root.ln.** to role {role}",
        f"grant manage_database, use_pipe on root.** to role {role} with grant option",
        f"grant role {role} to {user}",
    )
    try:
        pipecore.execute(
            f"create pipe ap{n} with source ('source.inclusion'='auth') "
            f"with sink ('sink'='iotdb-thrift-sink', "
            f"'sink.node-urls'='127.0.0.1:{iotdb.rpc_port}')"
        )
        got = settle(
            lambda: _view(pipecore.query, users, roles),
            lambda: _view(iotdb.query, users, roles),
            pipecore,
        )
        assert got["members"] == {role: [user]}  # type: ignore[comparison-overlap]
        # realtime
        pipecore.execute(
            f"create user {user2} 'second-pw2'",
            f"grant write_data on root.edge.** to user {user2}",
            f"grant use_udf on root.** to user {user2}",
            f"create role {role2}",
            f"revoke read_data on root.ln.** from role {role}",
            f"revoke role {role} from {user}",
            f"drop role {role2}",
        )
        got = settle(
            lambda: _view(pipecore.query, users, roles),
            lambda: _view(iotdb.query, users, roles),
            pipecore,
        )
        assert got["users"] == [user, user2]  # type: ignore[index]
        pipecore.execute(f"drop user {user2}")
        got = settle(
            lambda: _view(pipecore.query, users, roles),
            lambda: _view(iotdb.query, users, roles),
            pipecore,
        )
        assert got["users"] == [user]  # type: ignore[index]
    finally:
        for statement in (f"drop user {user}", f"drop user {user2}", f"drop role {role}",
                          f"drop role {role2}"):  # fmt: skip
            with contextlib.suppress(Exception):
                iotdb.execute(statement)


def test_iotdb_users_roles_and_privileges_reach_pipecore(
    iotdb: IoTDBServer, pipecore: PipecoreNode
) -> None:
    """The other way (realtime): a real IoTDB's author plans (type 200) applied by pipecore's
    receiver; IoTDB's CreateUser carries the password the receiver hashes itself."""
    n = next(_names)
    user, role = f"iu{n}a", f"ir{n}a"
    pipe = f"ia{n}"
    iotdb.execute(
        f"create pipe {pipe} with source ('source.inclusion'='auth', "
        "'source.history.enable'='false') "
        f"with sink ('sink'='iotdb-thrift-sink', 'sink.node-urls'='{pipecore.url}')"
    )
    try:
        iotdb.execute(
            f"create user {user} 'iotdb-pw1'",
            f"create role {role}",
            f"grant read_data on root.iot.** to role {role}",
            f"grant use_cq on root.** to role {role} with grant option",
            f"grant role {role} to {user}",
            f"grant write_schema on root.iot.** to user {user}",
        )
        got = settle(
            lambda: _view(iotdb.query, [user], [role]),
            lambda: _view(pipecore.query, [user], [role]),
            pipecore,
        )
        assert got["members"] == {role: [user]}  # type: ignore[comparison-overlap]
        # IoTDB 2.0.1's realtime CreateUser (621) carries the password in clear: pipecore
        # hashes it, so the user logs in here with its IoTDB password (never logged)
        assert _logs_in(pipecore, user, "iotdb-pw1")
        assert "iotdb-pw1" not in pipecore.log()
        # IoTDB's own sender sends a password change as UpdateUser (631), in clear too
        iotdb.execute(f"alter user {user} set password 'iotdb-pw2'")
        _until(lambda: _logs_in(pipecore, user, "iotdb-pw2"), pipecore, "ALTER USER not here")
        assert not _logs_in(pipecore, user, "iotdb-pw1")
        assert "iotdb-pw2" not in pipecore.log()
        iotdb.execute(f"revoke role {role} from {user}", f"drop role {role}")
        got = settle(
            lambda: _view(iotdb.query, [user], [role]),
            lambda: _view(pipecore.query, [user], [role]),
            pipecore,
        )
        assert got["roles"] == []  # type: ignore[index]
    finally:
        for statement in (f"drop pipe {pipe}", f"drop user {user}", f"drop role {role}"):
            with contextlib.suppress(Exception):
                iotdb.execute(statement)


def test_iotdbs_auth_history_reaches_pipecore(iotdb: IoTDBServer, pipecore: PipecoreNode) -> None:
    """IoTDB's users and roles made before the pipe (its history: the user, role and
    user-role files of its ConfigNode snapshot, 201/202 with fileType 1/2/3) reach pipecore:
    the same LIST views, and the user logs in on pipecore with its IoTDB password (the file
    holds IoTDB's stored form, which pipecore checks a login against)."""
    n = next(_names)
    user, role, pipe = f"hu{n}a", f"hr{n}a", f"hp{n}"
    iotdb.execute(
        f"create user {user} '{_PW1}'",
        f"create role {role}",
        f"grant read_data, write_schema on root.hist.** to role {role}",
        f"grant use_cq on root.** to role {role} with grant option",
        f"grant role {role} to {user}",
        f"grant write_data on root.hist.d1.** to user {user} with grant option",
        f"grant manage_database on root.** to user {user}",
    )
    try:
        iotdb.execute(
            f"create pipe {pipe} with source ('source.inclusion'='auth') "
            f"with sink ('sink'='iotdb-thrift-sink', 'sink.node-urls'='{pipecore.url}')"
        )
        got = settle(
            lambda: _view(iotdb.query, [user], [role]),
            lambda: _view(pipecore.query, [user], [role]),
            pipecore,
        )
        assert got["members"] == {role: [user]}  # type: ignore[comparison-overlap]
        assert _logs_in(pipecore, user, _PW1)
        assert not _logs_in(pipecore, user, _PW2)
        assert "auth snapshot ['" + user + "_role.profile']" in pipecore.log()  # the history
    finally:
        for statement in (f"drop pipe {pipe}", f"drop user {user}", f"drop role {role}"):
            with contextlib.suppress(Exception):
                iotdb.execute(statement)
