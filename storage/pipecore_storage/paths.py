"""IoTDB tree paths (``root.sg.d1.s1``) and path patterns (``root.sg.**``, ``root.*.d?``).

A path is a dot-separated list of nodes starting with ``root``. A node that contains a dot, a
backquote, a wildcard or white space is written between backquotes (a backquote inside is
doubled), as IoTDB does: ``root.sg.`a.b```.

Patterns follow IoTDB's rules:

* ``*`` matches exactly one node; ``**`` matches one or more nodes;
* a node may contain ``*`` inside (``d*``, ``s*1``), matching any characters within one node;
* anything else matches literally.

``root.sg.**`` therefore matches every series below ``root.sg`` but not ``root.sg`` itself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from .errors import SchemaError

__all__ = [
    "PathPattern",
    "canonical_device",
    "join_path",
    "parse_pattern",
    "split_path",
    "validate_device",
    "validate_measurement",
]


def split_path(path: str, *, allow_wildcards: bool = False) -> list[str]:
    """The nodes of `path`; raises SchemaError (naming the path) when it is not a tree path."""
    if not isinstance(path, str) or not path:
        raise SchemaError(f"illegal path {path!r}: empty", str(path))
    if not _is_utf8(path):
        raise SchemaError(f"illegal path {path!r}: not valid UTF-8", path)
    if "\x00" in path:
        raise SchemaError(f"illegal path {path!r}: contains a NUL character", path)
    nodes: list[str] = []
    i, n = 0, len(path)
    while i <= n:
        if i < n and path[i] == "`":
            node, i = _quoted_node(path, i)
        else:
            j = path.find(".", i)
            j = n if j < 0 else j
            node = path[i:j].strip()
            if "`" in node:
                raise SchemaError(f"illegal path {path}: stray backquote in {node!r}", path)
            if not node:
                raise SchemaError(f"illegal path {path}: empty node", path)
            if not allow_wildcards and "*" in node:
                raise SchemaError(f"illegal path {path}: wildcard not allowed here", path)
            i = j
        nodes.append(node)
        if i < n and path[i] != ".":
            raise SchemaError(f"illegal path {path}: expected '.' at position {i}", path)
        i += 1
    if nodes[0] != "root":
        raise SchemaError(f"illegal path {path}: a path starts with root", path)
    return nodes


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: bytes that were not UTF-8
        return False
    return True


def _quoted_node(path: str, i: int) -> tuple[str, int]:
    out: list[str] = []
    j = i + 1
    while j < len(path):
        if path[j] == "`":
            if j + 1 < len(path) and path[j + 1] == "`":
                out.append("`")
                j += 2
                continue
            if not out:
                raise SchemaError(f"illegal path {path}: empty quoted node", path)
            return "".join(out), j + 1
        out.append(path[j])
        j += 1
    raise SchemaError(f"illegal path {path}: unterminated backquote", path)


def _quote(node: str) -> str:
    if node and not any(c in node for c in ".`*") and node == node.strip():
        return node
    return "`" + node.replace("`", "``") + "`"


def join_path(nodes: Sequence[str]) -> str:
    """The canonical text of a path (nodes backquoted where needed)."""
    return ".".join(_quote(n) for n in nodes)


def join_pattern(nodes: Sequence[str]) -> str:
    """The text of a path pattern (from `split_path(..., allow_wildcards=True)`): nodes
    backquoted where needed, wildcard nodes (with ``*``) left as they are."""
    return ".".join(n if "*" in n else _quote(n) for n in nodes)


_IOTDB_NAME = re.compile(r"[0-9A-Za-z_\u2E80-\u9FFF]+")
_REAL_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")


def _iotdb_quote(node: str) -> str:
    """A node as IoTDB writes it: back-quoted unless it is an unquoted identifier (letters,
    digits, ``_`` and CJK characters, and not a number)."""
    if _IOTDB_NAME.fullmatch(node) and not _REAL_NUMBER.fullmatch(node):
        return node
    return "`" + node.replace("`", "``") + "`"


def iotdb_node(node: str) -> str:
    """One node as IoTDB writes it (and keys it in its schema tree): back-quoted unless a plain
    identifier, as `iotdb_path` writes each node."""
    return _iotdb_quote(node)


@lru_cache(maxsize=65536)
def iotdb_path(path: str) -> str:
    """`path` as IoTDB shows it (SHOW TIMESERIES, SHOW DEVICES, SELECT headers): every node
    that is not a plain identifier back-quoted, e.g. ``root.sg.`1(TS)`.s``."""
    try:
        nodes = split_path(path, allow_wildcards=True)
    except SchemaError:
        return path
    return ".".join(_iotdb_quote(n) if n not in ("*", "**") else n for n in nodes)


def validate_device(device: str) -> list[str]:
    """Nodes of a device path (``root`` plus at least one node, no wildcards)."""
    return list(canonical_device(device)[1])


@lru_cache(maxsize=65536)
def canonical_device(device: str) -> tuple[str, tuple[str, ...]]:
    """(canonical text, nodes) of a device path; SchemaError when it is not one."""
    nodes = split_path(device)
    if len(nodes) < 2:
        raise SchemaError(
            f"illegal device path {device}: needs at least one node below root", device
        )
    return join_path(nodes), tuple(nodes)


def validate_measurement(device: str, measurement: str) -> str:
    """A measurement name is one node: non-empty, no dot, no wildcard, no backquote."""
    if not isinstance(measurement, str) or not measurement.strip():
        raise SchemaError(f"illegal measurement {measurement!r} of {device}", device)
    if (
        any(c in measurement for c in ".*`")
        or measurement != measurement.strip()
        or not _is_utf8(measurement)
    ):
        raise SchemaError(
            f"illegal measurement {measurement!r} of {device}: a measurement is one node",
            f"{device}.{measurement}",
        )
    return measurement


@lru_cache(maxsize=4096)
def _node_regex(node: str) -> re.Pattern[str] | None:
    if "*" not in node:
        return None
    return re.compile(".*".join(re.escape(part) for part in node.split("*")), re.DOTALL)


ANY_NODE = "\x00any"
"""A placeholder node that every pattern node matches (an unknown measurement)."""


def _node_matches(pattern_node: str, node: str) -> bool:
    if pattern_node == "*" or node == ANY_NODE:
        return True
    rx = _node_regex(pattern_node)
    return node == pattern_node if rx is None else rx.fullmatch(node) is not None


class PathPattern:
    """A compiled path pattern; immutable and hashable by its text."""

    __slots__ = ("_cache", "nodes", "text")

    def __init__(self, pattern: str) -> None:
        self.nodes: tuple[str, ...] = tuple(split_path(pattern, allow_wildcards=True))
        self.text = join_path(self.nodes) if "*" not in pattern else pattern.strip()
        self._cache: dict[tuple[str, ...], bool] = {}

    def __repr__(self) -> str:
        return f"PathPattern({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PathPattern) and other.nodes == self.nodes

    def __hash__(self) -> int:
        return hash(self.nodes)

    @property
    def has_wildcard(self) -> bool:
        return any("*" in n for n in self.nodes)

    # ------------------------------------------------------------------ full matches
    def matches(self, nodes: Sequence[str]) -> bool:
        """Whether the path given by `nodes` is matched by the whole pattern."""
        key = tuple(nodes)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._match(0, key, 0)
            if len(self._cache) < 65536:
                self._cache[key] = hit
        return hit

    def matches_path(self, path: str) -> bool:
        return self.matches(split_path(path))

    def _match(self, i: int, nodes: tuple[str, ...], j: int) -> bool:
        pn = self.nodes
        while i < len(pn):
            if pn[i] == "**":
                if i == len(pn) - 1:
                    return j < len(nodes)
                return any(self._match(i + 1, nodes, k) for k in range(j + 1, len(nodes)))
            if j >= len(nodes) or not _node_matches(pn[i], nodes[j]):
                return False
            i += 1
            j += 1
        return j == len(nodes)

    # ------------------------------------------------------------------ prefixes
    def may_match_below(self, prefix: Sequence[str]) -> bool:
        """Whether some path starting with `prefix` (the prefix itself or longer) can match."""
        return self._prefix(0, tuple(prefix), 0)

    def _prefix(self, i: int, prefix: tuple[str, ...], j: int) -> bool:
        pn = self.nodes
        while j < len(prefix):
            if i >= len(pn):
                return False
            if pn[i] == "**":
                return True
            if not _node_matches(pn[i], prefix[j]):
                return False
            i += 1
            j += 1
        return True

    def matches_series(self, device_nodes: Sequence[str], measurement: str) -> bool:
        return self.matches((*device_nodes, measurement))

    def may_match_device(self, device_nodes: Sequence[str]) -> bool:
        """Whether some series of the device (any measurement one node below it) can match."""
        return self.matches((*device_nodes, ANY_NODE))

    def matches_device(self, device_nodes: Sequence[str]) -> bool:
        """Whether the device path itself is matched (for SHOW DEVICES)."""
        return self.matches(device_nodes)


def parse_pattern(pattern: str | PathPattern) -> PathPattern:
    return pattern if isinstance(pattern, PathPattern) else _cached_pattern(pattern)


@lru_cache(maxsize=1024)
def _cached_pattern(pattern: str) -> PathPattern:
    return PathPattern(pattern)
