"""Each statement kind parses into the statement object an executor needs."""

from __future__ import annotations

import math

import pytest

from pipecore.sql import (
    TIME,
    AggregateCall,
    AlterPipe,
    And,
    Between,
    Comparison,
    CountDevices,
    CountTimeseries,
    CreateAlignedTimeseries,
    CreateDatabase,
    CreateLegacyPipe,
    CreatePipe,
    CreatePipePlugin,
    CreatePipeSink,
    CreateTimeseries,
    DeleteData,
    DeleteDatabase,
    DeleteTimeseries,
    DropPipe,
    DropPipePlugin,
    DropPipeSink,
    Flush,
    InList,
    Insert,
    IsNull,
    Literal,
    LoadConfiguration,
    LoadTsFile,
    Not,
    Or,
    Path,
    Select,
    SelectLast,
    ShowDatabases,
    ShowDevices,
    ShowPipePlugins,
    ShowPipes,
    ShowPipeSinks,
    ShowPipeSinkTypes,
    ShowTimeseries,
    StartPipe,
    StopPipe,
    TimeValue,
    parse_script,
    parse_statement,
)
from pipecore_storage.types import CompressionType, TSDataType, TSEncoding


def p(sql: str):
    return parse_statement(sql, zone="+08:00")


# ---------------------------------------------------------------- pipes


def test_create_pipe_full_form_keeps_keys_and_order() -> None:
    s = p(
        "CREATE PIPE IF NOT EXISTS a2b "
        "WITH EXTRACTOR ('extractor.pattern'='root.sg', 'source.history.enable'='false') "
        "WITH PROCESSOR ('processor'='do-nothing-processor') "
        "WITH CONNECTOR ('connector'='iotdb-thrift-connector', 'connector.ip'='127.0.0.1',)"
    )
    assert isinstance(s, CreatePipe)
    assert s.name == "a2b" and s.if_not_exists
    assert list(s.source.items()) == [
        ("extractor.pattern", "root.sg"),
        ("source.history.enable", "false"),
    ]
    assert s.processor == {"processor": "do-nothing-processor"}
    assert s.sink == {"connector": "iotdb-thrift-connector", "connector.ip": "127.0.0.1"}
    assert s.pipesink is None and s.warnings == ()


def test_create_pipe_bare_form_is_sink_only() -> None:
    s = p("create pipe p ('sink'='do-nothing-sink')")
    assert isinstance(s, CreatePipe)
    assert s.sink == {"sink": "do-nothing-sink"} and s.source == {} and s.processor == {}


def test_keywords_are_case_insensitive_and_values_verbatim() -> None:
    s = p('cReAtE pIpE MyPipe wItH sInK (\'Sink\'=\'X\', "k2"="it\'\'s ""q""")')
    assert s.name == "MyPipe"
    assert s.sink == {"Sink": "X", "k2": "it''s \"q\""}
    s2 = p("create pipe p with sink ('k'='it''s')")
    assert s2.sink == {"k": "it's"}


def test_create_pipe_empty_clause_and_names_that_are_keywords() -> None:
    s = p("CREATE PIPE source WITH SOURCE () WITH SINK ('sink'='do-nothing-sink')")
    assert s.name == "source" and s.source == {}
    assert p("CREATE PIPE `my pipe.1` WITH SINK ()").name == "my pipe.1"


