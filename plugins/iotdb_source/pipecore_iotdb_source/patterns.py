"""Which series a pipe takes: the legacy prefix ``pattern`` and the IoTDB ``path`` pattern.

* ``pattern`` (``PrefixPattern``): a **string prefix** of the full series path, as IoTDB 1.x
  matches it: ``root.sg.d`` takes ``root.sg.d1.s1`` and ``root.sg.d.s1``.
* ``path`` (``IoTDBPattern``): an IoTDB path pattern — ``*`` one node, ``**`` one or more,
  ``d*`` within a node.

Either may list several patterns separated by commas (``root.sg.d1.s1,root.sg.d2.**``, IoTDB
2.0's union pattern): a series is taken when any of them takes it (`UnionPattern`).

When both are given, ``path`` wins (IoTDB 1.3's rule) and a warning is logged;
``pattern.format=iotdb`` reads ``pattern`` as a path pattern. Both implement the
`PathPattern` protocol of `pipecore.events` (``covers_device``, ``may_match_device``,
``matches``), so `TsFileInsertionEvent.to_tablet_insertion_events` filters with them.
"""

from __future__ import annotations

import logging
from functools import lru_cache

import numpy as np

from pipecore import PipeParameterNotValidError, PipeParameters
from pipecore_storage.errors import SchemaError
from pipecore_storage.paths import (
    PathPattern,
    iotdb_path,
    join_path,
    parse_pattern,
    split_path,
)
from pipecore_storage.tablet import Tablet

__all__ = [
    "IoTDBPattern",
    "PrefixPattern",
    "SeriesPattern",
    "UnionPattern",
    "filter_tablet",
    "parse_source_pattern",
]

log = logging.getLogger(__name__)

_OTHER = "\x01"  # a measurement name no literal or partial-wildcard node matches


@lru_cache(maxsize=65536)
def _nodes(device: str) -> tuple[str, ...]:
    return tuple(split_path(device))


class SeriesPattern:
    """Base of the two kinds. `text` as given, `key` the parameter that gave it (None for the
    default ``root.**``)."""

    text: str
    key: str | None
    is_root: bool  # takes every series
    allows_deletions: bool  # data.delete may be combined with it (prefix or full path)

    def covers_device(self, device: str) -> bool:
        raise NotImplementedError

    def may_match_device(self, device: str) -> bool:
        raise NotImplementedError

    def matches(self, device: str, measurement: str) -> bool:
        raise NotImplementedError

    def contains_pattern(self, pattern: str) -> bool:
        """Whether every series a deletion pattern names is taken by this pattern."""
        return self.is_root

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.text!r})"


class PrefixPattern(SeriesPattern):
    """IoTDB's legacy prefix pattern: a string prefix of the series path **as IoTDB writes
    it** (a node that is no plain identifier back-quoted: ``root.sg.`1(TS)`.s``, ``root.sg.`6```).
    So ``root.sg.1`` takes ``root.sg.1TS`` and ``root.sg.100TS`` but not ``root.sg.`1(TS)```,
    and a back-quoted last node is a whole node (``root.sg.`1``` takes none of them).
    Needless back-quotes (``root.sg.`d1```) are read as IoTDB would print the node. `text` is
    the prefix in the store's path form (for store queries, which the pattern then filters)."""

    def __init__(self, text: str, key: str | None = None) -> None:
        self.text, self.key = _store_form(text), key
        self.iotdb_text = _iotdb_form(text)
        self.is_root = text in ("root", "root.")
        self.allows_deletions = self.is_root

    def covers_device(self, device: str) -> bool:
        return iotdb_path(device).startswith(self.iotdb_text)

    def may_match_device(self, device: str) -> bool:
        shown = iotdb_path(device)
        return shown.startswith(self.iotdb_text) or self.iotdb_text.startswith(shown)

    def matches(self, device: str, measurement: str) -> bool:
        shown = iotdb_path(device)
        return shown.startswith(self.iotdb_text) or (
            f"{shown}.{_iotdb_node(measurement)}".startswith(self.iotdb_text)
        )


