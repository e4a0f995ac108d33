"""The sync tool's PIPESINK + CREATE PIPE ... TO, translated onto source/sink pipes."""

from __future__ import annotations

import pytest

from pipecore.sql import (
    CreatePipe,
    SqlSemanticError,
    check_pipesink,
    parse_statement,
    pipesink_attributes_text,
    translate_legacy_pipe,
)


def test_translation_with_start_time_and_deletions() -> None:
    sink = parse_statement("CREATE PIPESINK my_iotdb AS IoTDB (ip='10.0.0.7', port=6668)")
    pipe = parse_statement(
        "CREATE PIPE p TO my_iotdb FROM (select ** from root where time >= 1000) "
        "WITH SyncDelOp=true",
        zone="UTC",
    )
    translated = pipe.translate(sink)
    assert isinstance(translated, CreatePipe)
    assert translated.name == "p" and translated.pipesink == "my_iotdb"
    assert translated.source == {
        "source": "iotdb-source",
        "source.start-time": "1000",
        "source.inclusion": "data",
    }
    assert translated.processor == {}
    assert translated.sink == {
        "sink": "iotdb-thrift-sink",
        "sink.ip": "10.0.0.7",
        "sink.port": "6668",
    }
    assert translated.span == pipe.span


def test_defaults_of_a_bare_pipesink_and_pipe() -> None:
    sink = parse_statement("CREATE PIPESINK d AS IoTDB")
    pipe = parse_statement("CREATE PIPE q TO d")
    out = translate_legacy_pipe(pipe, sink)
    assert out.source == {"source": "iotdb-source"}
    assert out.sink == {"sink": "iotdb-thrift-sink", "sink.ip": "127.0.0.1", "sink.port": "6667"}
    assert pipesink_attributes_text(sink) == "ip='127.0.0.1',port=6667"


def test_placeholder_pipesinks_parse_but_cannot_be_used() -> None:
    sink = parse_statement(
        "CREATE PIPESINK central_iotdb AS IoTDB "
        "(ip='There is your goal IP', port='There is your goal port')"
    )
    with pytest.raises(SqlSemanticError, match="port 'There is your goal port' is not a port"):
        check_pipesink(sink)
    pipe = parse_statement("CREATE PIPE my_pipe TO central_iotdb")
    with pytest.raises(SqlSemanticError) as info:
        translate_legacy_pipe(pipe, sink)
    assert info.value.subject == "central_iotdb" and info.value.line == 1
    bad_ip = parse_statement("CREATE PIPESINK s AS IoTDB (ip='a b', port=1)")
    with pytest.raises(SqlSemanticError, match="ip 'a b' is not a host"):
        check_pipesink(bad_ip)
    check_pipesink(parse_statement("CREATE PIPESINK ok AS IoTDB (ip='h.example', port='6667')"))


def test_the_pipe_must_name_the_pipesink_given() -> None:
    sink = parse_statement("CREATE PIPESINK a AS IoTDB")
    pipe = parse_statement("CREATE PIPE p TO b")
    with pytest.raises(SqlSemanticError, match=r"goes to PIPESINK \[b\], not \[a\]"):
        pipe.translate(sink)