def test_alter_pipe() -> None:
    s = p(
        "ALTER PIPE IF EXISTS p MODIFY SOURCE ('start-time'='1') "
        "REPLACE PROCESSOR ('processor'='do-nothing-processor') MODIFY CONNECTOR ('ip'='h')"
    )
    assert isinstance(s, AlterPipe) and s.if_exists and s.name == "p"
    assert s.source is not None and s.source.mode == "MODIFY"
    assert s.source.parameters == {"start-time": "1"}
    assert s.processor is not None and s.processor.mode == "REPLACE"
    assert s.sink is not None and s.sink.parameters == {"ip": "h"}
    bare = p("ALTER PIPE p")
    assert bare.source is None and bare.processor is None and bare.sink is None


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("START PIPE p", StartPipe(name="p")),
        ("stop pipe p", StopPipe(name="p")),
        ("DROP PIPE p", DropPipe(name="p")),
        ("DROP PIPE IF EXISTS p", DropPipe(name="p", if_exists=True)),
        ("SHOW PIPES", ShowPipes()),
        ("SHOW PIPE", ShowPipes()),
        ("SHOW PIPE p", ShowPipes(pipe_name="p")),
        ("SHOW PIPES WHERE SINK USED BY p", ShowPipes(sink_used_by="p")),
        ("show pipes where connector used by p", ShowPipes(sink_used_by="p")),
        ("SHOW PIPEPLUGINS", ShowPipePlugins()),
        ("DROP PIPEPLUGIN IF EXISTS kafka", DropPipePlugin(name="kafka", if_exists=True)),
        ("DROP PIPESINK s", DropPipeSink(name="s")),
        ("SHOW PIPESINKS", ShowPipeSinks()),
        ("SHOW PIPESINK", ShowPipeSinks()),
        ("SHOW PIPESINK s", ShowPipeSinks(name="s")),
        ("SHOW PIPESINKTYPE", ShowPipeSinkTypes()),
        ("LOAD CONFIGURATION", LoadConfiguration()),
        ("load configuration on local", LoadConfiguration(scope="LOCAL")),
    ],
)
def test_simple_statements(sql: str, expected: object) -> None:
    s = p(sql)
    assert type(s) is type(expected)
    assert {k: v for k, v in vars_of(s).items() if k not in ("span", "warnings")} == {
        k: v for k, v in vars_of(expected).items() if k not in ("span", "warnings")
    }
    assert s.span.text == sql


def vars_of(obj: object) -> dict:
    import attrs

    return attrs.asdict(obj, recurse=False)


def test_create_pipe_plugin() -> None:
    s = p(
        "CREATE PIPEPLUGIN IF NOT EXISTS kafka AS 'my_sinks.kafka:KafkaSink' USING URI 'file:///w.whl'"
    )
    assert isinstance(s, CreatePipePlugin)
    assert (s.name, s.class_name, s.uri, s.if_not_exists) == (
        "kafka",
        "my_sinks.kafka:KafkaSink",
        "file:///w.whl",
        True,
    )
    assert (s.module, s.attribute) == ("my_sinks.kafka", "KafkaSink")
    java = p("CREATE PIPEPLUGIN x AS 'org.example.MySink' USING URI 'u'")
    assert (java.module, java.attribute) == ("org.example", "MySink")


# ---------------------------------------------------------------- sync tool


def test_create_pipesink_values_quoted_or_not() -> None:
    s = p("CREATE PIPESINK my_iotdb AS IoTDB (IP='192.168.0.2',PORT=6667)")
    assert isinstance(s, CreatePipeSink)
    assert s.attributes == {"IP": "192.168.0.2", "PORT": "6667"}
    assert (s.ip, s.port, s.sink_type) == ("192.168.0.2", "6667", "IoTDB")
    default = p("create pipesink d as iotdb")
    assert (default.ip, default.port, default.sink_type) == ("127.0.0.1", "6667", "IoTDB")


def test_create_legacy_pipe() -> None:
    s = p(
        "CREATE PIPE p TO s FROM (select ** from root where time >= 1648569600000) "
        "WITH SyncDelOp=false"
    )
    assert isinstance(s, CreateLegacyPipe)
    assert (s.name, s.pipesink, s.start_time) == ("p", "s", 1648569600000)
    assert s.attributes == {"SyncDelOp": "false"}
    assert p("CREATE PIPE p TO s").start_time is None
    assert p("CREATE PIPE p TO s FROM (select ** from root where time > 10)").start_time == 11


# ---------------------------------------------------------------- schema


