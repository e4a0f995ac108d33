"""``IoTDBSource``: a PyFlink job reads the rows of a SQL query, split over parallel readers.

A source cannot be written in Python, so the query is planned into splits when the job is
built (the role of a Flink split enumerator), the split ids become a bounded collection, and
a ``flat_map`` of the wanted parallelism reads each split it is given with IoTDB's Python
client and emits ``convert(row_record)`` per row.

Splits partition the query's rows, so each row is read exactly once at any parallelism:

* ``split_by="device"`` (the default for ALIGN BY DEVICE queries): one split per device
  that the FROM clause's paths match (``SHOW DEVICES``), each the query with its FROM clause
  narrowed to that device;
* ``split_by="time"`` (the default otherwise, where a row holds several devices): ``splits``
  half-open time ranges covering all of time (the first and last ranges are open-ended), cut
  evenly between the query's first and last timestamps, each the query with
  ``time >= a AND time < b`` added to its WHERE clause.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from typing import Any

from .options import IoTDBSourceOptions

_CLAUSES = r"group\s+by|order\s+by|fill|limit|slimit|offset|soffset|align\s+by|having"
_CLAUSE_END = r"(?=\s+(?:where|" + _CLAUSES + r")\b|\s*$)"
_FROM = re.compile(r"\bfrom\s+(?P<paths>.+?)" + _CLAUSE_END, re.IGNORECASE | re.DOTALL)
_WHERE = re.compile(
    r"\bwhere\s+(?P<cond>.+?)" + _CLAUSE_END.replace("where|", ""), re.IGNORECASE | re.DOTALL
)


def _open(options: IoTDBSourceOptions) -> Any:
    from iotdb.Session import Session

    session = Session(options.host, options.port, options.user, options.password)
    session.open(False)
    return session


def _rows(session: Any, sql: str) -> Iterator[Any]:
    with session.execute_query_statement(sql) as data:
        while data.has_next():
            yield data.next()


def add_time_range(sql: str, lower: int | None, upper: int | None) -> str:
    """``sql`` with ``lower <= time < upper`` (either side may be open) added to its WHERE."""
    parts = []
    if lower is not None:
        parts.append(f"time >= {lower}")
    if upper is not None:
        parts.append(f"time < {upper}")
    if not parts:
        return sql
    cond = " and ".join(parts)
    where = _WHERE.search(sql)
    if where:
        head, tail = sql[: where.start("cond")], sql[where.end("cond") :]
        return f"{head}({where.group('cond')}) and {cond}{tail}"
    frm = _FROM.search(sql)
    if frm is None:
        raise ValueError(f"a source query reads FROM some path: {sql!r}")
    return f"{sql[: frm.end()]} where {cond}{sql[frm.end() :]}"


def with_from(sql: str, paths: str) -> str:
    frm = _FROM.search(sql)
    if frm is None:
        raise ValueError(f"a source query reads FROM some path: {sql!r}")
    return f"{sql[: frm.start('paths')]}{paths}{sql[frm.end('paths') :]}"


class IoTDBSource:
    """Seed 004's ``IoTDBSource``: options, a ``convert(row_record)`` and parallel splits."""

    def __init__(
        self,
        options: IoTDBSourceOptions,
        convert: Callable[[Any], Any] | None = None,
        split_by: str | None = None,
        splits: int = 4,
    ) -> None:
        if split_by is None:
            aligned = re.search(r"\balign\s+by\s+device\b", options.sql, re.IGNORECASE)
            split_by = "device" if aligned else "time"
        if split_by not in ("device", "time"):
            raise ValueError(f"split_by is 'device' or 'time', not {split_by!r}")
        if splits < 1:
            raise ValueError(f"splits must be at least 1, not {splits}")
        self.options = options
        self.convert = convert if convert is not None else (lambda row: row)
        self.split_by = split_by
        self.splits = splits

    # ---------------------------------------------------------------- planning
    def plan(self) -> list[str]:
        """The split queries: together they return each of the query's rows once."""
        session = _open(self.options)
        try:
            if self.split_by == "device":
                return self._device_splits(session)
            return self._time_splits(session)
        finally:
            session.close()

    def _device_splits(self, session: Any) -> list[str]:
        sql = self.options.sql
        frm = _FROM.search(sql)
        if frm is None:
            raise ValueError(f"a source query reads FROM some path: {sql!r}")
        devices: set[str] = set()
        for path in (p.strip() for p in frm.group("paths").split(",")):
            for row in _rows(session, f"show devices {path}"):
                devices.add(row.get_fields()[0].get_string_value())
        return [with_from(sql, device) for device in sorted(devices)]

    def _time_splits(self, session: Any) -> list[str]:
        sql = self.options.sql
        frm = _FROM.search(sql)
        if frm is None:
            raise ValueError(f"a source query reads FROM some path: {sql!r}")
        bounds = []
        for path in (p.strip() for p in frm.group("paths").split(",")):
            for row in _rows(session, f"select min_time(*), max_time(*) from {path}"):
                for f in row.get_fields():
                    if f is not None and f.get_object_value(f.get_data_type()) is not None:
                        bounds.append(int(f.get_long_value()))
        if not bounds or self.splits == 1:
            return [sql]
        lo, hi = min(bounds), max(bounds) + 1
        cuts = sorted({lo + (hi - lo) * i // self.splits for i in range(1, self.splits)})
        edges: list[int | None] = [None, *cuts, None]
        return [add_time_range(sql, a, b) for a, b in itertools.pairwise(edges)]

    # ---------------------------------------------------------------- the job
    def attach(
        self,
        env: Any,
        parallelism: int | None = None,
        output_type: Any = None,
        name: str = "iotdb-source",
    ) -> Any:
        """A ``DataStream`` of ``convert(row)`` for each row of the query."""
        from pyflink.common import Types

        options, convert = self.options, self.convert
        queries = self.plan()

        def read(split: str) -> Iterator[Any]:
            session = _open(options)
            try:
                for row in _rows(session, split):
                    yield convert(row)
            finally:
                session.close()

        splits = env.from_collection(queries, type_info=Types.STRING()).name(f"{name}-splits")
        stream = (
            splits.rebalance()
            .flat_map(read, output_type=output_type or Types.PICKLED_BYTE_ARRAY())
            .name(name)
        )
        if parallelism is not None:
            stream = stream.set_parallelism(parallelism)
        return stream
