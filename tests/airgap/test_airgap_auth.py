"""Issue 16: users, roles and privileges (``source.inclusion=auth``) cross the air gap too,
history and realtime, between two real `pipecore serve` processes."""

from __future__ import annotations

from pathlib import Path

import pytest
from gap_helpers import free_port
from gap_processes import Serve
from thrift_processes import start_all, wait_for

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]


def auth_of(node: Serve) -> tuple:
    roles = sorted(str(r[0]) for r in node.rows("LIST ROLE"))
    return (
        sorted(str(r[0]) for r in node.rows("LIST USER")),
        roles,
        {r: sorted(node.rows(f"LIST PRIVILEGES OF ROLE `{r}`")) for r in roles},
        {r: sorted(node.rows(f"LIST USER OF ROLE `{r}`")) for r in roles},
    )


def test_users_over_the_air_gap(tmp_path: Path):
    gap_port = free_port()
    b, a = start_all(
        Serve(
            tmp_path,
            "B",
            {"pipe_air_gap_receiver_enabled": True, "pipe_air_gap_receiver_port": gap_port},
        ),
        Serve(tmp_path, "A"),
    )
    try:
        a.sql("CREATE USER `gap_user` 'gap-secret'")
        a.sql("CREATE ROLE `gap_role`")
        a.sql("GRANT WRITE ON root.gap.** TO ROLE `gap_role`")
        a.sql(
            "CREATE PIPE A2B WITH SOURCE ('source.inclusion'='auth') "
            "WITH SINK ('sink'='iotdb-air-gap-sink', "
            f"'sink.node-urls'='127.0.0.1:{gap_port}')"
        )
        want = auth_of(a)
        assert want[0] == ["gap_user", "root"]
        wait_for(lambda: auth_of(b) == want, 60, "the users on B", (a, b))
        a.sql("GRANT ROLE `gap_role` TO `gap_user`")
        a.sql("DROP USER `gap_user`")
        a.sql("CREATE ROLE `second`")
        want = auth_of(a)
        wait_for(lambda: auth_of(b) == want, 60, "the realtime changes on B", (a, b))
        assert want[1] == ["gap_role", "second"] and want[0] == ["root"]
        assert "gap-secret" not in a.log() + b.log()
    finally:
        a.stop()
        b.stop()