def test_databases() -> None:
    for sql in (
        "CREATE DATABASE root.vehicle",
        "create storage group root.vehicle",
        "SET STORAGE GROUP TO root.vehicle",
    ):
        s = p(sql)
        assert isinstance(s, CreateDatabase) and s.path == Path(("root", "vehicle"))
    ttl = p("CREATE DATABASE root.sg WITH TTL=3600000, SCHEMA_REGION_GROUP_NUM=1")
    assert ttl.attributes == {"TTL": 3600000, "SCHEMA_REGION_GROUP_NUM": 1}
    assert p("SHOW DATABASES").pattern == Path(("root", "**"))
    shown = p("show databases details root.sg.**")
    assert isinstance(shown, ShowDatabases) and shown.details
    assert str(shown.pattern) == "root.sg.**"
    d = p("DELETE DATABASE root.a, root.b")
    assert isinstance(d, DeleteDatabase) and [str(x) for x in d.paths] == ["root.a", "root.b"]
    assert isinstance(p("drop storage group root.a"), DeleteDatabase)


def test_create_timeseries_long_and_short_forms() -> None:
    long = p("CREATE TIMESERIES root.vehicle.d0.s0 WITH DATATYPE=INT32, ENCODING=RLE")
    assert isinstance(long, CreateTimeseries)
    assert long.path == Path(("root", "vehicle", "d0", "s0"))
    assert long.spec.name == "s0"
    assert (long.spec.data_type, long.spec.encoding, long.spec.compressor) == (
        TSDataType.INT32,
        TSEncoding.RLE,
        None,
    )
    short = p("create timeseries root.ln.wf01.wt01.status BOOLEAN encoding=PLAIN compressor=SNAPPY")
    assert (short.spec.data_type, short.spec.encoding, short.spec.compressor) == (
        TSDataType.BOOLEAN,
        TSEncoding.PLAIN,
        CompressionType.SNAPPY,
    )
    bare = p("create timeseries root.sg.d.s text")
    assert bare.spec.data_type == TSDataType.TEXT and bare.spec.encoding is None
    full = p(
        "CREATE TIMESERIES root.ln.d.temperature(temp) WITH DATATYPE=FLOAT, ENCODING=RLE, "
        "COMPRESSION=SNAPPY, MAX_POINT_NUMBER=3 TAGS(tag1=v1, 'tag2'='v 2') ATTRIBUTES(a=1)"
    )
    assert full.spec.alias == "temp" and full.spec.compressor == CompressionType.SNAPPY
    assert full.spec.props == {"MAX_POINT_NUMBER": "3"}
    assert full.spec.tags == {"tag1": "v1", "tag2": "v 2"} and full.spec.attributes == {"a": "1"}


def test_create_aligned_timeseries() -> None:
    s = p(
        "CREATE ALIGNED TIMESERIES root.ln.wf01.GPS(latitude FLOAT encoding=PLAIN "
        "compressor=SNAPPY, longitude DOUBLE, status BOOLEAN)"
    )
    assert isinstance(s, CreateAlignedTimeseries)
    assert s.device == Path(("root", "ln", "wf01", "GPS"))
    assert [(m.name, m.data_type) for m in s.measurements] == [
        ("latitude", TSDataType.FLOAT),
        ("longitude", TSDataType.DOUBLE),
        ("status", TSDataType.BOOLEAN),
    ]
    assert s.measurements[0].encoding == TSEncoding.PLAIN


def test_show_and_count_schema() -> None:
    t = p("SHOW TIMESERIES root.sg.** LIMIT 10 OFFSET 5")
    assert isinstance(t, ShowTimeseries) and (t.limit, t.offset) == (10, 5)
    assert str(t.pattern) == "root.sg.**"
    assert p("SHOW TIMESERIES").pattern == Path(("root", "**"))
    assert isinstance(p("show devices root.sg.*"), ShowDevices)
    c = p("COUNT TIMESERIES root.** GROUP BY LEVEL = 1")
    assert isinstance(c, CountTimeseries) and c.group_by_level == 1
    assert isinstance(p("count devices"), CountDevices)
    dt = p("DELETE TIMESERIES root.sg.d.*, root.sg.e.s1")
    assert isinstance(dt, DeleteTimeseries) and len(dt.paths) == 2


def test_path_nodes_quoted_wildcards_and_keywords() -> None:
    s = p("SHOW TIMESERIES root.`a.b`.*s.*d*.**.pipe.`123`")
    assert s.pattern.nodes == ("root", "a.b", "*s", "*d*", "**", "pipe", "123")
    assert str(s.pattern) == "root.`a.b`.*s.*d*.**.pipe.`123`"
    assert s.pattern.is_pattern


