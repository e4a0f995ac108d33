"""Schema between a real IoTDB and `pipecore serve` (issue 16).

* pipecore → IoTDB: pipecore's CreateTimeSeriesNode (plan node 19 in request 100) is executed
  by IoTDB's DataNode receiver: the series arrive with type, encoding, compression, alias,
  tags and attributes (series without data, history snapshot and realtime).
* IoTDB → pipecore: open (xfail). The ConfigNode part works (test_iotdb_config_schema.py:
  IoTDB's config handshake 50 and plans 200–202 are served, so CREATE PIPE succeeds). But
  IoTDB 2.0.1's schema-region source always starts with the schema region's snapshot (types
  101/102, `mtree.snapshot`, whatever `source.history.enable` says), which pipecore's receiver
  does not take yet (the schema-region half): IoTDB retries it forever and the realtime
  CreateTimeSeriesNode behind it never comes.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from iotdb_server import IoTDBServer
from pipecore_node import PipecoreNode

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]
_names = itertools.count()


@pytest.fixture
def pipecore(tmp_path: Path) -> Iterator[PipecoreNode]:
    node = PipecoreNode(tmp_path, "pipecore").start()
    yield node
    node.stop()


def _series(query, pattern: str) -> list[tuple]:
    columns, rows = query(f"show timeseries {pattern}")
    keep = ["Timeseries", "Alias", "DataType", "Encoding", "Compression", "Tags", "Attributes"]
    index = [columns.index(c) for c in keep]
    return sorted(tuple(str(r[i]) for i in index) for r in rows)


def test_pipecore_series_reach_iotdb(
    iotdb: IoTDBServer, database: str, pipecore: PipecoreNode
) -> None:
    db = database
    iotdb.execute(f"create database {db}")
    pipecore.execute(
        f"create database {db}",
        f"create timeseries {db}.d1.s1(temperature) with datatype=FLOAT, encoding=GORILLA, "
        "compressor=ZSTD tags(unit=c, place=hall) attributes(owner=x)",
        f"create timeseries {db}.d1.s2 with datatype=INT64, encoding=TS_2DIFF, compressor=LZ4",
    )
    pipecore.execute(
        f"create pipe s{next(_names)} with source ('source.path'='{db}.**', "
        "'source.inclusion'='schema.timeseries') "
        f"with sink ('sink'='iotdb-thrift-sink', 'sink.node-urls'='127.0.0.1:{iotdb.rpc_port}')",
    )
    pipecore.execute(
        f"create timeseries {db}.d2.s(t) with datatype=TEXT, encoding=DICTIONARY, "
        "compressor=SNAPPY attributes(a=b)"
    )
    want = _series(pipecore.query, f"{db}.**")
    assert len(want) == 3
    _settle(want, lambda: _series(iotdb.query, f"{db}.**"), pipecore)


def _settle(want, got_fn, node) -> None:
    deadline = time.monotonic() + 60
    got: object = None
    while time.monotonic() < deadline:
        try:
            got = got_fn()
        except Exception as exc:  # not there yet
            got = exc
        if got == want:
            return
        time.sleep(0.5)
    assert got == want, node.log()[-3000:]


@pytest.mark.xfail(
    reason="IoTDB 2.0.1's schema-region pipe sends the schema region's snapshot (types "
    "101/102) first, even with history off; pipecore's receiver does not take it yet (1801), "
    "IoTDB retries it forever and the realtime CREATE TIMESERIES never arrives",
    strict=True,
)
def test_iotdb_realtime_create_timeseries_reaches_pipecore(
    iotdb: IoTDBServer, database: str, pipecore: PipecoreNode
) -> None:
    db = database
    iotdb.execute(
        f"create database {db}",
        f"create pipe s{next(_names)} with source ('source.path'='{db}.**', "
        "'source.inclusion'='schema.timeseries.ordinary', 'source.history.enable'='false') "
        f"with sink ('sink'='iotdb-thrift-sink', 'sink.node-urls'='{pipecore.url}')",
    )
    time.sleep(2)
    iotdb.execute(
        f"create timeseries {db}.d1.s1(temperature) with datatype=FLOAT, encoding=GORILLA, "
        "compressor=ZSTD tags(unit=c) attributes(owner=x)",
        f"create timeseries {db}.d1.s2 with datatype=TEXT, encoding=PLAIN",
    )
    want = _series(iotdb.query, f"{db}.**")
    deadline = time.monotonic() + 60
    got: object = None
    while time.monotonic() < deadline:
        try:
            got = _series(pipecore.query, f"{db}.**")
        except Exception as exc:  # not there yet
            got = exc
        if got == want:
            break
        time.sleep(0.5)
    assert got == want, pipecore.log()[-3000:]
