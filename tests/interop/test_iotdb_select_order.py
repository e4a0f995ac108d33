"""The column order of a wildcard SELECT: pipecore against a real IoTDB 2.0.1.

IoTDB lists the series a wildcard expands to in its schema tree's HashMap order, not by name
(pipecore/sql/series_order.py explains the rule; docs/sql-reference.md "Column order of a
wildcard"). Each test builds one small random schema, in the same statements and the same
order, on the shared IoTDB and on a `pipecore serve` of its own — devices interleaved,
measurements added in chunks by INSERT and by CREATE, aligned and not, some nodes with more
than 12 children so both of IoTDB's maps resize — and asserts the same header (and row) for
each query shape: ``select *`` over ``root.**`` and narrower FROM paths, several FROM paths,
a name before ``*``, ``count(*)``, GROUP BY LEVEL and ALIGN BY DEVICE.

``select * from root.**`` sees every database, so the module first drops what other tests
left on the shared IoTDB, and each test drops its databases afterwards.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator

import pytest
from iotdb_server import IoTDBServer
from pipecore_node import PipecoreNode

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]

_POOL = [
    "s", "t", "s1", "s2", "s3", "s10", "s11", "s12", "temperature", "status", "a", "b", "zz",
    "x1", "hw", "speed", "v", "w", "q", "c", "d", "m1", "m2", "m3", "power", "lat", "lon",
    "Aa", "BB", "`s(1)`", "`1x`",
]  # fmt: skip
_SEEDS = [3, 11, 19]


def _databases(iotdb: IoTDBServer) -> list[str]:
    _, rows = iotdb.query("show databases")
    return [str(r[0]) for r in rows if not str(r[0]).startswith("root.__")]


@pytest.fixture(scope="module")
def bare_iotdb(iotdb: IoTDBServer) -> Iterator[IoTDBServer]:
    """The shared IoTDB without databases other tests left behind."""
    for db in _databases(iotdb):
        with contextlib.suppress(Exception):  # gone meanwhile
            iotdb.execute(f"delete database {db}")
    yield iotdb


def _schema(seed: int) -> tuple[list[str], list[str]]:
    """(databases, statements) of a random schema, each series with a value at time 1."""
    rnd = random.Random(seed)
    dbs = rnd.sample(["root.db", "root.db2", "root.sg1", "root.ln", "root.test"], 2 + seed % 2)
    layout: dict[str, tuple[bool, list[str]]] = {}
    for db in dbs:
        for _ in range(rnd.randint(1, 3)):
            nodes = rnd.choice([1, 1, 2])
            device = ".".join(
                [db, *(rnd.choice(["d1", "d2", "d10", "wf01", "g"]) for _ in range(nodes))]
            )
            layout.setdefault(
                device, (rnd.random() < 0.3, rnd.sample(_POOL, rnd.choice([1, 3, 5, 13, 14])))
            )
    statements = [f"create database {db}" for db in dbs]
    pending = {device: list(ms) for device, (_, ms) in layout.items()}
    started: set[str] = set()
    while any(pending.values()):
        device = rnd.choice([d for d, ms in pending.items() if ms])
        k = rnd.randint(1, len(pending[device]))
        chunk, pending[device] = pending[device][:k], pending[device][k:]
        aligned = layout[device][0]
        if rnd.random() < 0.5 and not (aligned and device in started):
            if aligned:
                cols = ", ".join(f"{m} DOUBLE" for m in chunk)
                statements.append(f"create aligned timeseries {device}({cols})")
            else:
                statements += [f"create timeseries {device}.{m} DOUBLE" for m in chunk]
        else:
            statements.append(_insert(device, chunk, aligned))
        started.add(device)
    statements += [_insert(d, ms, aligned) for d, (aligned, ms) in layout.items()]
    return dbs, statements


def _insert(device: str, measurements: list[str], aligned: bool) -> str:
    values = ", ".join("1.0" for _ in measurements)
    return (
        f"insert into {device}(time, {', '.join(measurements)}){' aligned' if aligned else ''} "
        f"values (1, {values})"
    )


def _queries(dbs: list[str], statements: list[str]) -> list[str]:
    devices = list(
        dict.fromkeys(s.split()[2].split("(")[0] for s in statements if s.startswith("insert"))
    )
    first, last = devices[0], devices[-1]
    return [
        "select * from root.**",
        "select ** from root",
        f"select * from {dbs[0]}.*",
        f"select * from {dbs[0]}.**",
        f"select * from {last}, {first}",
        f"select * from {dbs[1]}.**, {dbs[0]}.**",
        f"select s1, * from {first}",
        "select s, t, s1 from root.**",
        "select *, s from root.**",
        "select count(*) from root.**",
        "select count(*) from root.** group by level=1",
        "select count(*) from root.** group by level=2",
        "select * from root.** align by device",
        f"select * from {dbs[1]}.** align by device",
    ]


@pytest.mark.parametrize("seed", _SEEDS)
def test_wildcard_columns_in_iotdb_order(
    bare_iotdb: IoTDBServer, pipecore: PipecoreNode, seed: int
) -> None:
    iotdb = bare_iotdb
    dbs, statements = _schema(seed)
    try:
        iotdb.execute(*statements)
        pipecore.execute(*statements)
        for sql in _queries(dbs, statements):
            want = iotdb.query(sql)
            got = pipecore.query(sql)
            assert got[0] == want[0], f"{sql} (seed {seed})"
            assert got[1] == want[1], f"{sql} (seed {seed})"
    finally:
        for db in dbs:
            with contextlib.suppress(Exception):  # not created
                iotdb.execute(f"delete database {db}")


@pytest.mark.xfail(
    reason="IoTDB 2.0.1 repeats a measurement ALIGN BY DEVICE names twice (`select s1, *` "
    "has an s1 column twice); pipecore lists it once (raw SELECT repeats it, as IoTDB does)",
    strict=True,
)
def test_align_by_device_lists_a_measurement_named_twice_twice(
    bare_iotdb: IoTDBServer, pipecore: PipecoreNode
) -> None:
    statements = [
        "create database root.dup",
        "insert into root.dup.d1(time, s1, s2) values (1, 1.0, 2.0)",
        "insert into root.dup.d2(time, s1, s3) values (2, 1.5, 3.0)",
    ]
    try:
        bare_iotdb.execute(*statements)
        pipecore.execute(*statements)
        sql = "select s1, * from root.dup.** align by device"
        want = bare_iotdb.query(sql)
        assert want[0] == ["Time", "Device", "s1", "s1", "s2", "s3"]
        assert pipecore.query(sql) == want
    finally:
        with contextlib.suppress(Exception):  # not created
            bare_iotdb.execute("delete database root.dup")