# ---------------------------------------------------------------- data


def test_insert_rows_values_and_times() -> None:
    s = p(
        "INSERT INTO root.sg.d1(timestamp, s1, s2, s3, s4, s5) ALIGNED VALUES "
        "(1, 10, 16.0, 'x''y', true, null), "
        '(2022-03-30T00:00:00+00:00, -3, 1e3, "z", FALSE, NaN), '
        "(now(), 1, 2, 'a', true, X'0aff')"
    )
    assert isinstance(s, Insert) and s.aligned
    assert s.device == Path(("root", "sg", "d1"))
    assert s.measurements == ("s1", "s2", "s3", "s4", "s5")
    first, second, third = s.rows
    assert [v.value for v in first.values] == [10, 16.0, "x'y", True, None]
    assert first.values[1] == Literal(16.0, "float", "16.0")
    assert second.time == TimeValue(1648598400000, 0, "2022-03-30T00:00:00+00:00")
    assert second.values[0] == Literal(-3, "int", "-3") and math.isnan(second.values[4].value)
    assert third.time.is_now and third.values[4].value == b"\x0a\xff"
    assert s.timestamps(now_ms=99) == [1, 1648598400000, 99]


def test_insert_without_time_column_uses_now_and_datetime_string_time() -> None:
    s = p("insert into root.sg.d(s1) values (1), (2)")
    assert s.timestamps(now_ms=7) == [7, 7]
    t = p("insert into root.sg.d(time, s1) values ('2022-03-30 08:00:00', 1)")
    assert t.timestamps(0) == [1648598400000]  # +08:00 session zone


def test_select_clauses() -> None:
    s = p(
        "SELECT s1, d2.s2 AS x, * FROM root.sg.d1, root.sg.d2 "
        "WHERE time >= 2022-01-01 00:00:00 and time < 1700000000000 or not s1 > 3.5 "
        "ORDER BY TIME DESC LIMIT 10 OFFSET 2 ALIGN BY DEVICE"
    )
    assert isinstance(s, Select)
    assert [str(c.selector) for c in s.columns] == ["s1", "d2.s2", "*"]
    assert s.columns[1].alias == "x"
    assert s.from_paths == (Path(("root", "sg", "d1")), Path(("root", "sg", "d2")))
    assert (s.order_desc, s.limit, s.offset, s.align_by_device) == (True, 10, 2, True)
    assert isinstance(s.where, Or)
    left, right = s.where.operands
    assert left == And(
        (
            Comparison(TIME, ">=", TimeValue(1640966400000, 0, "2022-01-01 00:00:00")),
            Comparison(TIME, "<", TimeValue(1700000000000, 0, "1700000000000")),
        )
    )
    assert right == Not(Comparison(Path(("s1",)), ">", Literal(3.5, "float", "3.5")))


def test_select_aggregates_and_predicates() -> None:
    s = p(
        "select count(*), Max_Value(s1), last_value(root.sg.d.s2) from root.sg.d "
        "where s1 between 1 and 5 && s2 is not null || s3 in (1, 2) and time in (1, 2)"
    )
    assert [c.selector for c in s.columns] == [
        AggregateCall(function="COUNT", path=Path(("*",))),
        AggregateCall(function="MAX_VALUE", path=Path(("s1",))),
        AggregateCall(function="LAST_VALUE", path=Path(("root", "sg", "d", "s2"))),
    ]
    assert s.is_aggregation
    cond = s.where
    assert isinstance(cond, Or)
    assert cond.operands[0] == And(
        (
            Between(Path(("s1",)), Literal(1, "int", "1"), Literal(5, "int", "5")),
            IsNull(Path(("s2",)), negated=True),
        )
    )
    assert cond.operands[1].operands[1] == InList(
        TIME, (TimeValue(1, 0, "1"), TimeValue(2, 0, "2"))
    )


def test_select_series_pagination_and_ascending() -> None:
    s = p("select * from root.** order by time asc slimit 3 soffset 1 limit 5")
    assert (s.order_desc, s.series_limit, s.series_offset, s.limit) == (False, 3, 1, 5)


