"""Transformer callbacks for the small parts: names, paths, literals, conditions.

`TermsMixin` methods receive (meta, children) — the builder in `transform` applies lark's
``v_args(meta=True)`` to the whole class. Parts keep their source position until the
statement is built, so semantic errors can point at them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

from lark import Token, v_args
from lark.visitors import Transformer_NonRecursive

from .. import timeparse
from .errors import SqlSemanticError
from .expressions import (
    TIME,
    And,
    Between,
    Comparison,
    Condition,
    InList,
    IsNull,
    Literal,
    Not,
    Or,
    Path,
    TimeColumn,
    TimeValue,
    Value,
    condition_depth,
)

__all__ = ["Const", "Located", "Name", "Pair", "TermsMixin", "at", "tokens", "unquote"]

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_CONDITION_DEPTH = 64


class Name(NamedTuple):
    """An identifier as written (backquotes removed) and where it starts."""

    text: str
    line: int
    column: int
    quoted: bool = False


class Const(NamedTuple):
    """A constant (`Literal` or `TimeValue`) and where it starts."""

    value: Value
    line: int
    column: int


class Pair(NamedTuple):
    """``key = value`` of an attribute list, both as `Name`s."""

    key: Name
    value: Name


class Located(NamedTuple):
    """Any part with a position."""

    value: Any
    line: int
    column: int


def at(token: Token) -> tuple[int, int]:
    """A token's 1-based (line, column)."""
    return token.line or 1, token.column or 1


def tokens(children: Sequence[object], *types: str) -> list[Token]:
    return [c for c in children if isinstance(c, Token) and c.type in types]


def unquote(token: Token) -> str:
    """The content of a STRING or QUOTED_ID token: outer quotes off, doubled quotes single
    (IoTDB's only escape)."""
    text = str(token)
    quote = text[0]
    return text[1:-1].replace(quote * 2, quote)


