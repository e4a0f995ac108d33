"""The V1 query calls (and JDBC's batch call) against a real `pipecore serve`: clients written
before IoTDB's TsBlock
answers (IoTDB's Go client, apache-iotdb < 1.3, the Node.js clients) call
``executeQueryStatement`` / ``executeStatement`` / ``executeRawDataQuery`` /
``executeLastDataQuery`` / ``executeAggregationQuery`` and page with ``fetchResults``, reading
rows from ``queryDataSet`` (TSQueryDataSet). The rows must be the ones the official 2.0 client
reads from the V2 answers of the same queries; the layout is read here as those clients do
(i64 times; per column its non-null values and a bitmap, MSB first, 1 = present).

(Checked by hand with apache-iotdb 1.2.1, whose Session uses only these V1 calls: it opens a
session with a ``+0000``-style zone, pages a SELECT with fetch_size=3, and reads raw, last and
SHOW results.)
"""

from __future__ import annotations

import struct
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest
from iotdb.thrift.common.ttypes import TAggregationType
from iotdb.thrift.rpc.IClientRPCService import Client
from iotdb.thrift.rpc.ttypes import (
    TSAggregationQueryReq,
    TSExecuteBatchStatementReq,
    TSExecuteStatementReq,
    TSFetchResultsReq,
    TSLastDataQueryReq,
    TSOpenSessionReq,
    TSRawDataQueryReq,
)
from iotdb.utils.IoTDBConstants import TSDataType
from iotdb.utils.Tablet import Tablet
from thrift.protocol import TBinaryProtocol
from thrift.transport import TSocket, TTransport

TYPES = [TSDataType.BOOLEAN, TSDataType.INT32, TSDataType.INT64, TSDataType.FLOAT,
         TSDataType.DOUBLE, TSDataType.TEXT, TSDataType.DATE, TSDataType.TIMESTAMP,
         TSDataType.BLOB, TSDataType.STRING]  # fmt: skip
NAMES = ["b", "i", "l", "f", "d", "t", "dt", "ts", "bl", "s"]


def _rows() -> list[list[Any]]:
    rows = []
    for r in range(1, 8):
        row: list[Any] = [r % 2 == 0, -r, r << 40, r * 0.5, r / 7, f"t{r}é",
                          date(2020, 2, r), 1_000 * r, bytes([r, 0]), f"s{r}"]  # fmt: skip
        row[r % len(row)] = None  # a null in a different column on every row
        rows.append(row)
    return rows


class V1Client:
    def __init__(self, port: int) -> None:
        self.transport = TTransport.TFramedTransport(TSocket.TSocket("127.0.0.1", port))
        self.transport.open()
        self.client = Client(TBinaryProtocol.TBinaryProtocolAccelerated(self.transport))
        opened = self.client.openSession(
            TSOpenSessionReq(client_protocol=2, zoneId="+0000", username="root", password="root")
        )
        assert opened.status.code == 200, opened.status
        self.session_id = opened.sessionId
        self.statement_id = self.client.requestStatementId(self.session_id)

    def close(self) -> None:
        self.transport.close()

    def rows(self, resp: Any, fetch_size: int) -> tuple[list[str], list[list[Any]]]:
        """All rows of a V1 answer, fetching the rest with fetchResults."""
        assert resp.status.code == 200, resp.status
        assert resp.queryResult is None and resp.queryDataSet is not None
        types = [TSDataType[name] for name in resp.dataTypeList]
        out, batch, pages = [], resp.queryDataSet, 0
        while True:
            out += _decode(batch, types, resp.ignoreTimeStamp)
            fetched = self.client.fetchResults(
                TSFetchResultsReq(self.session_id, "", fetch_size, resp.queryId, True)
            )
            assert fetched.status.code == 200
            if not fetched.hasResultSet:
                break
            batch, pages = fetched.queryDataSet, pages + 1
            assert len(batch.time) // 8 <= fetch_size
        # the server names the value columns; clients put "Time" first unless told to ignore it
        return ([] if resp.ignoreTimeStamp else ["Time"]) + list(resp.columns), out