def test_select_last() -> None:
    s = p("SELECT LAST s1, s2 FROM root.sg.d WHERE time > now() - 1h")
    assert isinstance(s, SelectLast)
    assert [str(c.selector) for c in s.columns] == ["s1", "s2"]
    assert s.where == Comparison(TIME, ">", TimeValue(None, -3_600_000, "now() - 1h"))


def test_delete_data_time_range() -> None:
    s = p("DELETE FROM root.sg.d.s1, root.sg.d.s2 WHERE time >= 10 and time < 20")
    assert isinstance(s, DeleteData) and len(s.paths) == 2
    assert s.time_range(now_ms=0) == (10, 19)
    everything = p("delete from root.sg.**")
    assert everything.where is None and everything.time_range(0) == (-(2**63), 2**63 - 1)
    rel = p("delete from root.sg.d.s where time <= now() - 1d and 100 <= time")
    assert rel.time_range(now_ms=200_000_000) == (100, 200_000_000 - 86_400_000)
    between = p("delete from root.sg.d.s where time between 5 and 9")
    assert between.time_range(0) == (5, 9)


def test_flush_and_load() -> None:
    f = p("FLUSH root.sg1, root.sg2 true ON LOCAL")
    assert isinstance(f, Flush)
    assert ([str(x) for x in f.paths], f.sequence, f.scope) == (
        ["root.sg1", "root.sg2"],
        True,
        "LOCAL",
    )
    assert p("flush") == Flush(span=p("flush").span)
    ld = p("LOAD '/data/x.tsfile' sglevel=2 verify=true onSuccess=delete")
    assert isinstance(ld, LoadTsFile) and ld.path == "/data/x.tsfile"
    assert ld.options == {"sglevel": "2", "verify": "true", "onsuccess": "delete"}
    w = p("load '/d' with ('database-level'='2', 'on-success'='none')")
    assert w.options == {"database-level": "2", "on-success": "none"}


# ---------------------------------------------------------------- scripts


def test_script_statements_carry_lines_and_text() -> None:
    text = "-- a comment\nCREATE DATABASE root.a;\n\n/* block */ SHOW DATABASES ;;\nflush"
    statements = parse_script(text)
    assert [type(s).__name__ for s in statements] == ["CreateDatabase", "ShowDatabases", "Flush"]
    assert [s.line for s in statements] == [2, 4, 5]
    assert [s.sql for s in statements] == ["CREATE DATABASE root.a", "SHOW DATABASES", "flush"]
    assert statements[1].span.column == 13
    assert text[statements[1].span.start : statements[1].span.end] == "SHOW DATABASES"
    assert parse_script("") == [] and parse_script(" ;; -- nothing\n") == []


def test_cjk_identifiers_and_strings() -> None:
    s = p("CREATE PIPESINK 接收端 AS IoTDB (ip='接收端IP', port='接收端端口')")
    assert s.name == "接收端" and s.ip == "接收端IP"
    t = p("insert into root.车间.设备1(time, 温度) values (1, 36.5)")
    assert t.device.nodes == ("root", "车间", "设备1") and t.measurements == ("温度",)


def test_parse_path_for_parameters() -> None:
    from pipecore.sql import SqlSyntaxError, parse_path

    assert parse_path("root.sg.`a.b`.**").nodes == ("root", "sg", "a.b", "**")
    assert parse_path(" d1.s1 ") == Path(("d1", "s1"))
    assert str(parse_path("root.ln.wf01.*")) == "root.ln.wf01.*"
    with pytest.raises(SqlSyntaxError):
        parse_path("root.sg.")
    with pytest.raises(SqlSyntaxError):
        parse_path("root.sg; drop pipe p")


def test_parsing_from_many_threads() -> None:
    from concurrent.futures import ThreadPoolExecutor

    texts = [f"insert into root.sg.d{i}(time, s1) values ({i}, {i * 2})" for i in range(200)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(parse_statement, texts))
    for i, stmt in enumerate(results):
        assert stmt.device.nodes[-1] == f"d{i}" and stmt.sql == texts[i]
        assert stmt.rows[0].values[0].value == i * 2