@v_args(meta=True)
class TermsMixin(Transformer_NonRecursive):
    """Names, paths, constants and WHERE conditions."""

    zone: Any

    def _semantic(self, message: str, line: int, column: int, subject: str | None = None):
        return SqlSemanticError(message, line, column, subject=subject)

    # ------------------------------------------------------------ names and paths

    def identifier(self, meta: Any, children: list[Token]) -> Name:
        (tok,) = children
        if tok.type == "QUOTED_ID":
            text = unquote(tok)
            if not text:
                raise self._semantic("an identifier cannot be empty", *at(tok))
            return Name(text, *at(tok), True)
        return Name(str(tok), *at(tok))

    def wildcard(self, meta: Any, children: list[Token]) -> Name:
        (tok,) = children
        return Name(str(tok), *at(tok))

    def node_slice(self, meta: Any, children: list[Any]) -> Name:
        (part,) = children
        if isinstance(part, Token):
            return Name(str(part), *at(part))
        return part

    def node_name(self, meta: Any, children: list[Name]) -> Name:
        for part in children:
            if part.quoted and "*" in part.text:
                raise self._semantic(
                    f"node name `{part.text}` holds '*'; wildcards cannot be quoted",
                    part.line,
                    part.column,
                )
        first = children[0]
        return Name("".join(p.text for p in children), first.line, first.column)

    def prefix_path(self, meta: Any, children: list[Any]) -> Located:
        nodes = ["root"] + [c.text for c in children if isinstance(c, Name)]
        return Located(Path(tuple(nodes)), meta.line, meta.column)

    def path_expression(self, meta: Any, children: list[Any]) -> Located:
        if len(children) == 1 and isinstance(children[0], Located):
            return children[0]
        nodes = [c.text for c in children if isinstance(c, Name)]
        return Located(Path(tuple(nodes)), meta.line, meta.column)

    def _full_path(self, located: Located, what: str) -> Path:
        """A prefix path that must name one object: no wildcard, at least root.x."""
        path: Path = located.value
        if path.is_pattern:
            raise self._semantic(
                f"{what} {path} must not contain wildcards", located.line, located.column
            )
        if len(path.nodes) < 2:
            raise self._semantic(
                f"{what} must be below root, e.g. root.sg", located.line, located.column
            )
        return path

    # ------------------------------------------------------------ constants

    def signed_int(self, meta: Any, children: list[Token]) -> Const:
        text = "".join(str(c) for c in children)
        return Const(Literal(int(text), "int", text), meta.line, meta.column)

    def signed_real(self, meta: Any, children: list[Token]) -> Const:
        text = "".join(str(c) for c in children)
        return Const(Literal(float(text), "float", text), meta.line, meta.column)

    def sign(self, meta: Any, children: list[Token]) -> Token:
        return children[0]

    def boolean(self, meta: Any, children: list[Token]) -> Const:
        (tok,) = children
        return Const(Literal(tok.type == "TRUE", "boolean", str(tok)), *at(tok))

    def datetime_literal(self, meta: Any, children: list[Token]) -> Const:
        tok = children[0]
        if tok.type == "NOW":
            return Const(TimeValue(None, 0, "now()"), *at(tok))
        try:
            epoch = timeparse.parse_datetime(str(tok), self.zone)
        except ValueError as exc:
            raise self._semantic(str(exc), *at(tok)) from None
        return Const(TimeValue(epoch, 0, str(tok)), *at(tok))

    def datetime_expression(self, meta: Any, children: list[Any]) -> Const:
        base: Const = children[0]
        assert isinstance(base.value, TimeValue)
        offset, sign = 0, 1
        for part in children[1:]:
            if isinstance(part, Token) and part.type in ("PLUS", "MINUS"):
                sign = 1 if part.type == "PLUS" else -1
            elif isinstance(part, Token):
                offset += sign * timeparse.parse_duration(str(part))
        text = base.value.text if len(children) == 1 else _source(self, meta)
        return Const(TimeValue(base.value.epoch_ms, offset, text), meta.line, meta.column)

    def constant(self, meta: Any, children: list[Any]) -> Const:
        (part,) = children
        if isinstance(part, Const):
            return part
        tok: Token = part
        if tok.type == "STRING":
            literal = Literal(unquote(tok), "string", str(tok))
        elif tok.type == "NULL":
            literal = Literal(None, "null", str(tok))
        elif tok.type == "NAN":
            literal = Literal(math.nan, "nan", str(tok))
        else:  # BINARY
            digits = str(tok)[2:-1]
            if len(digits) % 2:
                raise self._semantic(
                    f"binary literal {tok} needs an even number of hex digits",
                    *at(tok),
                )
            literal = Literal(bytes.fromhex(digits), "binary", str(tok))
        return Const(literal, *at(tok))

    def attribute_key(self, meta: Any, children: list[Any]) -> Name:
        return self._attribute_text(children[0])

    def attribute_value(self, meta: Any, children: list[Any]) -> Name:
        return self._attribute_text(children[0])

    def _attribute_text(self, part: Name | Const) -> Name:
        if isinstance(part, Name):
            return part
        value = part.value
        if isinstance(value, Literal) and value.kind == "string":
            return Name(str(value.value), part.line, part.column, True)
        return Name(value.text, part.line, part.column)

    def attribute_pair(self, meta: Any, children: list[Any]) -> Pair:
        return Pair(children[0], children[2])

    def _pairs(self, items: Sequence[Any], what: str, lower: bool = False) -> dict[str, str]:
        """Attribute pairs to a dict; a key given twice (case-insensitively) is an error."""
        result: dict[str, str] = {}
        seen: set[str] = set()
        for item in items:
            if not isinstance(item, Pair):
                continue
            key, value = item
            folded = key.text.lower()
            if folded in seen:
                raise self._semantic(
                    f"{what}: attribute '{key.text}' is given twice", key.line, key.column
                )
            seen.add(folded)
            result[folded if lower else key.text] = value.text
        return result

    # ------------------------------------------------------------ conditions

    def operand(self, meta: Any, children: list[Any]) -> Located:
        (part,) = children
        if isinstance(part, Located):
            return part
        return Located(part.value, part.line, part.column)

    def time_operand(self, meta: Any, children: list[Token]) -> Located:
        return Located(TIME, meta.line, meta.column)

    def comparison_op(self, meta: Any, children: list[Token]) -> str:
        op = str(children[0])
        return {"==": "=", "<>": "!="}.get(op, op)

    def comparison(self, meta: Any, children: list[Any]) -> Condition:
        left, op, right = children
        if not any(isinstance(o.value, (Path, TimeColumn)) for o in (left, right)):
            raise self._semantic(
                "a condition must compare time or a series with something",
                meta.line,
                meta.column,
            )
        if isinstance(left.value, TimeColumn):
            right = self._as_time(right)
        if isinstance(right.value, TimeColumn):
            left = self._as_time(left)
        return Comparison(left.value, op, right.value)

    def between(self, meta: Any, children: list[Any]) -> Condition:
        located = [c for c in children if isinstance(c, Located)]
        operand, low, high = located
        if isinstance(operand.value, TimeColumn):
            low, high = self._as_time(low), self._as_time(high)
        self._need_subject(operand)
        negated = bool(tokens(children, "NOT"))
        return Between(operand.value, low.value, high.value, negated)

    def is_null(self, meta: Any, children: list[Any]) -> Condition:
        operand = children[0]
        self._need_subject(operand)
        return IsNull(operand.value, bool(tokens(children, "NOT")))

    def in_list(self, meta: Any, children: list[Any]) -> Condition:
        operand = children[0]
        self._need_subject(operand)
        consts = [c for c in children[1:] if isinstance(c, Const)]
        if isinstance(operand.value, TimeColumn):
            consts = [self._as_time(c) for c in consts]  # type: ignore[misc]
        values = tuple(c.value for c in consts)
        return InList(operand.value, values, bool(tokens(children, "NOT")))

    def predicate(self, meta: Any, children: list[Any]) -> Condition:
        return children[1]  # ( expression )

    def or_expression(self, meta: Any, children: list[Any]) -> Condition:
        left, right = children[0], children[2]
        return Or(_operands(left, Or) + _operands(right, Or))

    def and_expression(self, meta: Any, children: list[Any]) -> Condition:
        left, right = children[0], children[2]
        return And(_operands(left, And) + _operands(right, And))

    def not_expression(self, meta: Any, children: list[Any]) -> Condition:
        return Not(children[1])

    def where_clause(self, meta: Any, children: list[Any]) -> Located:
        if condition_depth(children[1]) > MAX_CONDITION_DEPTH:
            raise self._semantic(
                f"the condition nests AND/OR/NOT more than {MAX_CONDITION_DEPTH} levels deep",
                meta.line,
                meta.column,
            )
        return Located(children[1], meta.line, meta.column)

    def _need_subject(self, operand: Located) -> None:
        if not isinstance(operand.value, (Path, TimeColumn)):
            raise self._semantic(
                "the left side of this condition must be time or a series",
                operand.line,
                operand.column,
            )

    def _as_time(self, operand: Any) -> Located:
        value = operand.value
        if isinstance(value, TimeValue):
            return Located(value, operand.line, operand.column)
        if isinstance(value, Literal) and value.kind == "int":
            if not INT64_MIN <= value.value <= INT64_MAX:  # type: ignore[operator]
                raise self._semantic(
                    f"time {value.text} does not fit in a signed 64-bit long",
                    operand.line,
                    operand.column,
                )
            return Located(TimeValue(int(value.value), 0, value.text), operand.line, operand.column)  # type: ignore[arg-type]
        if isinstance(value, Literal) and value.kind == "string":
            try:
                epoch = timeparse.parse_datetime(str(value.value), self.zone)
            except ValueError as exc:
                raise self._semantic(str(exc), operand.line, operand.column) from None
            return Located(TimeValue(epoch, 0, value.text), operand.line, operand.column)
        raise self._semantic(
            "time can only be compared with a timestamp (a long, a datetime or now())",
            operand.line,
            operand.column,
        )


def _operands(condition: Condition, kind: type[And] | type[Or]) -> tuple[Condition, ...]:
    if isinstance(condition, kind):
        return condition.operands
    return (condition,)


def _source(builder: Any, meta: Any) -> str:
    text: str = builder.text
    return text[meta.start_pos : meta.end_pos]
