"""Schema templates travel with a pipe between real `pipecore serve` processes (issue 16):
the templates, where they are set and the devices using them — history (the schema snapshot
when the pipe starts) and realtime (each change in order with the data), in pipecore's schema
request (29002) — so that every SHOW of templates and series ends equal on both ends."""

from __future__ import annotations

import pytest
from thrift_processes import Serve, start_all, wait_for

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]


@pytest.fixture(scope="module")
def ab(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("templates")
    made = start_all(Serve(tmp, "A"), Serve(tmp, "B"))
    yield made
    for node in made:
        node.stop()


def templates_of(node: Serve, base: str) -> dict[str, object]:
    """Everything that must be equal: templates, their nodes, where set, where used, the
    series (every SHOW TIMESERIES column), the devices, the data."""
    names = sorted(str(r[0]) for r in node.rows("SHOW SCHEMA TEMPLATES"))
    return {
        "templates": names,
        "nodes": {n: sorted(node.rows(f"SHOW NODES IN SCHEMA TEMPLATE {n}")) for n in names},
        "set": {n: sorted(node.rows(f"SHOW PATHS SET SCHEMA TEMPLATE {n}")) for n in names},
        "using": {n: sorted(node.rows(f"SHOW PATHS USING SCHEMA TEMPLATE {n}")) for n in names},
        "series": sorted(node.rows(f"SHOW TIMESERIES {base}.**")),
        "devices": sorted(node.rows(f"SHOW DEVICES {base}.**")),
        "points": node.count(f"{base}.**"),
    }


def same(a: Serve, b: Serve, base: str, what: str) -> dict[str, object]:
    return wait_for(
        lambda: (s := templates_of(a, base)) == templates_of(b, base) and s, 30, what, logs=(a, b)
    )


def test_templates_history_and_realtime(ab) -> None:
    a, b = ab
    db = "root.tpl.db"
    # before the pipe: the snapshot carries them
    a.sql(f"CREATE DATABASE {db}")
    a.sql("CREATE SCHEMA TEMPLATE t1 (s1 INT32 encoding=RLE compressor=SNAPPY, s2 FLOAT)")
    a.sql("CREATE SCHEMA TEMPLATE t2 ALIGNED (x TEXT encoding=DICTIONARY, y INT64)")
    a.sql(f"SET SCHEMA TEMPLATE t1 TO {db}.g")
    a.sql(f"SET SCHEMA TEMPLATE t2 TO {db}.k")
    a.sql(f"CREATE TIMESERIES USING SCHEMA TEMPLATE ON {db}.g.d1")
    a.sql(f"INSERT INTO {db}.g.d2(time, s1) VALUES (1, 7)")  # activates t1 on its first write
    a.sql(f"CREATE TIMESERIES {db}.plain.s WITH DATATYPE=DOUBLE")
    a.sql(
        "CREATE PIPE p WITH SOURCE ('source.inclusion'='all', 'source.path'='root.tpl.**') "
        f"WITH SINK ('sink'='iotdb-thrift-sink', 'sink.node-urls'='{b.url}')"
    )
    got = same(a, b, "root.tpl", "the templates' snapshot on B")
    assert got["templates"] == ["t1", "t2"]
    assert got["set"] == {"t1": [(f"{db}.g",)], "t2": [(f"{db}.k",)]}
    assert got["using"]["t1"] == [(f"{db}.g.d1",), (f"{db}.g.d2",)]
    assert ("s1", "INT32", "RLE", "SNAPPY") in got["nodes"]["t1"]
    assert got["points"] == 1

    # realtime, in order with the data
    a.sql("CREATE SCHEMA TEMPLATE t3 (v BOOLEAN)")
    a.sql(f"SET SCHEMA TEMPLATE t3 TO {db}.h")
    a.sql(f"CREATE TIMESERIES OF SCHEMA TEMPLATE ON {db}.h.d1")
    a.sql(f"INSERT INTO {db}.h.d2(time, v) VALUES (5, true)")
    a.sql(f"INSERT INTO {db}.k.d1(time, x, y) ALIGNED VALUES (3, 'a', 4)")
    a.sql(f"DEACTIVATE SCHEMA TEMPLATE t1 FROM {db}.g.d1")
    got = same(a, b, "root.tpl", "the realtime template changes on B")
    assert got["using"] == {
        "t1": [(f"{db}.g.d2",)],
        "t2": [(f"{db}.k.d1",)],
        "t3": [(f"{db}.h.d1",), (f"{db}.h.d2",)],
    }
    assert next(r for r in got["devices"] if r[0] == f"{db}.k.d1")[1] == "true"  # aligned
    assert got["points"] == 4
    assert f"{db}.g.d1.s1" not in [r[0] for r in got["series"]]

    a.sql("CREATE SCHEMA TEMPLATE t4 (z INT32)")
    a.sql(f"SET SCHEMA TEMPLATE t4 TO {db}.z")
    a.sql(f"UNSET SCHEMA TEMPLATE t4 FROM {db}.z")
    a.sql("DROP SCHEMA TEMPLATE t4")
    a.sql(f"CREATE TIMESERIES {db}.plain.barrier WITH DATATYPE=INT32")
    wait_for(
        lambda: b.rows(f"COUNT TIMESERIES {db}.plain.**") == [("2",)], 30, "the barrier", logs=(b,)
    )
    got = same(a, b, "root.tpl", "unset and drop on B")
    assert got["templates"] == ["t1", "t2", "t3"]


def test_template_conflict_is_reported(ab) -> None:
    """A template of the same name with other measurements on the receiver: the pipe reports
    IoTDB's user conflict (1810) naming it, and B keeps its own."""
    a, b = ab
    b.sql("CREATE SCHEMA TEMPLATE clash (s INT32)")
    a.sql("CREATE SCHEMA TEMPLATE clash (s TEXT)")
    a.sql(
        "CREATE PIPE c WITH SOURCE ('source.inclusion'='schema.timeseries.template', "
        "'source.path'='root.clash.**') "
        f"WITH SINK ('sink'='iotdb-thrift-sink', 'sink.node-urls'='{b.url}')"
    )

    def reported() -> str:
        [row] = [r for r in a.rows("SHOW PIPES") if r[0] == "c"]
        return str(row[6]) if "1810" in str(row[6]) or "conflict" in str(row[6]) else ""

    message = wait_for(reported, 30, "the conflict in SHOW PIPES", logs=(a, b))
    assert "clash" in message
    assert ("s", "INT32", "TS_2DIFF", "LZ4") in b.rows("SHOW NODES IN SCHEMA TEMPLATE clash")
    a.sql("DROP PIPE c")
