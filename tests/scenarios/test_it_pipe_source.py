# ruff: noqa: E501  (the IT's SQL kept on one line each)
"""IoTDB's IoTDBPipeSourceIT (pipe/it/autocreate; IoTDBPipeExtractorIT is its older copy with
`inclusion`=data, see test_it_pipe_extractor.py): which source parameters CREATE PIPE takes,
and what patterns, history/realtime switches and time ranges send."""

from __future__ import annotations

import time

import pytest
from iotdb_it import assert_data_always, assert_data_eventually, create_pipe, query, thrift_sink
from it_pipe_admin import failure, pipe_count, sink_sql

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

SINK = {"connector.batch.enable": "false"}
T2000 = "2000.01.01T08:00:00"


def valid_parameters(sender, receiver) -> None:
    for name, source in (
        ("p1_1", "with extractor ('extractor.history.enable'='true')"),
        ("p1_2", f"with extractor ('extractor.history.enable'='true','extractor.history.start-time'='{T2000}')"),
        ("p1_3", f"with extractor ('extractor.history.enable'='true','extractor.history.end-time'='{T2000}')"),
        ("p1_4", f"with extractor ('extractor.history.enable'='true','extractor.history.start-time'='{T2000}','extractor.history.end-time'='{T2000}')"),
        ("p1_5", f"with extractor ('extractor.history.enable'='true','extractor.history.start-time'='{T2000}','extractor.history.end-time'='2100.01.01T08:00:00')"),
        ("p2_1", f"with source ('source.start-time'='{T2000}')"),
        ("p2_2", f"with source ('source.end-time'='{T2000}')"),
        ("p2_3", f"with source ('source.start-time'='{T2000}','source.end-time'='{T2000}')"),
        ("p2_4", f"with source ('source.start-time'='{T2000}','source.end-time'='2100.01.01T08:00:00')"),
        ("p3_1", f"with source ('source.start-time'='1000','source.end-time'='{T2000}')"),
    ):  # fmt: skip
        sender.execute(f"create pipe {name} {source} with connector ({sink_sql(receiver)})")
    assert pipe_count(sender) == 10


def invalid_parameters(sender, receiver) -> None:
    for start in ("''", "'null'", "'-1000-01-01T00:00:00'", "'2000-01-01T00:00:0'", "null"):
        failure(
            sender,
            "create pipe p1 with extractor ('extractor.history.enable'='true',"
            f"'extractor.history.start-time'={start}) with connector ({sink_sql(receiver)})",
        )
    for name, source in (
        ("p2", "with extractor ('extractor.history.enable'='false','extractor.realtime.enable'='false')"),
        ("p3", "with extractor ('extractor.history.enable'='true','extractor.history.start-time'='2001.01.01T08:00:00','extractor.history.end-time'='2000.01.01T08:00:00')"),
        ("p4", "with source ('source.start-time'='2001.01.01T08:00:00','source.end-time'='2000.01.01T08:00:00')"),
    ):  # fmt: skip
        message = failure(
            sender, f"create pipe {name} {source} with connector ({sink_sql(receiver)})"
        )
        assert message.startswith("1107"), message
    assert pipe_count(sender) == 0


def test_extractor_valid_parameter(auto_env) -> None:
    """testExtractorValidParameter."""
    valid_parameters(*auto_env)


def test_extractor_invalid_parameter(auto_env) -> None:
    """testExtractorInvalidParameter (IoTDB 2.0.1 answers 1107 for each refusal but the
    unquoted `null`, a parse error)."""
    invalid_parameters(*auto_env)


def matching_multiple_databases(sender, receiver, inclusion: str) -> None:
    def pipe(name: str, pattern: str | None) -> None:
        source = {"extractor.inclusion": inclusion}
        if pattern:
            source["extractor.pattern"] = pattern
        create_pipe(sender, name, source=source, sink=thrift_sink(receiver, SINK))

    pipe("p1", "root.db1")
    assert_data_eventually(receiver, "count timeseries", "count(timeseries),", ["0,"])
    sender.try_execute(
        "insert into root.db1.d1 (time, at1) values (1, 10)",
        "insert into root.db2.d1 (time, at1) values (1, 20)",
        "flush",
    )
    pipe("p2", "root.db2")
    assert_data_eventually(receiver, "count timeseries", "count(timeseries),", ["2,"])
    sender.execute("drop pipe p1", "drop pipe p2")
    sender.try_execute(
        "insert into root.db1.d1 (time, at1) values (2, 11)",
        "insert into root.db2.d1 (time, at1) values (2, 21)",
        "flush",
    )
    pipe("p3", None)
    assert_data_eventually(
        receiver,
        "select count(*) from root.**",
        "count(root.db1.d1.at1),count(root.db2.d1.at1),",
        ["2,2,"],
    )


