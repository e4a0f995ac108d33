"""Paths, literals, time values and WHERE conditions: the parts statements are made of.

All are frozen attrs values. Conditions form a small tree: `Comparison`, `Between`,
`IsNull`, `InList` at the leaves, `And`, `Or`, `Not` above them. Their operands are
`TIME` (the time column), a `Path` (a series, relative to FROM), a `Literal` or a
`TimeValue`. Wherever the time column meets a number or a datetime string, the parser has
already turned that side into a `TimeValue`, so an executor never re-parses dates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import attrs

__all__ = [
    "TIME",
    "And",
    "Between",
    "Comparison",
    "Condition",
    "InList",
    "IsNull",
    "Literal",
    "Not",
    "Operand",
    "Or",
    "Path",
    "TimeColumn",
    "TimeValue",
    "Value",
    "condition_depth",
    "is_time_condition",
    "time_range",
]

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_PLAIN_NODE = re.compile(
    r"[A-Za-z0-9_:@#$\{\}\u2E80-\u9FFF]*[A-Za-z_:@#$\{\}\u2E80-\u9FFF]"
    r"[A-Za-z0-9_:@#$\{\}\u2E80-\u9FFF]*|\**"
)


def _quote_node(node: str) -> str:
    if _PLAIN_NODE.fullmatch(node) and node:
        return node
    if "*" in node and node.strip("*") and _PLAIN_NODE.fullmatch(node.replace("*", "a")):
        return node  # a partial wildcard such as s* or *temp*
    return "`" + node.replace("`", "``") + "`"


def _nodes(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


@attrs.frozen
class Path:
    """A path of nodes, e.g. ``root.sg.d1.s1``, a pattern ``root.sg.**`` or a suffix
    ``d1.s1`` (relative to a FROM prefix). Nodes are held unquoted; `str()` puts back the
    backquotes a node needs (dots, spaces, digits only ...)."""

    nodes: tuple[str, ...] = attrs.field(converter=_nodes)

    def __str__(self) -> str:
        return ".".join(_quote_node(n) for n in self.nodes)

    @property
    def is_full(self) -> bool:
        """Starts at ``root``."""
        return bool(self.nodes) and self.nodes[0] == "root"

    @property
    def is_pattern(self) -> bool:
        """Holds a wildcard (``*``, ``**`` or a partial one like ``s*``)."""
        return any("*" in n for n in self.nodes)

    @property
    def last(self) -> str:
        return self.nodes[-1]

    def child(self, *nodes: str) -> Path:
        return Path(self.nodes + nodes)

    def concat(self, suffix: Path) -> Path:
        """This prefix joined with a suffix path (``root.sg`` + ``d1.s1``)."""
        return Path(self.nodes + suffix.nodes)


@attrs.frozen
class Literal:
    """A constant as written: `value` in Python terms and `kind` one of ``int``,
    ``float``, ``string``, ``boolean``, ``null``, ``nan``, ``binary``; `text` is the source
    spelling (``16.0`` stays ``16.0`` for a TEXT series)."""

    value: int | float | str | bool | bytes | None
    kind: str
    text: str


@attrs.frozen
class TimeValue:
    """A point in time: an absolute `epoch_ms`, or ``now()`` when `epoch_ms` is None, plus
    `offset_ms` (``now() - 1d`` has offset -86400000). `text` is the source spelling."""

    epoch_ms: int | None
    offset_ms: int = 0
    text: str = ""

    @property
    def is_now(self) -> bool:
        return self.epoch_ms is None

    def resolve(self, now_ms: int) -> int:
        """Epoch ms, taking `now_ms` for ``now()``."""
        base = now_ms if self.epoch_ms is None else self.epoch_ms
        return base + self.offset_ms


@attrs.frozen
class TimeColumn:
    """The time column (``time`` / ``timestamp``) in a condition."""

    def __str__(self) -> str:
        return "time"


TIME = TimeColumn()

Value = Literal | TimeValue
Operand = TimeColumn | Path | Literal | TimeValue


@attrs.frozen
class Comparison:
    """``left op right`` with op one of ``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``."""

    left: Operand
    op: str
    right: Operand


@attrs.frozen
class Between:
    """``operand [NOT] BETWEEN low AND high`` (bounds included)."""

    operand: Operand
    low: Operand
    high: Operand
    negated: bool = False


@attrs.frozen
class IsNull:
    """``operand IS [NOT] NULL``."""

    operand: Operand
    negated: bool = False


@attrs.frozen
class InList:
    """``operand [NOT] IN (v1, v2, ...)``."""

    operand: Operand
    values: tuple[Value, ...]
    negated: bool = False


@attrs.frozen
class And:
    """All of `operands` (two or more; a chain ``a AND b AND c`` is one And)."""

    operands: tuple[Condition, ...]


@attrs.frozen
class Or:
    """Any of `operands` (two or more; a chain ``a OR b OR c`` is one Or)."""

    operands: tuple[Condition, ...]


@attrs.frozen
class Not:
    operand: Condition


Condition = Comparison | Between | IsNull | InList | And | Or | Not

_FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "!=": "!="}


def _leaves(condition: Condition) -> Iterator[Condition]:
    stack = [condition]
    while stack:
        item = stack.pop()
        if isinstance(item, And):
            stack.extend(reversed(item.operands))
        else:
            yield item


def condition_depth(condition: Condition) -> int:
    """How deeply And / Or / Not nest in `condition` (a leaf is 1)."""
    deepest, stack = 0, [(condition, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, (And, Or)):
            stack.extend((o, depth + 1) for o in item.operands)
        elif isinstance(item, Not):
            stack.append((item.operand, depth + 1))
    return deepest


def _time_bound(leaf: Condition) -> tuple[str, TimeValue, TimeValue | None]:
    """(op, value, None) for ``time op value``; ("between", low, high) for BETWEEN."""
    if isinstance(leaf, Comparison):
        if isinstance(leaf.left, TimeColumn) and isinstance(leaf.right, TimeValue):
            op, value = leaf.op, leaf.right
        elif isinstance(leaf.right, TimeColumn) and isinstance(leaf.left, TimeValue):
            op, value = _FLIPPED[leaf.op], leaf.left
        else:
            raise ValueError("only conditions on time are allowed here")
        if op == "!=":
            raise ValueError("'time != ...' does not describe a time range")
        return op, value, None
    if (
        isinstance(leaf, Between)
        and not leaf.negated
        and isinstance(leaf.operand, TimeColumn)
        and isinstance(leaf.low, TimeValue)
        and isinstance(leaf.high, TimeValue)
    ):
        return "between", leaf.low, leaf.high
    raise ValueError(
        "only time comparisons joined by AND (or time BETWEEN a AND b) are allowed here"
    )


def is_time_condition(condition: Condition) -> bool:
    """Whether `condition` is a time range: time comparisons joined by AND."""
    try:
        for leaf in _leaves(condition):
            _time_bound(leaf)
    except ValueError:
        return False
    return True


def time_range(condition: Condition | None, now_ms: int) -> tuple[int, int]:
    """The inclusive ``(start, end)`` epoch-ms range a time condition selects, resolving
    ``now()`` to `now_ms`; no condition selects everything. The range is empty when
    start > end. Raises ValueError for a condition that is not a time range."""
    low, high = INT64_MIN, INT64_MAX
    if condition is None:
        return low, high
    for leaf in _leaves(condition):
        op, first, second = _time_bound(leaf)
        value = first.resolve(now_ms)
        if second is not None:  # between
            low, high = max(low, value), min(high, second.resolve(now_ms))
        elif op in (">", ">="):
            low = max(low, value + (op == ">"))
        elif op in ("<", "<="):
            high = min(high, value - (op == "<"))
        else:  # =
            low, high = max(low, value), min(high, value)
    return low, high