def _decode(ds: Any, types: list[TSDataType], ignore_time: bool) -> list[list[Any]]:
    n = len(ds.time) // 8
    times = np.frombuffer(ds.time, ">i8").tolist()
    columns = []
    for data_type, buf, bitmap in zip(types, ds.valueList, ds.bitmapList, strict=True):
        present = np.unpackbits(np.frombuffer(bitmap, np.uint8))[:n].astype(bool)
        values: list[Any] = []
        pos = 0
        for _ in range(int(present.sum())):
            if data_type in (TSDataType.TEXT, TSDataType.STRING, TSDataType.BLOB):
                (length,) = struct.unpack_from(">i", buf, pos)
                raw = bytes(buf[pos + 4 : pos + 4 + length])
                values.append(raw if data_type is TSDataType.BLOB else raw.decode())
                pos += 4 + length
                continue
            fmt = {TSDataType.BOOLEAN: ">?", TSDataType.INT32: ">i", TSDataType.DATE: ">i",
                   TSDataType.INT64: ">q", TSDataType.TIMESTAMP: ">q", TSDataType.FLOAT: ">f",
                   TSDataType.DOUBLE: ">d"}[data_type]  # fmt: skip
            (value,) = struct.unpack_from(fmt, buf, pos)
            pos += struct.calcsize(fmt)
            if data_type is TSDataType.DATE:
                value = date(value // 10000, value // 100 % 100, value % 100)
            values.append(value)
        assert pos == len(buf), "value bytes left over"
        it = iter(values)
        columns.append([next(it) if p else None for p in present])
    return [[None if ignore_time else times[r], *(c[r] for c in columns)] for r in range(n)]


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA


def _v2_rows(session: Any, sql: str) -> tuple[list[str], list[list[Any]]]:
    """The same query through the official 2.0 client (V2 calls, TsBlocks)."""
    with session.execute_query_statement(sql) as ds:
        names = list(ds.get_column_names())
        has_time = names[0] == "Time"
        types = list(ds.get_column_types())[1:] if has_time else list(ds.get_column_types())
        out = []
        while ds.has_next():
            rec = ds.next()
            row: list[Any] = [rec.get_timestamp() if has_time else None]
            for field, data_type in zip(rec.get_fields(), types, strict=True):
                if field is None or field.get_data_type() is None or _missing(field.value):
                    row.append(None)
                elif data_type == TSDataType.DATE:
                    row.append(field.get_date_value())
                elif data_type in (TSDataType.TEXT, TSDataType.STRING):
                    row.append(field.get_string_value())
                elif data_type == TSDataType.BLOB:
                    row.append(field.get_binary_value())
                elif data_type == TSDataType.TIMESTAMP:
                    row.append(int(field.value))
                else:
                    row.append(field.get_object_value(data_type))
            out.append(row)
    return names, out


@pytest.fixture
def v1(server):
    client = V1Client(server.port)
    try:
        yield client
    finally:
        client.close()


@pytest.mark.parametrize("fetch_size", [3, 1000])
def test_v1_statements_answer_the_rows_of_v2(session, v1, db, fetch_size) -> None:
    rows = _rows()
    session.insert_tablet(Tablet(f"{db}.d", NAMES, TYPES, rows, list(range(1, 8))))
    statements = (f"select * from {db}.d", f"select count(i), max_value(d) from {db}.d",
                  f"show timeseries {db}.**", f"select last * from {db}.d")  # fmt: skip
    for sql in statements:
        for call in (v1.client.executeQueryStatement, v1.client.executeStatement):
            req = TSExecuteStatementReq(v1.session_id, sql, v1.statement_id, fetch_size)
            columns, got = v1.rows(call(req), fetch_size)
            names, expected = _v2_rows(session, sql)
            assert columns == names and got == expected, sql
    # and what was written (SELECT * lists the series in IoTDB's hash order: as its header says)
    req = TSExecuteStatementReq(v1.session_id, f"select * from {db}.d", v1.statement_id, fetch_size)
    columns, got = v1.rows(v1.client.executeQueryStatement(req), fetch_size)
    order = [NAMES.index(c.rsplit(".", 1)[1]) for c in columns[1:]]
    assert sorted(order) == list(range(len(NAMES)))
    assert got == [[t, *(row[k] for k in order)] for t, row in enumerate(rows, 1)]


def test_v1_raw_last_and_aggregation_queries(session, v1, db) -> None:
    session.insert_tablet(Tablet(f"{db}.d", NAMES, TYPES, _rows(), list(range(1, 8))))
    paths = [f"{db}.d.i", f"{db}.d.t"]
    raw = TSRawDataQueryReq(v1.session_id, paths, 2, 2, 6, v1.statement_id)
    columns, got = v1.rows(v1.client.executeRawDataQuery(raw), 2)
    assert (columns, got) == _v2_rows(
        session, f"select i, t from {db}.d where time >= 2 and time < 6"
    )
    assert [r[0] for r in got] == [2, 3, 4, 5]

    last = TSLastDataQueryReq(v1.session_id, paths, 1000, 0, v1.statement_id)
    columns, got = v1.rows(v1.client.executeLastDataQuery(last), 1000)
    assert columns == ["Time", "Timeseries", "Value", "DataType"]
    assert got == [[7, f"{db}.d.i", "-7", "INT32"], [7, f"{db}.d.t", "t7é", "TEXT"]]

    agg = TSAggregationQueryReq(
        v1.session_id,
        v1.statement_id,
        paths[:1] * 2,
        [TAggregationType.COUNT, TAggregationType.SUM],
    )
    columns, got = v1.rows(v1.client.executeAggregationQuery(agg), 1000)
    assert columns == [f"count({db}.d.i)", f"sum({db}.d.i)"]
    assert got == [[None, 6, float(-sum(r for r in range(1, 8) if r != 1))]]


def test_v1_fetch_of_an_unknown_query_has_no_result_set(v1) -> None:
    resp = v1.client.fetchResults(TSFetchResultsReq(v1.session_id, "", 10, 987654, True))
    assert resp.status.code == 200 and resp.hasResultSet is False


def test_batch_statements_as_jdbc_sends_them(session, v1, db) -> None:
    # JDBC's executeBatch: every statement runs; 302 with each one's status when one fails
    ok = v1.client.executeBatchStatement(TSExecuteBatchStatementReq(v1.session_id, [
        f"insert into {db}.d(time, x) values(1, 1)", f"insert into {db}.d(time, x) values(2, 2)",
    ]))  # fmt: skip
    assert ok.code == 200
    mixed = v1.client.executeBatchStatement(TSExecuteBatchStatementReq(v1.session_id, [
        f"insert into {db}.d(time, x) values(3, 3)", "insert into", f"select x from {db}.d",
        f"insert into {db}.d(time, x) values(4, 4)",
    ]))  # fmt: skip
    assert mixed.code == 302
    assert [s.code for s in mixed.subStatus] == [200, 700, 200, 200]
    assert mixed.message.startswith("700: ")
    assert _v2_rows(session, f"select x from {db}.d")[1] == [[t, float(t)] for t in range(1, 5)]