def test_matching_multiple_databases(auto_env) -> None:
    """testMatchingMultipleDatabases."""
    matching_multiple_databases(*auto_env, "data.insert")


def start_and_end_time(sender, receiver, inclusion: str, history: bool) -> None:
    sender.try_execute(
        "insert into root.db.d1 (time, at1) values (1000, 1), (2000, 2), (3000, 3), (4000, 4), (5000, 5)",
        "insert into root.db.d2 (time, at1) values (1000, 1), (2000, 2), (3000, 3), (4000, 4), (5000, 5)",
        "flush",
    )  # fmt: skip
    if history:
        source = {
            "extractor.pattern": "root.db.d1",
            "extractor.inclusion": inclusion,
            "extractor.history.enable": "true",
            "extractor.history.start-time": "2000",
            "extractor.history.end-time": "1970-01-01T08:00:04+08:00",
        }
    else:
        source = {
            "source.pattern": "root.db.d1",
            "source.inclusion": inclusion,
            "source.start-time": "1970-01-01T08:00:02+08:00",
            "source.end-time": "4000",
        }
    create_pipe(sender, "p1", source=source, sink=thrift_sink(receiver, SINK))
    assert_data_eventually(
        receiver, "select count(*) from root.**", "count(root.db.d1.at1),", ["3,"]
    )
    source.pop("extractor.pattern" if history else "source.pattern")
    create_pipe(sender, "p2", source=source, sink=thrift_sink(receiver, SINK))
    assert_data_eventually(
        receiver,
        "select count(*) from root.**",
        "count(root.db.d1.at1),count(root.db.d2.at1),",
        ["3,3,"],
    )


def test_history_start_time_and_end_time_working_with_or_without_pattern(auto_env) -> None:
    """testHistoryStartTimeAndEndTimeWorkingWithOrWithoutPattern."""
    start_and_end_time(*auto_env, "data.insert", history=True)


def test_source_start_time_and_end_time_working_with_or_without_pattern(auto_env) -> None:
    """testSourceStartTimeAndEndTimeWorkingWithOrWithoutPattern."""
    start_and_end_time(*auto_env, "data.insert", history=False)


def time_range_match(sender, receiver) -> None:
    sender.try_execute(
        "insert into root.db.d1 (time, at1) values (1000, 1), (2000, 2), (3000, 3), (4000, 4), (5000, 5)",
        "insert into root.db.d2 (time, at1) values (6000, 6), (7000, 7), (8000, 8), (9000, 9), (10000, 10)",
        "flush",
    )  # fmt: skip
    create_pipe(
        sender,
        "p1",
        source={
            "source.inclusion": "data",
            "source.start-time": "1970-01-01T08:00:02+08:00",
            "source.end-time": "1970-01-01T08:00:04+08:00",
        },
        sink=thrift_sink(receiver, SINK),
        start=False,  # IoTDB's IT never starts p1: a created pipe runs
    )
    assert_data_eventually(
        receiver, "select count(*) from root.**", "count(root.db.d1.at1),", ["3,"]
    )
    sender.try_execute(
        "insert into root.db.d3 (time, at1) values (1000, 1), (2000, 2), (3000, 3), (4000, 4), (5000, 5)",
        "flush",
    )  # fmt: skip
    header = "count(root.db.d1.at1),count(root.db.d3.at1),"
    assert_data_eventually(receiver, "select count(*) from root.**", header, ["3,3,"])
    sender.try_execute(
        "insert into root.db.d4 (time, at1) values (6000, 6), (7000, 7), (8000, 8), (9000, 9), (10000, 10)",
        "flush",
    )  # fmt: skip
    assert_data_always(receiver, "select count(*) from root.**", header, ["3,3,"], seconds=1.0)


