"""The sync tool's statements (seeds 000/001) on a node: PIPESINKs and ``CREATE PIPE p TO s``.

A legacy pipe becomes an ordinary pipe (iotdb-source → iotdb-thrift-sink at the PIPESINK's
address), created stopped as the sync tool did. The PIPESINK points at a second, serving
node. Where ``iotdb-source`` / ``iotdb-thrift-sink`` are not installed yet (issues 6 and 7),
plugins that do nothing stand in under those names, so the statements can run; with the real
plugins installed the same test runs against them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipecore import Connector, Extractor, Node, hookimpl
from pipecore.registry import PluginRegistry
from pipecore.sql import SqlSemanticError
from pipecore.sql.outcome import StatementError
from pipecore.sql.result import SHOW_PIPESINK_COLUMNS, SHOW_PIPESINKTYPE_COLUMNS


class _StandInSource(Extractor):
    pass


class _StandInSink(Connector):
    def connector_transfer_tablet(self, event) -> None:
        return None


class _StandIns:
    def __init__(self, names: set[str]) -> None:
        self.names = names

    @hookimpl
    def register_pipe_plugins(self, register) -> None:
        if "IOTDB-SOURCE" in self.names:
            register("source", "iotdb-source", _StandInSource)
        if "IOTDB-THRIFT-SINK" in self.names:
            register("sink", "iotdb-thrift-sink", _StandInSink)


def _missing_plugins() -> set[str]:
    registry = PluginRegistry()
    registry.load()
    return {n for n in ("IOTDB-SOURCE", "IOTDB-THRIFT-SINK") if registry.find(n) is None}


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[tuple[Node, tuple[str, int]]]:
    plugins = [_StandIns(_missing_plugins())]
    with Node.open(tmp_path / "receiver") as receiver:
        address = receiver.serve("127.0.0.1", 0)
        with Node.open(tmp_path / "sender", plugins=plugins) as sender:
            yield sender, address


def _rows(node: Node, sql: str) -> list[dict[str, str]]:
    return node.execute(sql).as_dicts()


def test_show_pipesinktype(nodes) -> None:
    sender, _ = nodes
    table = sender.execute("SHOW PIPESINKTYPE")
    assert table.columns == SHOW_PIPESINKTYPE_COLUMNS
    assert table.render().splitlines()[:5] == [
        "+-----+",
        "| type|",
        "+-----+",
        "|IoTDB|",
        "+-----+",
    ]


def test_pipesinks_are_created_shown_and_dropped(nodes) -> None:
    sender, (host, port) = nodes
    sender.execute(f"CREATE PIPESINK my_pipesink AS IoTDB (ip='{host}',port={port})")
    table = sender.execute("SHOW PIPESINKS")
    assert table.columns == SHOW_PIPESINK_COLUMNS
    assert table.rows == (("my_pipesink", "IoTDB", f"ip='{host}',port={port}"),)
    assert sender.execute("SHOW PIPESINK my_pipesink").rows == table.rows
    with pytest.raises(StatementError, match=r"PIPESINK \[my_pipesink\] already exists in IoTDB"):
        sender.execute("CREATE PIPESINK my_pipesink AS IoTDB")
    sender.execute("DROP PIPESINK my_pipesink")
    assert sender.execute("SHOW PIPESINKS").rows == ()
    with pytest.raises(StatementError, match=r"PIPESINK \[my_pipesink\] does not exist"):
        sender.execute("DROP PIPESINK my_pipesink")
    with pytest.raises(StatementError, match=r"PIPESINK \[nope\] does not exist"):
        sender.execute("SHOW PIPESINK nope")


def test_a_placeholder_address_is_refused_and_nothing_stored(nodes) -> None:
    sender, _ = nodes
    with pytest.raises(SqlSemanticError, match="is not a port number"):
        sender.execute(
            "CREATE PIPESINK central_iotdb AS IoTDB (ip='There is your goal IP', "
            "port='There is your goal port')"
        )
    assert sender.execute("SHOW PIPESINKS").rows == ()


def test_legacy_pipe_is_translated_created_stopped_and_started(nodes) -> None:
    sender, (host, port) = nodes
    sender.execute(f"CREATE PIPESINK my_iotdb AS IoTDB (IP='{host}',PORT={port})")
    sender.execute(
        "CREATE PIPE p TO my_iotdb FROM (select ** from root where time>= 1648569600000)"
    )
    (row,) = _rows(sender, "SHOW PIPE p")
    assert row["State"] == "STOPPED"
    # the sync tool's view (seed 001): role, remote = the PIPESINK, the pipe's attributes
    assert row["PipeSource"] == (
        "{DataStartTimestamp=1648569600000, SyncDelOp=false, remote=my_iotdb, role=sender}"
    )
    assert row["ExceptionMessage"] == "NORMAL"
    assert row["PipeSink"] == (
        f"{{sink=iotdb-thrift-sink, sink.exception.others.retry-max-times=5, sink.ip={host}, "
        f"sink.port={port}}}"
    )
    with pytest.raises(StatementError, match=r"PIPE \[p\] is STOP, please retry after drop it\."):
        sender.execute("CREATE PIPE p TO my_iotdb")
    with pytest.raises(
        StatementError,
        match=r"Can not drop PIPESINK \[my_iotdb\], because PIPE \[p\] is using it\.",
    ):
        sender.execute("DROP PIPESINK my_iotdb")
    sender.execute("START PIPE p")
    (row,) = _rows(sender, "SHOW PIPES")
    assert row["State"] == "RUNNING", row
    sender.execute("STOP PIPE p")
    sender.execute("DROP PIPE p")
    sender.execute("DROP PIPESINK my_iotdb")  # no pipe uses it any more


def test_legacy_pipe_errors(nodes) -> None:
    sender, (host, port) = nodes
    with pytest.raises(StatementError, match=r"PIPESINK \[demo\] does not exist"):
        sender.execute("CREATE PIPE p to demo")
    sender.execute(f"CREATE PIPESINK demo AS IoTDB (ip='{host}', port={port})")
    with pytest.raises(StatementError, match="later than the current time"):
        sender.execute(
            "CREATE PIPE p TO demo FROM (select ** from root where time >= 9999999999999)"
        )
    assert sender.execute("SHOW PIPES").rows == ()
    sender.execute("CREATE PIPE p2 TO demo WITH SyncDelOp=true")
    (row,) = _rows(sender, "SHOW PIPES")
    assert row["PipeSource"] == "{DataStartTimestamp=0, SyncDelOp=true, remote=demo, role=sender}"


def test_pipesinks_and_their_pipes_survive_a_restart(tmp_path: Path, nodes) -> None:
    sender, (host, port) = nodes
    sender.execute(f"CREATE PIPESINK s AS IoTDB (ip='{host}', port={port})")
    sender.execute("CREATE PIPE p TO s")
    directory = sender.data_dir
    plugins = [_StandIns(_missing_plugins())]
    sender.close()
    with Node.open(directory, plugins=plugins) as again:
        assert again.execute("SHOW PIPESINKS").rows == (("s", "IoTDB", f"ip='{host}',port={port}"),)
        with pytest.raises(StatementError, match="because PIPE"):
            again.execute("DROP PIPESINK s")
