"""The official Python client (`iotdb.Session`, apache-iotdb) against a real `pipecore serve`:
schema calls, every insert call, queries, deletions, and IoTDB's status codes for bad input.

Each test does what IoTDB's own client integration tests do (databases, series with aliases
and tags, records with nulls, tablets and numpy tablets with bitmaps, every data type, raw and
last queries, deletions), written here against pipecore's answers.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from iotdb.thrift.rpc.IClientRPCService import Client
from iotdb.thrift.rpc.ttypes import (
    TSAggregationQueryReq,
    TSInsertRecordReq,
    TSInsertTabletReq,
    TSOpenSessionReq,
)
from iotdb.utils.BitMap import BitMap
from iotdb.utils.exception import StatementExecutionException
from iotdb.utils.IoTDBConstants import Compressor, TSDataType, TSEncoding
from iotdb.utils.NumpyTablet import NumpyTablet
from iotdb.utils.Tablet import Tablet
from thrift.protocol import TBinaryProtocol
from thrift.Thrift import TApplicationException
from thrift.transport import TSocket, TTransport

from pipecore.rpc.tsblock import decode_tsblock

ALL_TYPES = [
    TSDataType.BOOLEAN,
    TSDataType.INT32,
    TSDataType.INT64,
    TSDataType.FLOAT,
    TSDataType.DOUBLE,
    TSDataType.TEXT,
    TSDataType.TIMESTAMP,
    TSDataType.DATE,
    TSDataType.BLOB,
    TSDataType.STRING,
]
NAMES = ["b", "i", "l", "f", "d", "t", "ts", "dt", "bl", "s"]
ROWS = [
    [False, 0, 0, 0.0, 0.0, "1234567890", 0, date(1970, 1, 1), b"12", "x"],
    [
        True,
        -(2**31),
        -(2**63),
        -0.125,
        -0.1234567890123,
        "没问题",
        -(2**63),
        date(1000, 1, 1),
        "没问题".encode(),
        "！@#￥",
    ],
    [True, 2**31 - 1, 2**63 - 1, 3.5, 1e300, "'`~", 2**63 - 1, date(9999, 12, 31), b"", "    "],
    [None, None, None, None, None, None, None, None, None, None],
    [True, 10, 11, 1.5, 10011.1, "", 11, date(2024, 2, 29), b"\x00\xff", ""],
]


def _value(field) -> object:
    data_type = field.get_data_type()
    if data_type is None:
        return None
    if data_type == TSDataType.TIMESTAMP:  # as the long it is (pandas cannot hold int64 ms)
        return field.get_long_value()
    return field.get_object_value(data_type)


def rows_of(session, sql: str) -> list[list]:
    out = []
    with session.execute_query_statement(sql) as ds:
        while ds.has_next():
            record = ds.next()
            out.append([record.get_timestamp(), *[_value(f) for f in record.get_fields()]])
    return out


def count_rows(session, sql: str) -> int:
    with session.execute_query_statement(sql) as ds:
        n = 0
        while ds.has_next():
            ds.next()
            n += 1
        return n


def code_of(call) -> int:
    with pytest.raises(StatementExecutionException) as caught:
        call()
    return int(str(caught.value).split(":")[0])


# ---------------------------------------------------------------- databases and series
def test_databases_are_created_and_deleted_with_iotdb_codes(session, db):
    session.set_storage_group(db)
    session.set_storage_group(db + "x")
    session.set_storage_group(db + "y")
    assert code_of(lambda: session.set_storage_group(db)) == 501
    session.delete_storage_groups([db + "x", db + "y"])
    assert code_of(lambda: session.delete_storage_group(db + "x")) == 508
    assert code_of(lambda: session.delete_storage_groups([db, db + "nope"])) == 508
    with session.execute_query_statement(f"count databases {db}") as ds:
        assert ds.next().get_fields()[0].get_int_value() == 1  # db was not deleted either
    assert code_of(lambda: session.set_storage_group("root")) != 200


def test_series_keep_encoding_compressor_alias_tags_and_attributes(session, db):
    session.set_storage_group(db)
    session.create_time_series(
        f"{db}.d1.s1",
        TSDataType.INT32,
        TSEncoding.RLE,
        Compressor.SNAPPY,
        None,
        {"unit": "c", "site": "a"},
        {"owner": "me"},
        "temperature",
    )
    session.create_multi_time_series(
        [f"{db}.d2.s{i}" for i in range(3)],
        [TSDataType.FLOAT, TSDataType.TEXT, TSDataType.DATE],
        [TSEncoding.GORILLA, TSEncoding.DICTIONARY, TSEncoding.TS_2DIFF],
        [Compressor.LZ4, Compressor.ZSTD, Compressor.GZIP],
        None,
        [{"k": str(i)} for i in range(3)],
        [{"a": "b"}] * 3,
        None,
    )
    with session.execute_query_statement(f"show timeseries {db}.**") as ds:
        df = ds.todf()
    first = df[df.Timeseries == f"{db}.d1.s1"].iloc[0]
    assert (first.Alias, first.DataType, first.Encoding, first.Compression) == (
        "temperature",
        "INT32",
        "RLE",
        "SNAPPY",
    )
    assert first.Tags == '{"unit":"c","site":"a"}' and first.Attributes == '{"owner":"me"}'
    assert list(df[df.Timeseries.str.startswith(f"{db}.d2")].Encoding) == [
        "GORILLA",
        "DICTIONARY",
        "TS_2DIFF",
    ]
    assert session.check_time_series_exists(f"{db}.d2.s1")
    session.delete_time_series([f"{db}.d2.s1", f"{db}.d2.s2"])
    assert not session.check_time_series_exists(f"{db}.d2.s1")
    assert code_of(lambda: session.delete_time_series([f"{db}.d2.nope"])) == 508
    # the alias names the series for writes' reads
    session.execute_non_query_statement(f"insert into {db}.d1(timestamp, s1) values(1, 5)")
    assert rows_of(session, f"select temperature from {db}.d1") == [[1, 5]]


def test_create_multi_timeseries_is_all_or_nothing(session, db):
    session.set_storage_group(db)
    session.create_time_series(f"{db}.d.b", TSDataType.INT64, TSEncoding.PLAIN, Compressor.LZ4)
    code = code_of(
        lambda: session.create_multi_time_series(
            [f"{db}.d.a", f"{db}.d.b"],
            [TSDataType.INT32] * 2,
            [TSEncoding.PLAIN] * 2,
            [Compressor.LZ4] * 2,
        )
    )
    assert code == 503
    assert not session.check_time_series_exists(f"{db}.d.a")
    bad_encoding = code_of(
        lambda: session.create_time_series(
            f"{db}.d.c", TSDataType.BOOLEAN, TSEncoding.GORILLA, Compressor.LZ4
        )
    )
    assert bad_encoding != 200 and not session.check_time_series_exists(f"{db}.d.c")


def test_aligned_series_can_be_created_twice_on_one_device(session, db):
    session.set_storage_group(db)
    d = f"{db}.d"
    session.create_aligned_time_series(
        d,
        ["a", "b"],
        [TSDataType.BOOLEAN, TSDataType.INT32],
        [TSEncoding.PLAIN] * 2,
        [Compressor.SNAPPY] * 2,
    )
    session.create_aligned_time_series(
        d, ["c"], [TSDataType.TEXT], [TSEncoding.PLAIN], [Compressor.SNAPPY]
    )
    with session.execute_query_statement(f"show devices {d}") as ds:
        assert ds.next().get_fields()[1].get_string_value() == "true"
    # a non-aligned call writes the aligned device as it is; SQL without ALIGNED as well
    session.insert_record(d, 1, ["a", "c"], [TSDataType.BOOLEAN, TSDataType.TEXT], [True, "x"])
    session.execute_non_query_statement(f"insert into {d}(timestamp, b) values(2, 7)")
    session.insert_aligned_record(d, 3, ["b"], [TSDataType.INT32], [8])
    assert rows_of(session, f"select a, b, c from {d}") == [
        [1, True, None, "x"],
        [2, None, 7, None],
        [3, None, 8, None],
    ]


# ---------------------------------------------------------------- writes
def test_records_with_nulls_and_bytes_for_text(session, db):
    d = f"{db}.d"
    types = [
        TSDataType.BOOLEAN,
        TSDataType.INT32,
        TSDataType.INT64,
        TSDataType.FLOAT,
        TSDataType.DOUBLE,
        TSDataType.TEXT,
    ]
    m = ["a", "b", "c", "e", "f", "g"]
    session.insert_record(d, 1, m, types, [False, 10, 11, 1.5, 10011.1, "r1"])
    session.insert_record(d, 2, m, types, [True, 20, 21, None, None, None])
    session.insert_records(
        [d, d],
        [3, 4],
        [m, m],
        [types, types],
        [[True, 30, 31, 3.5, 8.125, b"bytes"], [None, None, None, None, 4.0, "x"]],
    )
    session.insert_records_of_one_device(
        d, [6, 5], [m[:3], m[:3]], [types[:3]] * 2, [[True, 6, 6], [False, 5, 5]]
    )
    assert rows_of(session, f"select a, b, c, e, f, g from {d}") == [
        [1, False, 10, 11, 1.5, 10011.1, "r1"],
        [2, True, 20, 21, None, None, None],
        [3, True, 30, 31, 3.5, 8.125, "bytes"],
        [4, None, None, None, None, 4.0, "x"],
        [5, False, 5, 5, None, None, None],
        [6, True, 6, 6, None, None, None],
    ]


@pytest.mark.parametrize("aligned", [False, True])
def test_every_data_type_through_tablet_and_numpy_tablet(session, db, aligned):
    write = session.insert_aligned_tablet if aligned else session.insert_tablet
    write(Tablet(f"{db}.t", NAMES, ALL_TYPES, ROWS, list(range(1, len(ROWS) + 1))))
    columns = []
    for j, data_type in enumerate(ALL_TYPES):
        values = [ROWS[i][j] if ROWS[i][j] is not None else ROWS[0][j] for i in range(len(ROWS))]
        if data_type in (TSDataType.TEXT, TSDataType.STRING, TSDataType.BLOB, TSDataType.DATE):
            columns.append(np.array(values, dtype=object))
        else:
            columns.append(np.array(values, data_type.np_dtype()))
    bitmaps = []
    for _ in ALL_TYPES:
        bitmap = BitMap(len(ROWS))
        bitmap.mark(3)
        bitmaps.append(bitmap)
    numpy_tablet = NumpyTablet(
        f"{db}.n", NAMES, ALL_TYPES, columns, np.arange(1, len(ROWS) + 1, dtype=">i8"), bitmaps
    )
    write(numpy_tablet)
    sql = "select " + ", ".join(NAMES) + " from {}"
    expected = [[i + 1, *row] for i, row in enumerate(ROWS) if i != 3]
    for device in ("t", "n"):
        got = rows_of(session, sql.format(f"{db}.{device}"))
        for row in got:  # FLOAT comes back as float32
            row[4] = float(np.float32(row[4])) if row[4] is not None else None
        want = [[*r[:4], float(np.float32(r[4])), *r[5:]] for r in expected]
        assert got == want, device
    with session.execute_query_statement(f"show devices {db}.**") as ds:
        assert {ds.next().get_fields()[1].get_string_value() for _ in range(2)} == {
            "true" if aligned else "false"
        }


def test_insert_tablets_and_string_records_infer_types(session, db):
    t1 = Tablet(f"{db}.a", ["x"], [TSDataType.INT64], [[1], [2]], [1, 2])
    t2 = Tablet(f"{db}.b", ["y"], [TSDataType.TEXT], [["p"], ["q"]], [1, 2])
    session.insert_tablets([t1, t2])
    session.insert_str_record(
        f"{db}.c",
        1,
        ["flag", "n", "big", "r", "txt", "nan", "nul"],
        ["TRUE", "12", "123456789012", "1.5", "hello", "NaN", "null"],
    )
    session.insert_string_records_of_one_device(
        f"{db}.c", [2, 3], [["n"], ["n", "txt"]], [["13"], ["14", "again"]]
    )
    with session.execute_query_statement(f"show timeseries {db}.c.*") as ds:
        df = ds.todf()
    types = dict(zip(df.Timeseries.str.rsplit(".", n=1).str[1], df.DataType, strict=True))
    assert types == {
        "flag": "BOOLEAN",
        "n": "DOUBLE",
        "big": "DOUBLE",
        "r": "DOUBLE",
        "txt": "TEXT",
        "nan": "DOUBLE",
    }
    assert rows_of(session, f"select n, txt from {db}.c") == [
        [1, 12.0, "hello"],
        [2, 13.0, None],
        [3, 14.0, "again"],
    ]
    assert count_rows(session, f"select * from {db}.a") == 2
    assert code_of(lambda: session.insert_str_record(f"{db}.c", 4, ["n"], ["abc"])) == 614


def test_query_results_as_data_frames_with_many_fetches(session, db):
    n = 990
    values = np.random.default_rng(7).random(n)
    tablet = NumpyTablet(f"{db}.w", ["v"], [TSDataType.DOUBLE], [values], np.arange(n))
    session.insert_tablet(tablet)
    with session.execute_query_statement(f"select ** from {db}") as ds:
        ds.set_fetch_size(100)
        df = ds.todf()
    expected = pd.DataFrame({"Time": np.arange(n), f"{db}.w.v": values})
    pd.testing.assert_frame_equal(df, expected, check_dtype=False)


# ---------------------------------------------------------------- queries and deletions
def test_raw_and_last_data_queries_and_deletions(session, db):
    d = f"{db}.d"
    session.insert_aligned_string_records_of_one_device(
        d, [1, 2, 3], [["a", "b"]] * 3, [["False", "22"], ["True", "1"], ["False", "15"]]
    )
    paths = [f"{d}.a", f"{d}.b"]
    ds = session.execute_raw_data_query(paths, 1, 4)
    got = []
    while ds.has_next():
        got.append(str(ds.next()))
    ds.close_operation_handle()
    assert len(got) == 3
    ds = session.execute_raw_data_query(paths, 1, 3)  # the end is exclusive
    assert sum(1 for _ in iter(lambda: ds.has_next() and ds.next(), False)) == 2
    last = session.execute_last_data_query(paths, 0)
    first = last.next()
    assert first.get_timestamp() == 3
    assert [f.get_string_value() for f in first.get_fields()] == [f"{d}.a", "false", "BOOLEAN"]
    session.delete_data(paths, 1)
    assert count_rows(session, f"select a, b from {d}") == 2
    session.delete_data_in_range(paths, 2, 3)
    assert count_rows(session, f"select a, b from {d}") == 0


def _raw_client(port: int, protocol: int = 2):
    transport = TTransport.TFramedTransport(TSocket.TSocket("127.0.0.1", port))
    transport.open()
    client = Client(TBinaryProtocol.TBinaryProtocolAccelerated(transport))
    resp = client.openSession(
        TSOpenSessionReq(client_protocol=protocol, zoneId="UTC", username="root", password="root")
    )
    return client, resp, transport


def test_aggregation_query(server, session, db):
    session.insert_tablet(
        Tablet(f"{db}.d", ["v"], [TSDataType.INT32], [[i] for i in range(10)], list(range(10)))
    )
    client, opened, transport = _raw_client(server.port)
    try:
        req = TSAggregationQueryReq(
            opened.sessionId, 1, [f"{db}.d.v"] * 3, [0, 2, 8], startTime=0, endTime=10
        )
        resp = client.executeAggregationQueryV2(req)
        assert resp.status.code == 200
        assert resp.columns == [f"count({db}.d.v)", f"sum({db}.d.v)", f"min_value({db}.d.v)"]
        _, _, columns, _ = decode_tsblock(resp.queryResult[0])
        assert [c[0] for c in columns] == [10, 45.0, 0]
        grouped = client.executeAggregationQueryV2(
            TSAggregationQueryReq(opened.sessionId, 1, [f"{db}.d.v"], [0], 0, 10, interval=4)
        )
        times, _, columns, _ = decode_tsblock(grouped.queryResult[0])
        assert list(times) == [0, 4, 8] and list(columns[0]) == [4, 4, 2]
    finally:
        transport.close()


# ---------------------------------------------------------------- the protocol itself
def test_old_protocol_is_refused_with_incompatible_version(server):
    _, opened, transport = _raw_client(server.port, protocol=1)
    transport.close()
    assert opened.status.code == 201 and opened.sessionId is None


def test_a_method_pipecore_does_not_serve_is_an_application_error_naming_it(server):
    client, opened, transport = _raw_client(server.port)
    try:
        with pytest.raises(TApplicationException, match="showConfigurationTemplate") as caught:
            client.showConfigurationTemplate()
        assert caught.value.type == TApplicationException.UNKNOWN_METHOD
        assert client.requestStatementId(opened.sessionId) > 0  # the connection still works
    finally:
        transport.close()


def test_bad_requests_get_iotdb_codes_and_store_nothing(server, session, db):
    session.create_time_series(f"{db}.d.i", TSDataType.INT32, TSEncoding.RLE, Compressor.LZ4)
    client, opened, transport = _raw_client(server.port)
    sid = opened.sessionId
    try:
        ts = np.array([1, 2], ">i8").tobytes()
        short = TSInsertTabletReq(sid, f"{db}.d", ["i"], np.array([1], ">i4").tobytes(), ts, [1], 2)
        assert client.insertTablet(short).code == 303
        long = TSInsertTabletReq(
            sid, f"{db}.d", ["i"], np.array([1, 2, 3], ">i4").tobytes(), ts, [1], 2
        )
        assert client.insertTablet(long).code == 303
        bad_type = TSInsertTabletReq(sid, f"{db}.d", ["i"], b"\x00\x00\x00\x01x" * 2, ts, [5], 2)
        assert client.insertTablet(bad_type).code == 614  # TEXT into an INT32 series
        bad_path = TSInsertRecordReq(sid, "root.a..b", ["i"], b"\x01\x00\x00\x00\x01", 1)
        assert client.insertRecord(bad_path).code == 509
        two = TSInsertTabletReq(
            sid, f"{db}.d", ["i", "j"], np.array([1, 2, 3, 4], ">i4").tobytes(), ts, [1, 99], 2
        )
        assert client.insertTablet(two).code == 303  # data type 99
        assert client.testInsertTablet(long).code == 200  # IoTDB's network test: no write
    finally:
        transport.close()
    assert count_rows(session, f"select ** from {db}") == 0
    assert not session.check_time_series_exists(f"{db}.d.j")
    huge = "x" * (8 << 20)
    session.insert_record(f"{db}.h", 1, ["t"], [TSDataType.TEXT], [huge])
    assert rows_of(session, f"select t from {db}.h") == [[1, huge]]


def test_session_pool_and_time_zone(server, db):
    from iotdb.SessionPool import PoolConfig, create_session_pool

    config = PoolConfig(
        "127.0.0.1", str(server.port), "root", "root", None, 1024, "Asia/Shanghai", 3
    )
    pool = create_session_pool(config, 2, 3000)
    first, second = pool.get_session(), pool.get_session()
    with pytest.raises(TimeoutError):
        pool.get_session()
    assert first.get_time_zone() == "Asia/Shanghai"
    first.insert_tablet(Tablet(f"{db}.p", ["v"], [TSDataType.INT64], [[1]], [5]))
    pool.put_back(first)
    third = pool.get_session()
    assert rows_of(third, f"select v from {db}.p") == [[5, 1]]
    pool.put_back(second)
    pool.put_back(third)
    pool.close()


def test_dbapi_cursor(server, db):
    from iotdb.dbapi import connect

    conn = connect("127.0.0.1", server.port)
    cursor = conn.cursor()
    cursor.execute(f"create database {db}")
    cursor.execute(f"create timeseries {db}.temperature with datatype=FLOAT,encoding=RLE")
    cursor.executemany(
        f"insert into {db}(timestamp,temperature) values(%(t)s,%(v)s)",
        [{"t": i, "v": i / 2} for i in range(1, 6)],
    )
    cursor.execute(f"select * from {db}")
    assert [tuple(r) for r in cursor.fetchall()] == [(i, i / 2) for i in range(1, 6)]
    cursor.close()
    conn.close()
