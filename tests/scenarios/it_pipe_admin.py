"""What IoTDB's pipe ITs read through the ConfigNode client (`client.showPipe`, the TSStatus of
`createPipe` / `startPipe` / `dropPipe`), read here through SQL as a client of the DataNode
sees it: SHOW PIPES rows by column name, and the `code: message` of a refused statement."""

from __future__ import annotations

from typing import Any

import pytest
from iotdb_it import ItNode

__all__ = [
    "PIPE_ERROR",
    "PIPE_NOT_EXIST_ERROR",
    "failure",
    "pipe_count",
    "show_pipes",
    "sink_sql",
    "states",
]

# TSStatusCode
PIPE_ERROR = 1107
PIPE_NOT_EXIST_ERROR = 1806


def show_pipes(node: ItNode, sql: str = "show pipes") -> list[dict[str, str]]:
    """SHOW PIPES as rows of {column: text} (TShowPipeInfo: id, state, pipeExtractor, ...)."""
    data = node.client().execute_query_statement(sql)
    try:
        names = list(data.get_column_names())
        rows = []
        while data.has_next():
            fields = data.next().get_fields()
            rows.append({n: _text(f) for n, f in zip(names, fields, strict=True)})
        return rows
    finally:
        data.close_operation_handle()


def _text(field: Any) -> str:
    if field is None or field.value is None:
        return "null"
    value = field.value
    return value.decode() if isinstance(value, bytes) else str(value)


def pipe_count(node: ItNode) -> int:
    return len(show_pipes(node))


def states(node: ItNode) -> dict[str, str]:
    return {row["ID"]: row["State"] for row in show_pipes(node)}


def failure(node: ItNode, sql: str) -> str:
    """The `code: message` text of a statement that must be refused (IoTDB's SQLException)."""
    with pytest.raises(Exception) as caught:
        node.client().execute_non_query_statement(sql)
    return str(caught.value)


def sink_sql(receiver: ItNode, key: str = "connector") -> str:
    """The `with connector (...)` body of IoTDB's ITs (iotdb-thrift-connector, no batching)."""
    return (
        f"'{key}'='iotdb-thrift-connector','{key}.ip'='127.0.0.1',"
        f"'{key}.port'='{receiver.port}','{key}.batch.enable'='false'"
    )
