"""The parameters of ``iotdb-source`` (reference §10.1), parsed once into `SourceOptions`.

Every key is looked up as ``extractor.<key>`` or ``source.<key>`` (a bare ``<key>`` satisfies
both, per the core's lookup rules). A bad value is a `PipeParameterNotValidError` naming the
key as the user wrote it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import attrs

from pipecore import (
    AUTH_PARTS,
    PipeParameterNotValidError,
    PipeParameters,
    parse_time_value,
    reduce_key,
)

from .patterns import SeriesPattern, given_parameter, parse_source_pattern

__all__ = ["MAX_TIME", "MIN_TIME", "SourceOptions", "parse_options"]

log = logging.getLogger(__name__)

MIN_TIME = -(2**63)
MAX_TIME = 2**63 - 1

#: realtime.mode as given → what this source does (IoTDB maps stream/log to its hybrid source;
#: here ``stream`` is tablets only, as the seed describes it, and ``forced-log`` is the same).
REALTIME_MODES = {
    "hybrid": "hybrid",
    "log": "hybrid",
    "stream": "stream",
    "forced-log": "stream",
    "batch": "batch",
    "file": "batch",
}
_LOOSE_VALUES = {"time": ("time",), "path": ("path",), "all": ("time", "path"), "": ()}
_SNAPSHOT_MODES = ("query", "snapshot")
_EXTRACTION_MODES = ("live", "subscribe", *_SNAPSHOT_MODES)

# The inclusion tree (IoTDB's DataRegionListeningFilter / ConfigRegionListeningFilter): the
# leaves pipecore extracts; a token is accepted when it covers at least one of them.
_DATA_PARTS = ("data.insert", "data.delete")
_SCHEMA_PARTS = (
    "schema.database",
    "schema.timeseries.ordinary",
    "schema.timeseries.template",
    "schema.ttl",
)
_OTHER_ROOTS = ("schema", "auth")
# IoTDB's parts pipecore has no counterpart for: refused when named, skipped under all/schema
_UNSUPPORTED = {
    "schema.timeseries.view": "pipecore has no views",
}
# IoTDB 2.0's table-model grants (auth.*.grant.table …): pipecore has no table model
_TABLE_SUFFIX = ".table"
_TIME_HINT = "a long, a datetime such as 2023.08.23T08:00:00+00:00, or now"


def _keys(key: str) -> list[str]:
    return [f"extractor.{key}", f"source.{key}"]


@attrs.frozen
class SourceOptions:
    """What the parameters ask for.

    * `pattern` — which series (a prefix ``pattern`` or an IoTDB ``path`` pattern).
    * `history_enabled`, `history_start`, `history_end` — sealed data from before the pipe;
    * `realtime_enabled`, `realtime_mode` (``stream`` | ``batch`` | ``hybrid``),
      `realtime_start`, `realtime_end` — data written while the pipe runs;
    * `forwarding` — forwarding-pipe-requests;
    * `history_loose` / `realtime_loose` — subsets of {"time", "path"} not honoured exactly
      for files (no splitting for them);
    * `include_insert`, `include_delete`, `mods_enabled`;
    * `include_database`, `include_timeseries`, `include_template` — schema changes
      (history: a snapshot when the pipe starts; realtime: each change as it happens).
    """

    pattern: SeriesPattern
    history_enabled: bool = True
    history_start: int = MIN_TIME
    history_end: int = MAX_TIME
    realtime_enabled: bool = True
    realtime_mode: str = "hybrid"
    realtime_start: int = MIN_TIME
    realtime_end: int = MAX_TIME
    forwarding: bool = True
    history_loose: frozenset[str] = frozenset()
    realtime_loose: frozenset[str] = frozenset()
    include_insert: bool = True
    include_delete: bool = False
    mods_enabled: bool = False
    snapshot: bool = False  # mode=query/snapshot: history only, the pipe drops itself after
    include_database: bool = False  # schema.database
    include_timeseries: bool = False  # schema.timeseries.ordinary
    include_template: bool = False  # schema.timeseries.template
    include_auth: frozenset[str] = frozenset()  # the auth.* leaves (`pipecore.AUTH_PARTS`)
    include_ttl: bool = False  # schema.ttl

    @property
    def include_schema(self) -> bool:
        """Whether schema records travel (users, roles and privileges among them)."""
        return (
            self.include_database
            or self.include_timeseries
            or self.include_template
            or bool(self.include_auth)
            or self.include_ttl
        )


# ---------------------------------------------------------------------- helpers
def given_key(parameters: PipeParameters, keys: Sequence[str]) -> str | None:
    """The key as the user wrote it, for the first of `keys` (``extractor.x`` / ``source.x``
    lookups) that is present."""
    for key in keys:
        found = given_parameter(parameters, reduce_key(key))
        if found is not None:
            return found[0]
    return None


def _string(parameters: PipeParameters, key: str) -> tuple[str, str] | None:
    return given_parameter(parameters, key)


def _bool(parameters: PipeParameters, key: str, default: bool) -> bool:
    found = _string(parameters, key)
    if found is None:
        return default
    name, text = found
    value = text.strip().lower()
    if value not in ("true", "false"):
        raise PipeParameterNotValidError(
            f"Invalid value {text!r} of parameter {name}: expected true or false",
            key=name,
            expected="a boolean (true or false)",
        )
    return value == "true"


def _time(parameters: PipeParameters, key: str, default: int) -> int:
    found = _string(parameters, key)
    if found is None:
        return default
    name, text = found
    try:
        return parse_time_value(text)
    except ValueError as exc:
        raise PipeParameterNotValidError(
            f"Invalid value {text!r} of parameter {name}: {exc}", key=name, expected=_TIME_HINT
        ) from None


def _loose(parameters: PipeParameters, key: str) -> frozenset[str]:
    found = _string(parameters, key)
    if found is None:
        return frozenset()
    name, text = found
    parts: set[str] = set()
    for token in (t.strip().lower() for t in text.split(",")):
        if token not in _LOOSE_VALUES:
            raise PipeParameterNotValidError(
                f"Invalid value {text!r} of parameter {name}: {token!r} is not one of "
                "time, path, all",
                key=name,
                expected="time, path, 'time,path', all or empty",
            )
        parts.update(_LOOSE_VALUES[token])
    return frozenset(parts)


def _range(parameters: PipeParameters, start_key: str, end_key: str) -> tuple[int, int]:
    start = _time(parameters, start_key, MIN_TIME)
    end = _time(parameters, end_key, MAX_TIME)
    if start > end:
        name = given_key(parameters, _keys(start_key)) or start_key
        raise PipeParameterNotValidError(
            f"{name} ({start}) must not be greater than "
            f"{given_key(parameters, _keys(end_key)) or end_key} ({end})",
            key=name,
            expected=f"a time <= {end_key}",
        )
    return start, end


# ---------------------------------------------------------------------- inclusion
@attrs.frozen
class Inclusion:
    """What ``inclusion`` minus ``inclusion.exclusion`` selects of what pipecore extracts."""

    insert: bool
    delete: bool
    database: bool  # schema.database: CREATE/DELETE DATABASE
    timeseries: bool  # schema.timeseries.ordinary: CREATE/DELETE/ALTER TIMESERIES
    template: bool = False  # schema.timeseries.template: templates, where set, their use
    ttl: bool = False  # schema.ttl: SET / UNSET TTL (pipecore/ttl.py)
    auth: frozenset[str] = frozenset()  # auth.role.create … auth.user.revoke

    @property
    def schema(self) -> bool:
        return self.database or self.timeseries or self.template or self.ttl or bool(self.auth)


def _unsupported(token: str) -> str | None:
    if token.startswith("auth.") and token.endswith(_TABLE_SUFFIX):
        return "pipecore has no table model"
    for part, why in _UNSUPPORTED.items():
        if token == part or token.startswith(part + "."):
            return why
    return None


def _inclusion_tokens(
    parameters: PipeParameters, key: str, default: str, strict: bool
) -> tuple[str, set[str]]:
    found = _string(parameters, key)
    name, text = found if found is not None else (key, default)
    tokens = {t.strip().lower() for t in text.split(",") if t.strip()}
    for token in tokens:
        known = token in ("all", "data", *_DATA_PARTS, *_OTHER_ROOTS) or any(
            token.startswith(root + ".") for root in _OTHER_ROOTS
        )
        if not known:
            raise PipeParameterNotValidError(
                f"Invalid value {text!r} of parameter {name}: unknown inclusion {token!r}",
                key=name,
                expected="all, data, data.insert, data.delete, schema, schema.database, "
                "schema.timeseries, schema.timeseries.ordinary, schema.timeseries.template, "
                "auth, auth.user, auth.role, auth.<user|role>.<create|drop|alter|grant|revoke>",
            )
        why = _unsupported(token) if strict else None
        covered = any(_covers({token}, part) for part in _DATA_PARTS + _SCHEMA_PARTS + AUTH_PARTS)
        if why is not None or (strict and not covered and token not in ("all", "data")):
            raise PipeParameterNotValidError(
                f"Invalid value {text!r} of parameter {name}: inclusion {token!r} is not "
                f"supported by pipecore ({why or 'no counterpart in pipecore'})",
                key=name,
                expected="all, data, data.insert, data.delete, schema, schema.database, "
                "schema.timeseries, schema.timeseries.ordinary, schema.timeseries.template, "
                "auth, auth.user, auth.role, auth.<user|role>.<create|drop|alter|grant|revoke>",
            )
    return name, tokens


def _covers(tokens: set[str], part: str) -> bool:
    return any(
        t == "all" or part == t or part.startswith(t + ".") or t.startswith(part + ".")
        for t in tokens
    )


def _inclusion(parameters: PipeParameters) -> Inclusion:
    """The parts selected by inclusion minus inclusion.exclusion. ``all``, ``schema`` and
    ``schema.timeseries`` skip (with a warning) what pipecore has no counterpart for."""
    name, included = _inclusion_tokens(parameters, "inclusion", "data.insert", strict=True)
    _, excluded = _inclusion_tokens(parameters, "inclusion.exclusion", "", strict=False)
    insert, delete, database, timeseries, template, ttl = (
        _covers(included, part) and not _covers(excluded, part)
        for part in _DATA_PARTS + _SCHEMA_PARTS
    )
    skipped = [
        part
        for part in _UNSUPPORTED
        if any(t == "all" or part.startswith(t + ".") for t in included)
        and not _covers(excluded, part)
    ]
    if skipped:
        log.warning(
            "iotdb-source: %s=%s: %s not extracted (no counterpart in pipecore)",
            name,
            parameters.get(name, ""),
            ", ".join(skipped),
        )
    auth = frozenset(
        part for part in AUTH_PARTS if _covers(included, part) and not _covers(excluded, part)
    )
    selected = Inclusion(insert, delete, database, timeseries, template, ttl=ttl, auth=auth)
    if not (insert or delete or selected.schema):
        raise PipeParameterNotValidError(
            f"{name}={parameters.get(name, '')!r} minus the exclusion selects nothing "
            "iotdb-source extracts (data.insert, data.delete, schema.database, "
            "schema.timeseries.ordinary, schema.timeseries.template, auth)",
            key=name,
            expected="an inclusion covering data, schema or auth",
        )
    return selected


# ---------------------------------------------------------------------- the whole
def _realtime_mode(parameters: PipeParameters) -> str:
    found = _string(parameters, "realtime.mode")
    if found is None:
        return "hybrid"
    name, text = found
    mode = REALTIME_MODES.get(text.strip().lower())
    if mode is None:
        raise PipeParameterNotValidError(
            f"Invalid value {text} of {name}. The value should be one of {list(REALTIME_MODES)}",
            key=name,
            expected=f"one of {list(REALTIME_MODES)}",
        )
    return mode


def _extraction_mode(parameters: PipeParameters) -> str:
    found = _string(parameters, "mode")
    if found is None:
        return "live"
    name, text = found
    mode = text.strip().lower()
    if mode not in _EXTRACTION_MODES:
        log.warning("iotdb-source: unknown %s=%r, extracting live", name, text)
        return "live"
    return mode


def parse_options(parameters: PipeParameters) -> SourceOptions:
    """Validate and interpret the source parameters (raises PipeParameterNotValidError)."""
    pattern = parse_source_pattern(parameters)
    history = _bool(parameters, "history.enable", True)
    realtime = _bool(parameters, "realtime.enable", True)
    if not history and not realtime:
        raise PipeParameterNotValidError(
            "Should not set both history.enable and realtime.enable to false.",
            key=given_key(parameters, _keys("history.enable")),
            expected="history.enable or realtime.enable true",
        )
    mode = _realtime_mode(parameters)
    inclusion = _inclusion(parameters)
    insert, delete = inclusion.insert, inclusion.delete
    if delete and not pattern.allows_deletions:
        raise PipeParameterNotValidError(
            f"The path pattern {pattern.text} is not valid for the source. Only prefix or full "
            "path is allowed.",
            key=pattern.key,
            expected="a path like root.sg.** or root.sg.d1.s1 when data.delete is included",
        )
    history_start, history_end = _range(parameters, "history.start-time", "history.end-time")
    start, end = _range(parameters, "start-time", "end-time")
    if given_key(parameters, _keys("start-time") + _keys("end-time")) is not None:
        if given_key(parameters, _keys("history.start-time") + _keys("history.end-time")):
            log.warning(
                "iotdb-source: start-time/end-time given: history.start-time and "
                "history.end-time are ignored"
            )
        history_start, history_end = start, end
        history = True  # IoTDB 1.3.1+: either key turns history extraction on
    snapshot = _extraction_mode(parameters) in _SNAPSHOT_MODES
    if snapshot:
        realtime = False
    return SourceOptions(
        pattern=pattern,
        history_enabled=history,
        history_start=history_start,
        history_end=history_end,
        realtime_enabled=realtime,
        realtime_mode=mode,
        realtime_start=start,
        realtime_end=end,
        forwarding=_bool(parameters, "forwarding-pipe-requests", True),
        history_loose=_loose(parameters, "history.loose-range"),
        realtime_loose=_loose(parameters, "realtime.loose-range"),
        include_insert=insert,
        include_delete=delete,
        mods_enabled=_bool(parameters, "mods.enable", False) or delete,
        snapshot=snapshot,
        include_database=inclusion.database,
        include_timeseries=inclusion.timeseries,
        include_template=inclusion.template,
        include_auth=inclusion.auth,
        include_ttl=inclusion.ttl,
    )
