"""Schema templates from `pipecore serve` to a real IoTDB (issue 16): the templates as
CreateSchemaTemplate / CommitSetSchemaTemplate / PipeUnsetTemplate / DropSchemaTemplate config
plans (type 200, after the config handshake), their activation as IoTDB's ActivateTemplateNode
(schema-region plan node 53 in type 100), history (the snapshot when the pipe starts) and
realtime, in order with the data. Both ends end with the same SHOW SCHEMA TEMPLATES, SHOW NODES
IN SCHEMA TEMPLATE, SHOW PATHS SET / USING SCHEMA TEMPLATE, SHOW TIMESERIES and data."""

from __future__ import annotations

import contextlib
import itertools

import pytest
from iotdb_server import IoTDBServer
from pipecore_node import PipecoreNode, settle

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]
_names = itertools.count()


def _view(query, names: list[str], base: str) -> dict[str, object]:
    _, rows = query("show schema templates")
    present = sorted(str(r[0]) for r in rows if str(r[0]) in names)
    columns, series = query(f"show timeseries {base}.**")
    keep = [columns.index(c) for c in ("Timeseries", "DataType", "Encoding", "Compression")]
    _, devices = query(f"show devices {base}.**")
    _, counted = query(f"select count(*) from {base}.**")
    return {
        "templates": present,
        "nodes": {
            n: sorted(
                tuple(str(v) for v in r[:4]) for r in query(f"show nodes in schema template {n}")[1]
            )
            for n in present
        },
        "set": {
            n: sorted(str(r[0]) for r in query(f"show paths set schema template {n}")[1])
            for n in present
        },
        "using": {
            n: sorted(str(r[0]) for r in query(f"show paths using schema template {n}")[1])
            for n in present
        },
        "series": sorted(tuple(str(r[i]) for i in keep) for r in series),
        "devices": sorted((str(r[0]), str(r[1]).lower()) for r in devices),
        "points": sorted(int(v) for row in counted for v in row if v is not None),
    }


def test_pipecore_templates_reach_iotdb(
    iotdb: IoTDBServer, database: str, pipecore: PipecoreNode
) -> None:
    db = database
    n = next(_names)
    t1, t2, t3 = f"pt{n}a", f"pt{n}b", f"pt{n}c"
    names = [t1, t2, t3]
    pipecore.execute(
        f"create database {db}",
        f"create schema template {t1} (s1 INT32 encoding=RLE compressor=SNAPPY, "
        "s2 FLOAT encoding=GORILLA)",
        f"set schema template {t1} to {db}.g",
        f"create timeseries using schema template on {db}.g.d1",
        f"insert into {db}.g.d2(time, s1, s2) values (1, 7, 1.5)",  # activates t1 on write
    )
    try:
        pipecore.execute(
            f"create pipe tp{n} with source ('source.path'='{db}.**', "
            "'source.inclusion'='all') "
            f"with sink ('sink'='iotdb-thrift-sink', "
            f"'sink.node-urls'='127.0.0.1:{iotdb.rpc_port}')"
        )
        got = settle(
            lambda: _view(pipecore.query, names, db),
            lambda: _view(iotdb.query, names, db),
            pipecore,
        )
        assert got["using"] == {t1: [f"{db}.g.d1", f"{db}.g.d2"]}  # type: ignore[index]
        # realtime: an aligned template made, set and used; another made, set, unset, dropped
        pipecore.execute(
            f"create schema template {t2} aligned (x TEXT encoding=DICTIONARY, y INT64)",
            f"set schema template {t2} to {db}.k",
            f"create timeseries of schema template on {db}.k.d1",
            f"insert into {db}.k.d2(time, x, y) aligned values (3, 'a', 4)",
            f"create schema template {t3} (z BOOLEAN)",
            f"set schema template {t3} to {db}.z",
        )
        got = settle(
            lambda: _view(pipecore.query, names, db),
            lambda: _view(iotdb.query, names, db),
            pipecore,
        )
        assert got["set"][t3] == [f"{db}.z"]  # type: ignore[index]
        assert (f"{db}.k.d2", "true") in got["devices"]  # type: ignore[operator]
        # a data deletion of one template series (IoTDB wants it as a MeasurementPath)
        pipecore.execute(f"delete from {db}.g.d2.s1 where time <= 1")
        got = settle(
            lambda: _view(pipecore.query, names, db),
            lambda: _view(iotdb.query, names, db),
            pipecore,
        )
        pipecore.execute(f"unset schema template {t3} from {db}.z", f"drop schema template {t3}")
        got = settle(
            lambda: _view(pipecore.query, names, db),
            lambda: _view(iotdb.query, names, db),
            pipecore,
        )
        assert got["templates"] == [t1, t2]  # type: ignore[index]
    finally:
        with contextlib.suppress(Exception):
            iotdb.execute(f"delete database {db}")
        for t, path in ((t1, f"{db}.g"), (t2, f"{db}.k"), (t3, f"{db}.z")):
            with contextlib.suppress(Exception):
                iotdb.execute(f"unset schema template {t} from {path}")
            with contextlib.suppress(Exception):
                iotdb.execute(f"drop schema template {t}")
