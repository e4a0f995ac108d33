"""IoTDB's IoTDBTreePatternFormatIT / IoTDBPipePatternFormatIT (pipe/it/autocreate): the
legacy prefix `pattern`, the IoTDB-style `path` (which wins over `pattern`), and
`pattern.format`=iotdb."""

from __future__ import annotations

import pytest
from iotdb_it import assert_data_eventually, create_pipe, thrift_sink

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

INSERTS = (
    "insert into root.db.d1(time, s, s1, t) values (1, 1, 1, 1)",
    "insert into root.db.d2(time, s) values (1, 1)",
    "insert into root.db2.d1(time, s) values (1, 1)",
)
SINK = {"connector.batch.enable": "false"}


@pytest.mark.parametrize(
    ("source", "header", "row"),
    [
        pytest.param(
            {"extractor.pattern": "root.db.d1.s"},
            "Time,root.db.d1.s,root.db.d1.s1,",
            "1,1.0,1.0,",
            id="testPrefixPattern",
        ),
        pytest.param(
            {"extractor.path": "root.**.d1.s*", "extractor.pattern": "root"},
            "Time,root.db2.d1.s,root.db.d1.s,root.db.d1.s1,",
            "1,1.0,1.0,1.0,",
            id="testIotdbPattern",
        ),
        pytest.param(
            {"extractor.pattern": "root.**.d1.s*", "extractor.pattern.format": "iotdb"},
            "Time,root.db2.d1.s,root.db.d1.s,root.db.d1.s1,",
            "1,1.0,1.0,1.0,",
            id="testIotdbPatternWithLegacySyntax",
        ),
    ],
)
def test_pattern_format(auto_env, source: dict[str, str], header: str, row: str) -> None:
    """The three methods of IoTDBTreePatternFormatIT (the first three of
    IoTDBPipePatternFormatIT; its multiple/exclusion ones are @Ignore'd there)."""
    sender, receiver = auto_env
    sender.try_execute(*INSERTS)
    sender.execute("flush")
    create_pipe(
        sender,
        "p1",
        source={**source, "extractor.inclusion": "data.insert"},
        sink=thrift_sink(receiver, SINK),
    )
    assert_data_eventually(receiver, "select * from root.**", header, [row], timeout=8.0)
