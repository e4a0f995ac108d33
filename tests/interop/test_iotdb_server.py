"""The real IoTDB fixture itself: it starts, answers the official client, seals TsFiles."""

from __future__ import annotations

from iotdb_server import IoTDBServer


def test_iotdb_answers_the_official_client(iotdb: IoTDBServer, database: str) -> None:
    _, version = iotdb.query("show version")
    assert version[0][0] == iotdb.version
    iotdb.execute(
        f"create database {database}",
        f"insert into {database}.d(time, a, b) values (1, 10, 'x')",
        f"insert into {database}.d(time, a) values (2, 20)",
    )
    names, rows = iotdb.query(f"select a, b from {database}.d")
    assert names == ["Time", f"{database}.d.a", f"{database}.d.b"]
    assert rows == [(1, 10.0, "x"), (2, 20.0, None)]
    assert all(v > 50 for v in iotdb.rss_mb().values())  # both JVMs are alive


def test_flush_seals_a_tsfile_in_the_data_dir(iotdb: IoTDBServer, database: str) -> None:
    iotdb.execute(
        f"create database {database}",
        f"insert into {database}.d(time, a) values (5, 1)",
        f"flush {database}",
    )
    sealed = [p for p in iotdb.data_files() if f"/{database}/" in str(p)]
    assert sealed, "FLUSH left no TsFile in the DataNode's data dir"
    assert all(p.with_name(p.name + ".resource").exists() for p in sealed)