def _iotdb_node(node: str) -> str:
    return iotdb_path(f"root.{node}")[5:] if "." not in node else node


def _iotdb_form(text: str) -> str:
    """A prefix as IoTDB compares it: whole nodes as IoTDB prints them; an unquoted last node
    kept as written (it may be part of a node), a back-quoted one printed as a whole node."""
    try:
        nodes = split_path(text[:-1] if text.endswith(".") else text)
    except SchemaError:
        return text
    shown = iotdb_path(join_path(nodes))
    if text.endswith(".") or text.endswith("`"):
        return shown + ("." if text.endswith(".") else "")
    head, _, _ = shown.rpartition(".")
    return f"{head}.{nodes[-1]}" if head else text


def _store_form(text: str) -> str:
    """A prefix written with IoTDB's back-quotes, in the store's path text (which quotes only
    nodes holding ``.``, `` ` `` or ``*``); as written when it is not whole nodes."""
    if "`" not in text:
        return text
    try:
        return join_path(split_path(text))
    except SchemaError:
        return text


class IoTDBPattern(SeriesPattern):
    """An IoTDB path pattern (``root.sg.**``, ``root.*.d1.s1``, ``root.sg.d*.*``)."""

    def __init__(self, text: str, key: str | None = None) -> None:
        self.text, self.key = text, key
        self.compiled: PathPattern = parse_pattern(text)
        nodes = self.compiled.nodes
        self.is_root = nodes == ("root", "**")
        wild = [i for i, n in enumerate(nodes) if "*" in n]
        self._prefix = len(nodes) - 1 if wild == [len(nodes) - 1] and nodes[-1] == "**" else None
        self._full = not wild
        self.allows_deletions = self._prefix is not None or self._full

    def covers_device(self, device: str) -> bool:
        return self.compiled.matches((*_nodes(device), _OTHER))

    def may_match_device(self, device: str) -> bool:
        return self.compiled.may_match_device(_nodes(device))

    def matches(self, device: str, measurement: str) -> bool:
        return self.compiled.matches((*_nodes(device), measurement))

    def contains_pattern(self, pattern: str) -> bool:
        if self.is_root:
            return True
        other = parse_pattern(pattern).nodes
        mine = self.compiled.nodes
        if self._full:
            return other == mine
        if self._prefix is None:
            return False
        head = other[: self._prefix]
        return (
            len(other) > self._prefix and head == mine[: self._prefix] and "*" not in "".join(head)
        )


class UnionPattern(SeriesPattern):
    """Several patterns of one kind (``path`` or ``pattern`` holding a comma list): a series
    is taken when one of `parts` takes it."""

    def __init__(self, parts: list[SeriesPattern], text: str, key: str | None = None) -> None:
        self.parts, self.text, self.key = tuple(parts), text, key
        self.is_root = any(p.is_root for p in parts)
        self.allows_deletions = all(p.allows_deletions for p in parts)

    def covers_device(self, device: str) -> bool:
        return any(p.covers_device(device) for p in self.parts)

    def may_match_device(self, device: str) -> bool:
        return any(p.may_match_device(device) for p in self.parts)

    def matches(self, device: str, measurement: str) -> bool:
        return any(p.matches(device, measurement) for p in self.parts)

    def contains_pattern(self, pattern: str) -> bool:
        return any(p.contains_pattern(pattern) for p in self.parts)


def _split_list(text: str) -> list[str]:
    """The comma-separated items of `text` (commas inside back-quotes belong to a node)."""
    items: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == "`":
            quoted = not quoted
        if char == "," and not quoted:
            items.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    items.append("".join(current).strip())
    return [item for item in items if item]


def _each(text: str, key: str, parse) -> SeriesPattern:
    items = _split_list(text)
    if len(items) <= 1:
        return parse(items[0] if items else text, key)
    return UnionPattern([parse(item, key) for item in items], text, key)