def test_extractor_time_range_match(auto_env) -> None:
    """testExtractorTimeRangeMatch."""
    time_range_match(*auto_env)


def columns_eventually(node, sql: str, expected: dict[str, str], timeout: float = 30.0) -> None:
    """TestUtils.assertDataEventuallyOnEnv(env, sql, Map<column, value>): each named column of
    the single row holds its value (order-free: the ITs' headers follow IoTDB's hash order)."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            header, rows = query(node, sql)
            names = header.rstrip(",").split(",")
            last = [dict(zip(names, row.rstrip(",").split(","), strict=True)) for row in rows]
            if len(last) == 1 and all(last[0].get(k) == v for k, v in expected.items()):
                return
        except Exception as exc:
            last = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"{sql!r} never gave {expected!r}; last: {last!r}")
        time.sleep(0.2)


PATTERN_MATCH_INSERTS = (
    "insert into root.nonAligned.1TS (time, s_float) values (now(), 0.5)",
    "insert into root.nonAligned.100TS (time, s_float) values (now(), 0.5)",
    "insert into root.nonAligned.1000TS (time, s_float) values (now(), 0.5)",
    "insert into root.nonAligned.`1(TS)` (time, s_float) values (now(), 0.5)",
    'insert into root.nonAligned.6TS.`6` (time, `s_float(1)`, `s_int(1)`, `s_double(1)`, `s_long(1)`, `s_text(1)`, `s_bool(1)`) values (now(), 0.5, 1, 1.5, 2, "text1", true)',
    "insert into root.aligned.1TS (time, s_float) aligned values (now(), 0.5)",
    "insert into root.aligned.100TS (time, s_float) aligned values (now(), 0.5)",
    "insert into root.aligned.1000TS (time, s_float) aligned values (now(), 0.5)",
    "insert into root.aligned.`1(TS)` (time, s_float) aligned values (now(), 0.5)",
    'insert into root.aligned.6TS.`6` (time, `s_float(1)`, `s_int(1)`, `s_double(1)`, `s_long(1)`, `s_text(1)`, `s_bool(1)`) aligned values (now(), 0.5, 1, 1.5, 2, "text1", true)',
)
PATTERNS = (
    ("root.db.nonExistPath", 0),  # matches nothing
    ("root.nonAligned.1TS.s_float", 1),
    ("root.nonAligned.6TS.`6`.`s_text(1)`", 2),
    ("root.aligned.1TS", 3),
    ("root.aligned.6TS.`6`.`s_int(1)`", 4),
    ("root.aligned.`1(TS)`", 5),
    ("root.nonAligned.`1(TS)`", 6),
    ("root.aligned.6TS.`6`", 11),  # the whole device
    ("root.nonAligned.6TS.`6`", 16),
    ("root.nonAligned.`1`", 16),  # matches nothing
    ("root.nonAligned.1", 18),  # 1TS, 100TS, 1000TS (a prefix of the path's text)
    ("root.aligned.1", 20),
)  # fmt: skip


def pattern_match(sender, receiver, key: str) -> None:
    sender.try_execute(*PATTERN_MATCH_INSERTS)
    for i, (pattern, count) in enumerate(PATTERNS):
        source = {f"{key}.pattern": pattern, f"{key}.inclusion": "data.insert"}
        create_pipe(sender, f"p{i}", source=source, sink=thrift_sink(receiver, SINK))
        sender.execute("flush")
        # IoTDB 2.0's count carries no `system password history` series (master's `+ 2`)
        assert_data_eventually(
            receiver, "count timeseries root.**", "count(timeseries),", [f"{count},"]
        )
    header = "Device,IsAligned,Template,TTL(ms),"
    for kind, aligned in (("nonAligned", "false"), ("aligned", "true")):
        devices = ("1TS", "100TS", "1000TS", "`1(TS)`", "6TS.`6`")
        assert_data_eventually(
            receiver,
            f"show devices root.{kind}.**",
            header,
            [f"root.{kind}.{d},{aligned},null,INF," for d in devices],
        )


def test_extractor_pattern_match(auto_env) -> None:
    """testExtractorPatternMatch."""
    pattern_match(*auto_env, "source")


def history_and_realtime(sender, receiver, key: str) -> None:
    sender.try_execute(
        "insert into root.db.d1 (time, at1) values (1, 10)",
        "insert into root.db.d2 (time, at1) values (1, 20)",
        "insert into root.db.d3 (time, at1) values (1, 30)",
        "insert into root.db.d4 (time, at1) values (1, 40)",
        "flush",
    )
    for name, device, history, realtime in (
        ("p2", "root.db.d2", "false", "true"),
        ("p3", "root.db.d3", "true", "false"),
        ("p4", "root.db.d4", "true", "true"),
    ):
        source = {
            f"{key}.inclusion": "data.insert",
            f"{key}.pattern": device,
            f"{key}.history.enable": history,
            f"{key}.realtime.enable": realtime,
        }
        create_pipe(sender, name, source=source, sink=thrift_sink(receiver, SINK))
    sender.try_execute(
        "insert into root.db.d1 (time, at1) values (2, 11)",
        "insert into root.db.d2 (time, at1) values (2, 21)",
        "insert into root.db.d3 (time, at1) values (2, 31)",
        "insert into root.db.d4 (time, at1) values (2, 41), (3, 51)",
    )
    # the IT's header is IoTDB's hash order `count(root.db.d4.at1),count(root.db.d2.at1),
    # count(root.db.d3.at1),`: checked column by column
    for where, (d4, d2, d3) in (("time <= 1", "101"), ("time >= 2", "210")):
        columns_eventually(
            receiver,
            f"select count(*) from root.db.** where {where}",
            {"count(root.db.d4.at1)": d4, "count(root.db.d2.at1)": d2, "count(root.db.d3.at1)": d3},
        )


def test_history_and_realtime(auto_env) -> None:
    """testHistoryAndRealtime."""
    history_and_realtime(*auto_env, "source")


def history_loose_range(sender, receiver) -> None:
    sender.try_execute(
        # TsFile 1, sent whole; TsFile 2 (root.db1) not: the path does not overlap
        "insert into root.db.d1 (time, at1, at2) values (1000, 1, 2), (2000, 3, 4)",
        "insert into root.db1.d1 (time, at1, at2) values (1000, 1, 2), (2000, 3, 4)",
        "flush",
        # TsFile 3, not sent: the time range does not overlap
        "insert into root.db.d1 (time, at1, at2) values (3000, 1, 2), (4000, 3, 4)",
        "flush",
    )
    source = {
        "source.path": "root.db.d1.at1",
        "source.inclusion": "data.insert",
        "source.history.start-time": "1500",
        "source.history.end-time": "2500",
        "source.history.loose-range": "time, path",
    }
    create_pipe(sender, "p1", source=source, sink=thrift_sink(receiver, SINK))
    assert_data_eventually(
        receiver, "select count(*) from root.db.** group by level=0", "count(root.*.*.*),", ["4,"]
    )


def test_history_loose_range(auto_env) -> None:
    """testHistoryLooseRange."""
    history_loose_range(*auto_env)


def realtime_loose_range(sender, receiver) -> None:
    source = {
        "source.path": "root.db.d1.at1",
        "source.inclusion": "data.insert",
        "source.realtime.loose-range": "time, path",
        "source.start-time": "2000",
        "source.end-time": "10000",
        "source.realtime.mode": "batch",
    }
    create_pipe(sender, "p1", source=source, sink=thrift_sink(receiver, SINK))
    sender.try_execute(
        "insert into root.db.d1 (time, at1, at2) values (1000, 1, 2), (3000, 3, 4)",
        "flush",
        "insert into root.db1.d1 (time, at1, at2) values (1000, 1, 2), (3000, 3, 4)",
        "flush",
        "insert into root.db.d1 (time, at1) values (5000, 1), (16000, 3)",
        "insert into root.db.d1 (time, at1, at2) values (5001, 1, 2), (6001, 3, 4)",
        "flush",
    )
    columns_eventually(
        receiver,
        "select count(at1) from root.db.d1 where time >= 2000 and time <= 10000",
        {"count(root.db.d1.at1)": "4"},
    )


def test_realtime_loose_range(auto_env) -> None:
    """testRealtimeLooseRange."""
    realtime_loose_range(*auto_env)
