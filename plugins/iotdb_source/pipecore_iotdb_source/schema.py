"""Schema extraction (``source.inclusion`` with ``schema.database`` /
``schema.timeseries.ordinary`` / ``schema.timeseries.template`` / ``schema.ttl``): which schema
records of the store a pipe hands on (``set_ttl``: the kernel's `pipecore.ttl` records, when the
TTL's path may reach into the pattern).

History is the store's schema when the pipe starts (`Store.schema_records`, or the node's
`SchemaTemplates.schema_snapshot` which adds the templates, where they are set and the devices
using them), handed on before the first history file; realtime is every `StoreSchemaChange` as
the store publishes it — under its write lock, before the insert that auto-created the series
— so it travels in order with the data. Records outside the pipe's pattern are left out: a
series or a device using a template when the pattern does not match it, a database or a
template's set path when the pattern cannot reach into it. A template's definition
(``create_template``, ``extend_template``, ``prune_template``, ``drop_template``) has no path
and always goes. The series records a template makes or removes (marked ``"template"``) never
go: the template's own record (activation, extension, deactivation) makes them on the receiver.

Users, roles and privileges (``auth``, `pipecore.auth_records`) go when their inclusion leaf
(``auth.user.create`` …) is selected; a grant or revoke of path privileges keeps the paths
the pattern may reach (IoTDB trims an author plan's paths to the pattern) and is left out
when none is left and it has no global privilege.
"""

from __future__ import annotations

from collections.abc import Iterable

from pipecore import AUTH_OPS, auth_part
from pipecore_storage.paths import join_path, split_path

from .options import SourceOptions
from .patterns import SeriesPattern, UnionPattern

__all__ = ["schema_records"]

_DATABASE_OPS = ("create_database", "delete_database")
_SERIES_OPS = ("create_series", "delete_series", "series_meta")
_DEFINITION_OPS = ("create_template", "extend_template", "prune_template", "drop_template")
_SET_OPS = ("set_template", "unset_template")
_USE_OPS = ("activate_template", "deactivate_template")


def schema_records(records: Iterable[dict], options: SourceOptions) -> tuple[dict, ...]:
    """The records of `records` the options select, in their order."""
    out = []
    for record in records:
        op = record.get("op")
        if op in AUTH_OPS:
            if auth_part(record) in options.include_auth:
                trimmed = _auth_record(record, options.pattern)
                if trimmed is not None:
                    out.append(trimmed)
        elif op in _DATABASE_OPS:
            if options.include_database and _reaches(options.pattern, record["name"]):
                out.append(record)
        elif op in _SERIES_OPS:
            if (
                options.include_timeseries
                and "template" not in record
                and options.pattern.matches(record["device"], record["measurement"])
            ):
                out.append(record)
        elif op == "set_ttl":
            if options.include_ttl and _reaches(options.pattern, _ttl_prefix(record["path"])):
                out.append(record)
        elif not options.include_template:
            continue
        elif op in _DEFINITION_OPS:
            out.append(record)
        elif op in _SET_OPS:
            if _reaches(options.pattern, record["path"]):
                out.append(record)
        elif op in _USE_OPS and options.pattern.may_match_device(record["device"]):
            out.append(record)
    return tuple(out)


_PATH_PRIVILEGES = frozenset(("READ_DATA", "WRITE_DATA", "READ_SCHEMA", "WRITE_SCHEMA"))


def _auth_record(record: dict, pattern: SeriesPattern) -> dict | None:
    """`record` with the paths of a grant/revoke the pattern may reach; None when nothing of
    it is left (a password change's ``grants``, `pipecore.auth_records`, trimmed alike)."""
    if record["op"] == "alter_user" and record.get("grants") and not pattern.is_root:
        grants = [_auth_record(g, pattern) for g in record["grants"]]
        return {**record, "grants": [g for g in grants if g is not None]}
    if record["op"] not in ("grant", "revoke") or pattern.is_root or not record["paths"]:
        return record
    paths = [p for p in record["paths"] if _reaches(pattern, _fixed_prefix(p))]
    if paths == list(record["paths"]):
        return record
    privileges = record["privileges"]
    if not paths:
        privileges = [p for p in privileges if p not in _PATH_PRIVILEGES]
        if not privileges:
            return None
    return {**record, "paths": paths, "privileges": privileges}


def _fixed_prefix(path: str) -> str:
    """The nodes of a path pattern before its first wildcard (``root.ln.**`` -> root.ln)."""
    try:
        nodes = split_path(path, allow_wildcards=True)
    except ValueError:
        return "root"
    fixed = []
    for node in nodes:
        if "*" in node:
            break
        fixed.append(node)
    return join_path(fixed) if fixed else "root"


def _ttl_prefix(path: str) -> str:
    """The part of a TTL's path pattern before its first wildcard (``root.db.**`` ->
    ``root.db``)."""
    nodes = split_path(path, allow_wildcards=True)
    cut = next((i for i, n in enumerate(nodes) if "*" in n), len(nodes))
    return ".".join(nodes[:cut]) or "root"


def _reaches(pattern: SeriesPattern, database: str) -> bool:
    """Whether some series of `database` may match `pattern` (IoTDB's mayOverlapWithDb)."""
    narrowed = getattr(pattern, "reaches", None)  # a `PrivilegedPattern`: the user's part
    if narrowed is not None:
        return bool(narrowed(database))
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