DEFAULT_PATTERN = IoTDBPattern("root.**")


def given_parameter(parameters: PipeParameters, key: str) -> tuple[str, str] | None:
    """(the key as written, its value) for ``extractor.<key>``, ``source.<key>`` or ``<key>``
    — the spellings the core's lookup rules accept — or None."""
    for name in (f"extractor.{key}", f"source.{key}", key):
        if name in parameters:
            return name, parameters[name]
    return None


def _illegal(text: str, key: str, why: str) -> PipeParameterNotValidError:
    return PipeParameterNotValidError(
        f'Pattern "{text}" is illegal. ({key}: {why})', key=key, expected="a path under root"
    )


def _prefix_pattern(text: str, key: str) -> PrefixPattern:
    """A legal prefix starts with root; all its nodes but a partial last one form a path."""
    if not text.startswith("root"):
        raise _illegal(text, key, "a pattern starts with root")
    body = text[:-1] if text.endswith(".") else text
    try:
        split_path(body)
    except SchemaError as exc:
        raise _illegal(text, key, str(exc)) from None
    return PrefixPattern(text, key)


def _iotdb_pattern(text: str, key: str) -> IoTDBPattern:
    try:
        return IoTDBPattern(text.strip(), key)
    except SchemaError as exc:
        raise _illegal(text, key, str(exc)) from None


def parse_source_pattern(parameters: PipeParameters) -> SeriesPattern:
    """The pattern the source parameters give (``root.**`` when none)."""
    path = given_parameter(parameters, "path")
    pattern = given_parameter(parameters, "pattern")
    if path is not None:
        if pattern is not None:
            log.warning("iotdb-source: %s and %s given; %s is used", path[0], pattern[0], path[0])
        return _each(path[1], path[0], _iotdb_pattern)
    if pattern is None:
        return DEFAULT_PATTERN
    fmt = given_parameter(parameters, "pattern.format")
    if fmt is not None and fmt[1].strip().lower() not in ("prefix", "iotdb"):
        raise PipeParameterNotValidError(
            f"Invalid value {fmt[1]} of {fmt[0]}. The value should be one of ['prefix', 'iotdb']",
            key=fmt[0],
            expected="prefix or iotdb",
        )
    if fmt is not None and fmt[1].strip().lower() == "iotdb":
        return _each(pattern[1], pattern[0], _iotdb_pattern)
    return _each(pattern[1], pattern[0], _prefix_pattern)


# ---------------------------------------------------------------------- tablets
def filter_tablet(
    tablet: Tablet,
    pattern: SeriesPattern,
    start: int,
    end: int,
    loose: frozenset[str] = frozenset(),
) -> Tablet | None:
    """The part of `tablet` inside the pattern and ``[start, end]``; None when nothing is.

    With "path" in `loose`, a device that may match is kept whole; with "time", a tablet that
    overlaps the range is kept whole. Rows left without any value are dropped.
    """
    if tablet.row_count == 0 or (pattern.is_root and start == -(2**63) and end == 2**63 - 1):
        return tablet if tablet.row_count else None
    device = tablet.device
    if not pattern.covers_device(device):
        if not pattern.may_match_device(device):
            return None
        if "path" not in loose:
            keep = [m for m in tablet.measurements if pattern.matches(device, m)]
            if not keep:
                return None
            if len(keep) < len(tablet.schemas):
                tablet = _drop_empty_rows(tablet.select(keep))
    times = tablet.timestamps
    lo, hi = int(times.min()), int(times.max())
    if hi < start or lo > end:
        return None
    if (lo < start or hi > end) and "time" not in loose:
        tablet = tablet.take((times >= start) & (times <= end))
    return tablet if tablet.row_count else None


def _drop_empty_rows(tablet: Tablet) -> Tablet:
    masks = tablet.null_masks
    if any(m is None for m in masks):
        return tablet
    empty = np.logical_and.reduce([m for m in masks if m is not None])
    return tablet.take(~empty) if empty.any() else tablet
