"""Schema extraction (``source.inclusion`` with ``schema.database`` /
``schema.timeseries.ordinary``): which schema-log records of the store a pipe hands on.

History is the store's schema when the pipe starts (`Store.schema_records`), handed on before
the first history file; realtime is every `StoreSchemaChange` as the store publishes it — under
its write lock, before the insert that auto-created the series — so it travels in order with
the data. Records outside the pipe's pattern are left out: a series when the pattern does not
match it, a database when the pattern cannot reach into it.
"""

from __future__ import annotations

from collections.abc import Iterable

from pipecore_storage.paths import split_path

from .options import SourceOptions
from .patterns import SeriesPattern, UnionPattern

__all__ = ["schema_records"]

_DATABASE_OPS = ("create_database", "delete_database")
_SERIES_OPS = ("create_series", "delete_series", "series_meta")


def schema_records(records: Iterable[dict], options: SourceOptions) -> tuple[dict, ...]:
    """The records of `records` the options select, in their order."""
    out = []
    for record in records:
        op = record.get("op")
        if op in _DATABASE_OPS:
            if options.include_database and _reaches(options.pattern, record["name"]):
                out.append(record)
        elif (
            op in _SERIES_OPS
            and options.include_timeseries
            and options.pattern.matches(record["device"], record["measurement"])
        ):
            out.append(record)
    return tuple(out)


def _reaches(pattern: SeriesPattern, database: str) -> bool:
    """Whether some series of `database` may match `pattern` (IoTDB's mayOverlapWithDb)."""
    if pattern.is_root:
        return True
    if isinstance(pattern, UnionPattern):
        return any(_reaches(part, database) for part in pattern.parts)
    if pattern.may_match_device(database):
        return True
    db = split_path(database)
    try:
        nodes = split_path(pattern.text.replace("`", ""), allow_wildcards=True)
    except ValueError:
        return True
    for mine, theirs in zip(nodes, db, strict=False):
        if "*" in mine:
            return True
        if mine != theirs and not (len(nodes) <= len(db) and theirs.startswith(mine)):
            return False
    return True
