"""Pipes between a real IoTDB and `pipecore serve`, both directions: after the pipe settles,
SELECT on both sides is identical (IoTDB is the authority).

Every data type IoTDB 2.x has, aligned and non-aligned devices, nulls, deletions. The data is
written through the official client (IoTDB: tablets; pipecore: SQL INSERT).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

import pytest
from interop_data import (
    create_statements,
    device_data,
    expected,
    insert,
    insert_statements,
    select_points,
)
from iotdb_server import IoTDBServer
from pipecore_node import PipecoreNode

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]
_names = itertools.count()


def settle(
    want: Callable[[], dict[str, Any]], got: Callable[[], dict[str, Any]], timeout: float = 60
) -> dict[str, Any]:
    """Wait until both sides hold the same points; fail with the differing series."""
    deadline = time.monotonic() + timeout
    a: Any = None
    b: Any = None
    while time.monotonic() < deadline:
        try:
            a, b = want(), got()
        except Exception as exc:  # a side that has no such series yet
            b = exc
        if a == b:
            return a
        time.sleep(0.5)
    if isinstance(a, dict) and isinstance(b, dict):
        diff = {
            k: (len(a.get(k) or []), len(b.get(k) or []))
            for k in sorted(set(a) | set(b))
            if a.get(k) != b.get(k)
        }
        raise AssertionError(f"not settled after {timeout}s: series (want, got) counts {diff}")
    raise AssertionError(f"not settled after {timeout}s: {b!r}")


def _data(db: str, rows: int) -> list:
    return [
        device_data(f"{db}.plain", rows, aligned=False, seed=1),
        device_data(f"{db}.al", rows, aligned=True, seed=2),
    ]


# ---------------------------------------------------------------------- IoTDB -> pipecore


def _wait_until_live(iotdb: IoTDBServer, pipecore: PipecoreNode, db: str) -> None:
    """Until the pipe carries a probe point: its sources are running, so what is written next
    is realtime data. (CREATE PIPE returns before the DataNode starts the pipe, which can take
    seconds; data written before that is history, and a DELETE during the start races with
    the history snapshot of the file: see test_iotdb_delete_race_replayed.)"""
    iotdb.execute(f"insert into {db}.probe(time, s) values (1, 1)", f"flush {db}")
    settle(
        lambda: {f"{db}.probe.s": [(1, 1)]},
        lambda: select_points(pipecore.query, f"{db}.probe"),
    )


@pytest.mark.parametrize("mode", ["stream", "batch"])
def test_iotdb_to_pipecore_realtime(
    iotdb: IoTDBServer, database: str, pipecore: PipecoreNode, mode: str
) -> None:
    """Realtime data with a DELETE of unsealed points (IoTDB drops them before the flush: the
    DeleteDataNode goes at once, the TsFile later without them) and a DELETE of sealed points
    pipecore already holds. IoTDB 2.0.1 sends realtime data of user pipes as TsFiles whatever
    `realtime.mode` says."""
    db = database
    iotdb.execute(
        f"create database {db}",
        f"create pipe p{next(_names)} with source ('source.path'='{db}.**', "
        f"'source.inclusion'='data', 'source.realtime.mode'='{mode}') "
        f"with sink ('sink'='iotdb-thrift-sink', 'sink.node-urls'='{pipecore.url}', "
        "'sink.compressor'='zstd')",
    )
    _wait_until_live(iotdb, pipecore, db)
    data = _data(db, 300)
    insert(iotdb.session(), data)
    iotdb.execute(f"delete from {db}.plain.s_int32 where time <= {data[0].timestamps[20]}")
    iotdb.execute(f"flush {db}")
    truth = settle(
        lambda: select_points(iotdb.query, f"{db}.**"),
        lambda: select_points(pipecore.query, f"{db}.**"),
    )
    assert len(truth) == 21 and truth[f"{db}.al.s_blob"] == expected(data)[f"{db}.al.s_blob"]
    assert len(truth[f"{db}.plain.s_int32"]) < len(expected(data)[f"{db}.plain.s_int32"])
    iotdb.execute(f"delete from {db}.al.** where time >= {data[1].timestamps[250]}")
    truth = settle(
        lambda: select_points(iotdb.query, f"{db}.**"),
        lambda: select_points(pipecore.query, f"{db}.**"),
    )
    assert max(t for t, _ in truth[f"{db}.al.s_double"]) < data[1].timestamps[250]


def test_iotdb_to_pipecore_history_with_mods(
    iotdb: IoTDBServer, database: str, pipecore: PipecoreNode
) -> None:
    """Sealed TsFiles and their .mods2 (IoTDB 2.x) go over as files; the deletions hold."""
    db = database
    data = _data(db, 500)
    iotdb.execute(f"create database {db}")
    insert(iotdb.session(), data, rows_per_call=250)
    iotdb.execute(f"flush {db}")
    iotdb.execute(
        f"delete from {db}.plain.s_double where time <= {data[0].timestamps[99]}",
        f"delete from {db}.al.** where time >= {data[1].timestamps[450]}",
    )
    iotdb.execute(
        f"create pipe p{next(_names)} with source ('source.path'='{db}.**', "
        "'source.inclusion'='data', 'source.realtime.enable'='false') "
        f"with sink ('sink'='iotdb-thrift-sink', 'sink.node-urls'='{pipecore.url}')"
    )
    truth = settle(
        lambda: select_points(iotdb.query, f"{db}.**"),
        lambda: select_points(pipecore.query, f"{db}.**"),
    )
    assert len(truth[f"{db}.plain.s_double"]) < len(expected(data)[f"{db}.plain.s_double"])


# ---------------------------------------------------------------------- pipecore -> IoTDB


def _pipecore_to_iotdb(
    iotdb: IoTDBServer, pipecore: PipecoreNode, db: str, sink: str, *, realtime: bool
) -> None:
    data = _data(db, 300)
    pipecore.execute(f"create database {db}", *create_statements(data))
    pipecore.execute(*insert_statements(data if not realtime else data[:1]))
    if not realtime:
        pipecore.execute(f"flush {db}")  # history only: sealed TsFiles
    pipecore.execute(
        f"create pipe p{next(_names)} with source ('source.path'='{db}.**') "
        f"with sink ('sink'='iotdb-thrift-sink', 'sink.node-urls'='127.0.0.1:{iotdb.rpc_port}'"
        f"{sink})"
    )
    if realtime:
        pipecore.execute(*insert_statements(data[1:]))
    assert select_points(pipecore.query, f"{db}.**") == expected(data)
    settle(
        lambda: select_points(pipecore.query, f"{db}.**"),
        lambda: select_points(iotdb.query, f"{db}.**"),
        timeout=30,
    )


@pytest.mark.parametrize("batch", ["false", "true"])
def test_pipecore_to_iotdb_realtime_tablets(
    iotdb: IoTDBServer, database: str, pipecore: PipecoreNode, batch: str
) -> None:
    """IoTDB 2.x reads tsfile 2.x tablets only: the sink finds it out after the handshake
    (an empty type-11 probe) and sends types 11/13; `auto` picks format 4 for the history."""
    _pipecore_to_iotdb(iotdb, pipecore, database, f", 'sink.batch.enable'='{batch}'", realtime=True)


@pytest.mark.parametrize("version", ["auto", "4"])
def test_pipecore_to_iotdb_history_files(
    iotdb: IoTDBServer, database: str, pipecore: PipecoreNode, version: str
) -> None:
    """Sealed TsFiles, format v4 (IoTDB 2.x's types need it; `auto` picks v4 for IoTDB 2.x)."""
    _pipecore_to_iotdb(
        iotdb, pipecore, database, f", 'sink.tsfile.format-version'='{version}'", realtime=False
    )


def test_pipecore_deletions_into_iotdb(
    iotdb: IoTDBServer, database: str, pipecore: PipecoreNode
) -> None:
    """pipecore's realtime DELETEs reach IoTDB as DeleteDataNodes (MeasurementPath paths:
    IoTDB 2.0.1 casts every path to one), a single series and a wildcard pattern."""
    db = database
    data = _data(db, 300)
    pipecore.execute(f"create database {db}", *create_statements(data))
    pipecore.execute(
        f"create pipe p{next(_names)} with source ('source.path'='{db}.**', "
        "'source.inclusion'='data') "
        f"with sink ('sink'='iotdb-thrift-sink', 'sink.node-urls'='127.0.0.1:{iotdb.rpc_port}')"
    )
    pipecore.execute(*insert_statements(data))
    settle(
        lambda: select_points(pipecore.query, f"{db}.**"),
        lambda: select_points(iotdb.query, f"{db}.**"),
    )
    pipecore.execute(
        f"delete from {db}.plain.s_int32 where time <= {data[0].timestamps[20]}",
        f"delete from {db}.al.** where time >= {data[1].timestamps[250]}",
    )
    truth = settle(
        lambda: select_points(pipecore.query, f"{db}.**"),
        lambda: select_points(iotdb.query, f"{db}.**"),
    )
    assert len(truth[f"{db}.plain.s_int32"]) < len(expected(data)[f"{db}.plain.s_int32"])
    assert max(t for t, _ in truth[f"{db}.al.s_double"]) < data[1].timestamps[250]
