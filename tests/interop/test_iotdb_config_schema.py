"""The ConfigNode part of schema sync between a real IoTDB and `pipecore serve` (issue 16):
databases and schema templates, history (IoTDB's config snapshot, types 201/202) and realtime
(config plans, type 200), in both directions.

* IoTDB → pipecore: IoTDB's ConfigNode runs its own sink (handshake 50, then plans and
  snapshot); pipecore applies them. The inclusions are the ConfigNode's only
  (``schema.database``, ``schema.timeseries.template.{create,set,unset,drop,alter}``): every
  schema-region inclusion also makes IoTDB send the schema region's snapshot (101/102), which
  is the schema-region half (not here).
* pipecore → IoTDB: databases (empty ones too) as CreateDatabase / DeleteDatabase config plans
  after a config handshake, which IoTDB's DataNode passes to its ConfigNode.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator

import pytest
from iotdb_server import IoTDBServer
from pipecore_node import PipecoreNode, settle

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]
_names = itertools.count()
_TEMPLATE_PARTS = ",".join(
    f"schema.timeseries.template.{p}" for p in ("create", "set", "unset", "drop", "alter")
)


@pytest.fixture
def below(iotdb: IoTDBServer, database: str) -> Iterator[str]:
    """A prefix (not a database) under which the test makes its databases; they are deleted
    afterwards on the IoTDB side."""
    yield database
    with contextlib.suppress(Exception):  # none left
        iotdb.execute(f"delete database {database}.**")


def _databases(query, prefix: str) -> list[str]:
    _, rows = query("show databases")
    return sorted(str(r[0]) for r in rows if str(r[0]).startswith(prefix + "."))


def _iotdb_pipe(iotdb: IoTDBServer, prefix: str, inclusion: str, pipecore: PipecoreNode) -> None:
    iotdb.execute(
        f"create pipe c{next(_names)} with source ('source.path'='{prefix}.**', "
        f"'source.inclusion'='{inclusion}') "
        f"with sink ('sink'='iotdb-thrift-sink', 'sink.node-urls'='{pipecore.url}')"
    )


def test_iotdb_databases_reach_pipecore(
    iotdb: IoTDBServer, below: str, pipecore: PipecoreNode
) -> None:
    """History (two empty databases, IoTDB's config snapshot), realtime CREATE DATABASE and
    DELETE DATABASE."""
    p = below
    iotdb.execute(f"create database {p}.a", f"create database {p}.b")
    _iotdb_pipe(iotdb, p, "schema.database", pipecore)
    settle(lambda: [f"{p}.a", f"{p}.b"], lambda: _databases(pipecore.query, p), pipecore)
    iotdb.execute(f"create database {p}.c", f"delete database {p}.b")
    want = lambda: _databases(iotdb.query, p)  # noqa: E731
    settle(want, lambda: _databases(pipecore.query, p), pipecore)
    assert want() == [f"{p}.a", f"{p}.c"]


def _template_nodes(query, name: str) -> list[tuple[str, ...]]:
    _, rows = query(f"show nodes in schema template {name}")
    return sorted(tuple(str(v) for v in r[:4]) for r in rows)


def _paths_set(query, name: str) -> list[str]:
    _, rows = query(f"show paths set schema template {name}")
    return sorted(str(r[0]) for r in rows)


def _templates(query, names: set[str]) -> list[str]:
    _, rows = query("show schema templates")
    return sorted(str(r[0]) for r in rows if str(r[0]) in names)


def test_iotdb_templates_reach_pipecore(
    iotdb: IoTDBServer, below: str, pipecore: PipecoreNode
) -> None:
    """A template made and set before the pipe (snapshot), one made, set, unset and dropped
    after it (realtime); their measurements, types, encodings and compressions."""
    p = below
    n = next(_names)
    t1, t2 = f"ct{n}a", f"ct{n}b"
    try:
        iotdb.execute(
            f"create database {p}.a",
            f"create schema template {t1} (s1 INT32 encoding=RLE compressor=SNAPPY, "
            "s2 FLOAT encoding=GORILLA)",
            f"set schema template {t1} to {p}.a.d",
        )
        _iotdb_pipe(iotdb, p, f"schema.database,{_TEMPLATE_PARTS}", pipecore)
        iotdb.execute(
            f"create schema template {t2} aligned (x TEXT encoding=DICTIONARY, y INT64)",
            f"create database {p}.b",
            f"set schema template {t2} to {p}.b",
        )
        settle(
            lambda: (_template_nodes(iotdb.query, t1), _template_nodes(iotdb.query, t2)),
            lambda: (_template_nodes(pipecore.query, t1), _template_nodes(pipecore.query, t2)),
            pipecore,
        )
        settle(
            lambda: (_paths_set(iotdb.query, t1), _paths_set(iotdb.query, t2)),
            lambda: (_paths_set(pipecore.query, t1), _paths_set(pipecore.query, t2)),
            pipecore,
        )
        assert _paths_set(pipecore.query, t1) == [f"{p}.a.d"]
        iotdb.execute(f"unset schema template {t2} from {p}.b", f"drop schema template {t2}")
        settle(
            lambda: _templates(iotdb.query, {t1, t2}),
            lambda: _templates(pipecore.query, {t1, t2}),
            pipecore,
        )
        assert _templates(pipecore.query, {t1, t2}) == [t1]
    finally:
        for t, path in ((t1, f"{p}.a.d"), (t2, f"{p}.b")):
            with contextlib.suppress(Exception):
                iotdb.execute(f"unset schema template {t} from {path}")
            with contextlib.suppress(Exception):
                iotdb.execute(f"drop schema template {t}")


def test_pipecore_databases_reach_iotdb(
    iotdb: IoTDBServer, below: str, pipecore: PipecoreNode
) -> None:
    """Empty databases (history snapshot and realtime) and DELETE DATABASE, as config plans
    IoTDB's DataNode passes to its ConfigNode."""
    p = below
    pipecore.execute(f"create database {p}.a", f"create database {p}.b")
    pipecore.execute(
        f"create pipe c{next(_names)} with source ('source.path'='{p}.**', "
        "'source.inclusion'='schema.database') "
        f"with sink ('sink'='iotdb-thrift-sink', 'sink.node-urls'='127.0.0.1:{iotdb.rpc_port}')"
    )
    settle(lambda: [f"{p}.a", f"{p}.b"], lambda: _databases(iotdb.query, p), pipecore)
    pipecore.execute(f"create database {p}.c", f"delete database {p}.a")
    want = lambda: _databases(pipecore.query, p)  # noqa: E731
    settle(want, lambda: _databases(iotdb.query, p), pipecore)
    assert want() == [f"{p}.b", f"{p}.c"]


def _ttls(query, prefix: str) -> tuple[list[str], list[tuple[str, str]]]:
    columns, rows = query("show all ttl")
    mine = sorted((str(r[0]), str(r[1])) for r in rows if str(r[0]).startswith(prefix + "."))
    return list(columns), mine


def test_ttl_both_ways(iotdb: IoTDBServer, below: str, pipecore: PipecoreNode) -> None:
    """SET TTL over a pipe (``schema.ttl``): IoTDB → pipecore (its config snapshot's
    ``ttl_info.bin``, then realtime SetTTL plans) and pipecore → IoTDB (SetTTL plans); SHOW
    ALL TTL answers alike on both ends."""
    p = below
    iotdb.execute(f"create database {p}.a", f"set ttl to {p}.a 3600000")
    _iotdb_pipe(iotdb, p, "schema.database,schema.ttl", pipecore)
    iotdb.execute(f"set ttl to {p}.a.d1 7200000")
    settle(lambda: _ttls(iotdb.query, p), lambda: _ttls(pipecore.query, p), pipecore)
    # IoTDB 2.0.1 lists a database's TTL twice: on the database and on its .**
    want_a = [(f"{p}.a", "3600000"), (f"{p}.a.**", "3600000"), (f"{p}.a.d1", "7200000")]
    assert _ttls(pipecore.query, p) == (["Device", "TTL(ms)"], want_a)
    pipecore.execute(f"create database {p}.b", f"set ttl to {p}.b 5000000")
    pipecore.execute(
        f"create pipe c{next(_names)} with source ('source.path'='{p}.b.**', "
        "'source.inclusion'='schema.database,schema.ttl') "
        f"with sink ('sink'='iotdb-thrift-sink', 'sink.node-urls'='127.0.0.1:{iotdb.rpc_port}')"
    )
    pipecore.execute(f"set ttl to {p}.b.d2 6000000")
    # a database's TTL arrives as SetTTL(root.…b, isDataBase): IoTDB 2.0.1's receiver keeps it
    # on b.** alone (its own SET TTL lists b too; a plain SetTTL of b adds nothing there)
    want = [(f"{p}.b.**", "5000000"), (f"{p}.b.d2", "6000000")]
    settle(lambda: want, lambda: _ttls(iotdb.query, f"{p}.b")[1], pipecore)
