"""IoTDB's pipe integration tests (integration-test/.../pipe/it) as they run against two
`pipecore serve` processes: the same SQL, the same expected headers and rows.

`assert_data_eventually` is IoTDB's ``TestUtils.assertDataEventuallyOnEnv``: the header is the
column names each followed by ``,`` and each row the JDBC ``getString`` of its cells each
followed by ``,`` (``null`` for a null cell, Java's texts for floats and booleans), compared as
a set. Queries go through IoTDB's own Python client (apache-iotdb), as any client sees them.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import numpy as np
from iotdb.Session import Session
from thrift_processes import FAST_CONFIG, Serve

from pipecore.timeparse import format_datetime

__all__ = [
    "ItNode",
    "assert_data_always",
    "assert_data_eventually",
    "create_pipe",
    "query",
    "thrift_sink",
    "wait_for_columns",
]

# IoTDB's TSDataType ids as the Python client reports them
_BOOLEAN, _FLOAT, _DOUBLE, _TIMESTAMP, _DATE, _BLOB = 0, 3, 4, 8, 9, 10


class ItNode(Serve):
    """A `pipecore serve` process with an apache-iotdb session, IoTDB's "env" of one DataNode."""

    def __init__(self, tmp: Any, name: str, config: dict[str, Any] | None = None) -> None:
        super().__init__(tmp, name, {**FAST_CONFIG, **(config or {})})
        self._client: Session | None = None
        #: the air-gap receiver's port when the node runs one (IoTDB's getPipeAirGapReceiverPort)
        self.air_gap_port: int | None = (config or {}).get("pipe_air_gap_receiver_port")

    def client(self) -> Session:
        if self._client is None:
            self._client = Session("127.0.0.1", self.port, "root", "root")
            self._client.open(False)
        return self._client

    def execute(self, *statements: str) -> None:
        """IoTDB's TestUtils.executeNonQueries: each statement must succeed."""
        for statement in statements:
            self.client().execute_non_query_statement(statement)

    def try_execute(self, *statements: str, timeout: float = 6.0) -> None:
        """TestUtils.tryExecuteNonQueriesWithRetry: each statement retried until it succeeds."""
        for statement in statements:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    self.client().execute_non_query_statement(statement)
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)

    def stop(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            finally:
                self._client = None
        super().stop()

    def drop_pipes(self) -> None:
        for row in query(self, "show pipes")[1]:
            if "role=receiver" not in row:  # a sync-tool (legacy sink) sender's row (seed 001)
                self.execute(f"drop pipe `{row.split(',')[0]}`")

    def reset(self) -> None:
        """Back to an empty node between scenarios (its pipes dropped first, on every node:
        `drop_pipes`): no databases, templates, users or roles."""
        if query(self, "count databases")[1] != {"0,"}:
            self.execute("delete database root.**")
        for row in query(self, "show schema templates")[1]:
            name = row.split(",")[0]
            for path in query(self, f"show paths set schema template {name}")[1]:
                self.execute(f"unset schema template {name} from {path.rstrip(',')}")
            self.execute(f"drop schema template {name}")
        for row in query(self, "list user")[1]:
            if row != "root,":
                self.execute(f"drop user `{row.rstrip(',')}`")
        for row in query(self, "list role")[1]:
            self.execute(f"drop role `{row.rstrip(',')}`")


def _java_text(value: Any, data_type: int | None) -> str:
    """What IoTDB's JDBC ResultSet.getString gives for a cell."""
    if value is None:
        return "null"
    if data_type == _BOOLEAN or isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if data_type == _FLOAT:
        return _java_float(float(np.float32(value)), np.float32(value))
    if data_type == _DOUBLE:
        return _java_float(float(value), float(value))
    if data_type == _BLOB:
        return "0x" + bytes(value).hex()
    if data_type == _DATE and isinstance(value, (int, np.integer)):
        return _java_date(int(value))
    if data_type == _TIMESTAMP:  # JDBC's getString: RpcUtils.formatDatetime (the ITs' zone: UTC)
        return format_datetime(int(value), "UTC")
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _java_date(day: int) -> str:
    """Java's LocalDate.toString of a yyyymmdd int (a year beyond 9999 as ``+119413``; the
    Python client cannot make a date of those)."""
    year, month, dom = day // 10000, day // 100 % 100, day % 100
    text = f"+{year}" if year > 9999 else f"{year:04d}"
    return f"{text}-{month:02d}-{dom:02d}"


def _java_float(number: float, shortest: Any) -> str:
    """Java's Float/Double.toString: the shortest digits, plain for 1e-3 <= |x| < 1e7, else
    ``d.ddddE<n>`` with every digit kept. (Written apart from pipecore's
    `pipecore_storage.java_text` on purpose: this is the expected side of the comparison.)"""
    text = repr(shortest) if isinstance(shortest, float) else str(shortest)
    if number != number or number in (float("inf"), float("-inf")):
        return {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}[text]
    if number == 0:
        return "-0.0" if text.startswith("-") else "0.0"
    exact = Decimal(text).normalize()
    if 1e-3 <= abs(number) < 1e7:
        plain = format(exact, "f")
        return plain if "." in plain else plain + ".0"
    sign, digits, _ = exact.as_tuple()
    mantissa = str(digits[0]) + "." + ("".join(map(str, digits[1:])) or "0")
    return f"{'-' if sign else ''}{mantissa}E{exact.adjusted()}"


def query(node: ItNode, sql: str) -> tuple[str, set[str]]:
    """(header, rows) of `sql` as IoTDB's TestUtils builds them."""
    data = node.client().execute_query_statement(sql)
    try:
        names = list(data.get_column_names())
        with_time = bool(names) and names[0] == "Time"
        rows: set[str] = set()
        while data.has_next():
            record = data.next()
            cells = [str(record.get_timestamp())] if with_time else []
            for field in record.get_fields():
                if field is None:
                    cells.append("null")
                    continue
                kind = _type_id(field.get_data_type())
                raw = kind in (_TIMESTAMP, _DATE, _BLOB)
                value = field.value if raw else field.get_object_value(kind)
                cells.append(_java_text(value, kind))
            rows.add("".join(f"{c}," for c in cells))
        return "".join(f"{n}," for n in names), rows
    finally:
        data.close_operation_handle()


def _type_id(kind: Any) -> int | None:
    if kind is None:
        return None
    return int(getattr(kind, "value", kind))


def assert_data_eventually(
    node: ItNode, sql: str, header: str, rows: Iterable[str], timeout: float = 30.0
) -> None:
    """TestUtils.assertDataEventuallyOnEnv: retried until header and row set match."""
    expected = set(rows)
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = query(node, sql)
            if last == (header, expected):
                return
        except Exception as exc:
            last = exc
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{node.name}: {sql!r} never gave {(header, expected)!r}; last: {last!r}\n"
                f"--- log ---\n{node.log()[-3000:]}"
            )
        time.sleep(0.2)


