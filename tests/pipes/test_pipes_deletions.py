"""Realtime deletions cross the pipe (issue 15 #3), between real `pipecore serve` processes:
a DELETE on the sender goes as IoTDB 1.3 sends it (a DeleteDataNode in a plan-node request,
type 100), in order with the inserts around it, over the thrift (async and sync), SSL and
air-gap sinks, when the pipe includes ``data.delete`` (or the legacy ``SyncDelOp=true``);
the receiver applies it and ends with exactly the sender's data."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ssl_helpers import KEY_PWD, TRUST_PWD, Pki
from thrift_processes import Serve, free_port, start_all, wait_for

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

_DBS = itertools.count()


@pytest.fixture(scope="module")
def ssl_pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def trio(tmp_path_factory: pytest.TempPathFactory, ssl_pki: Pki) -> Iterator[dict[str, Any]]:
    """A (the sender), B (plain thrift and an air-gap receiver) and T (TLS only)."""
    tmp = tmp_path_factory.mktemp("nodes")
    gap_port = free_port()
    a = Serve(tmp, "A")
    b = Serve(
        tmp, "B", {"pipe_air_gap_receiver_enabled": True, "pipe_air_gap_receiver_port": gap_port}
    )
    t = Serve(
        tmp,
        "T",
        {
            "enable_thrift_ssl": True,
            "key_store_path": str(ssl_pki.key_p12()),
            "key_store_pwd": KEY_PWD,
        },
        client_context=ssl_pki.client_context(),
    )
    start_all(a, b, t)
    trust = ssl_pki.trust_p12(TRUST_PWD)
    sinks = {
        "thrift-async": (b, f"'sink'='iotdb-thrift-sink', 'sink.node-urls'='{b.url}'"),
        "thrift-sync": (b, f"'sink'='iotdb-thrift-sync-sink', 'sink.node-urls'='{b.url}'"),
        "air-gap": (
            b,
            f"'sink'='iotdb-air-gap-sink', 'sink.ip'='127.0.0.1', 'sink.port'='{gap_port}'",
        ),
        "ssl": (
            t,
            f"'sink'='iotdb-thrift-ssl-sink', 'sink.node-urls'='{t.url}', "
            f"'sink.ssl.trust-store-path'='{trust}', 'sink.ssl.trust-store-pwd'='{TRUST_PWD}'",
        ),
    }
    yield {"a": a, "sinks": sinks}
    for node in (a, b, t):
        node.stop()


def _rows(node: Serve, db: str) -> list[tuple[Any, ...]]:
    try:
        return node.rows(f"select ** from {db}.**")
    except Exception:
        return []


def _drop(node: Serve, pipe: str) -> None:
    node.sql(f"DROP PIPE {pipe}")


@pytest.mark.parametrize("link", ["thrift-async", "thrift-sync", "air-gap", "ssl"])
def test_realtime_deletions_follow_the_inserts(trio, link: str) -> None:
    a: Serve = trio["a"]
    b, sink = trio["sinks"][link]
    db = f"root.del{next(_DBS)}"
    pipe = f"del_{link.replace('-', '_')}"
    a.sql(f"CREATE PIPE {pipe} WITH SOURCE ('source.inclusion'='data') WITH SINK ({sink})")
    try:
        values = ", ".join(f"({t}, {t}, {t * 10})" for t in range(1, 11))
        a.sql(f"insert into {db}.d(time, s1, s2) values {values}")
        a.sql(f"delete from {db}.d.s1 where time <= 5")
        a.sql(f"insert into {db}.d(time, s1) values (3, 33)")  # after the deletion: kept
        a.sql(f"delete from {db}.d.* where time >= 9")
        a.sql(f"insert into {db}.d(time, s2) values (11, 110)")
        expected = _rows(a, db)
        assert len(expected) == 9 and expected[0][1] == "null"  # the sender's own state
        wait_for(lambda: _rows(b, db) == expected, 60, f"{link}: B = A", logs=(a, b))
    finally:
        _drop(a, pipe)


def test_deletions_stay_behind_without_data_delete(trio) -> None:
    """The default inclusion (data.insert) does not send deletions: the receiver keeps the
    points (as IoTDB)."""
    a: Serve = trio["a"]
    b, sink = trio["sinks"]["thrift-sync"]
    db = f"root.del{next(_DBS)}"
    a.sql(f"CREATE PIPE keep WITH SINK ({sink})")
    try:
        a.sql(f"insert into {db}.d(time, s1) values (1, 1), (2, 2)")
        a.sql(f"delete from {db}.d.s1 where time <= 1")
        a.sql(f"insert into {db}.d(time, s1) values (3, 3)")
        wait_for(lambda: len(_rows(b, db)) == 3, 60, "three rows at B", logs=(a, b))
        assert len(_rows(a, db)) == 2
    finally:
        _drop(a, "keep")


def test_legacy_sync_del_op(trio) -> None:
    """The sync tool's ``WITH SyncDelOp=true`` sends deletions; ``false`` does not."""
    a: Serve = trio["a"]
    b, _ = trio["sinks"]["thrift-sync"]
    host, port = b.url.split(":")
    a.sql(f"CREATE PIPESINK legacy_b AS IoTDB (ip='{host}', port={port})")
    for flag in ("true", "false"):
        db = f"root.del{next(_DBS)}"
        a.sql(f"CREATE PIPE legacy_{flag} TO legacy_b WITH SyncDelOp={flag}")
        a.sql(f"START PIPE legacy_{flag}")
        try:
            a.sql(f"insert into {db}.d(time, s1) values (1, 1), (2, 2)")
            a.sql(f"delete from {db}.d.s1 where time <= 1")
            a.sql(f"insert into {db}.d(time, s1) values (3, 3)")
            want = 2 if flag == "true" else 3
            wait_for(
                lambda db=db, want=want: len(_rows(b, db)) == want,
                60,
                f"SyncDelOp={flag}",
                logs=(a, b),
            )
        finally:
            _drop(a, f"legacy_{flag}")
    a.sql("DROP PIPESINK legacy_b")


@pytest.mark.parametrize("inclusion", ["data.insert", "data"])
def test_series_deleted_before_its_file_is_sent_is_not_created(trio, inclusion) -> None:
    a: Serve = trio["a"]
    b, sink = trio["sinks"]["thrift-async"]
    db = f"root.del{next(_DBS)}"
    a.sql(f"insert into {db}.d(time, kept, gone) values (1, 1, 1), (2, 2, 2)")
    a.sql("flush")
    a.sql(f"delete from {db}.d.gone where time <= 100")
    pipe = f"hist_{inclusion.replace('.', '_')}"
    a.sql(f"CREATE PIPE {pipe} WITH SOURCE ('source.inclusion'='{inclusion}') WITH SINK ({sink})")
    try:
        wait_for(lambda: b.count(f"{db}.**") == 2, 60, "the kept points at B", logs=(a, b))
        series = [r[0] for r in b.rows(f"show timeseries {db}.**")]
        assert series == [f"{db}.d.kept"]
    finally:
        _drop(a, pipe)


def test_plan_node_round_trip(tmp_path: Path) -> None:
    """The DeleteDataNode body decodes to what was encoded (paths with back-quotes too)."""
    from pipecore_thrift_sink.protocol import (
        DeleteDataNode,
        decode_delete_node,
        encode_delete_node,
    )

    node = DeleteDataNode(("root.sg.d.s1", "root.sg.`a.b`.**"), -5, 2**62, "id")
    assert decode_delete_node(encode_delete_node(node)) == node