def assert_data_always(
    node: ItNode, sql: str, header: str, rows: Iterable[str], seconds: float = 2.0
) -> None:
    """TestUtils.assertDataAlwaysOnEnv: the answer stays as expected for `seconds`."""
    expected = set(rows)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert query(node, sql) == (header, expected), sql
        time.sleep(0.2)


def create_pipe(
    sender: ItNode,
    name: str,
    *,
    source: dict[str, str] | None = None,
    processor: dict[str, str] | None = None,
    sink: dict[str, str],
    start: bool = True,
) -> None:
    """IoTDB's `client.createPipe(new TCreatePipeReq(...))` (+ `startPipe`) as SQL."""

    def clause(word: str, attributes: dict[str, str] | None) -> str:
        if not attributes:
            return ""
        body = ", ".join(f"'{k}'='{v}'" for k, v in attributes.items())
        return f" WITH {word} ({body})"

    sender.execute(
        f"CREATE PIPE {name}{clause('SOURCE', source)}{clause('PROCESSOR', processor)}"
        f"{clause('SINK', sink)}"
    )
    if start:
        sender.execute(f"START PIPE {name}")


def thrift_sink(receiver: ItNode, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The connector attributes of IoTDB's ITs: iotdb-thrift-connector at the receiver."""
    return {
        "connector": "iotdb-thrift-connector",
        "connector.ip": "127.0.0.1",
        "connector.port": str(receiver.port),
        **(extra or {}),
    }


def wait_for_columns(
    node: ItNode, sql: str, header: str, rows: Iterable[str], timeout: float = 30.0
) -> None:
    """`assert_data_eventually` with the answer's columns put in `header`'s order first: the
    same columns and rows, whatever order SELECT * gives its columns in (IoTDB's own order
    for `SELECT *` is being matched elsewhere; the ITs' data is checked here)."""
    want = header.rstrip(",").split(",")
    expected = set(rows)
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            got_header, got_rows = query(node, sql)
            names = got_header.rstrip(",").split(",")
            last = (got_header, got_rows)
            if sorted(names) == sorted(want):
                order = [names.index(n) for n in want]
                cells = [r.rstrip(",").split(",") for r in got_rows]
                if {"".join(f"{c[i]}," for i in order) for c in cells} == expected:
                    return
        except Exception as exc:
            last = exc
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{node.name}: {sql!r} never gave {(header, expected)!r}; {last!r}"
            )
        time.sleep(0.2)
