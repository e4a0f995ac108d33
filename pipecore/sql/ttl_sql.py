"""TTL in SQL (IoTDB 1.3.3's statements; the model is `pipecore.ttl`).

* ``SET TTL TO path ms`` (``INF``: no TTL) — a database ``root.db`` stands for
  ``root.db.**``; a device (``root.db.d1``) or a pattern (``root.db.d1.**``) is kept as it
  is. A TTL <= 0: 701 (IoTDB's "TTL should be positive."); a path under no database and not
  a pattern: 903 (DATABASE_NOT_EXIST).
* ``UNSET TTL TO path`` (``FROM`` is taken too).
* ``SHOW ALL TTL``, ``SHOW TTL ON path, ...`` — columns ``Device,TTL(ms)`` (IoTDB 1.3.3 / 2.0),
  the default ``root.**`` first (``INF`` unless set), then each pattern with a TTL.
"""

from __future__ import annotations

import re
from typing import Any

import attrs
from lark import Token, v_args

from ..ttl import TTL_INFINITE, TTLError
from .dataset import DataSet
from .expressions import Path
from .outcome import DONE, Context, Outcome, StatementError, rows
from .statements import Statement
from .transform_terms import Located, Name, TermsMixin

__all__ = ["HANDLERS", "SHOW_TTL_COLUMNS", "TTLMixin"]

SHOW_TTL_COLUMNS = ("Device", "TTL(ms)")
DATABASE_NOT_EXIST = 903
SEMANTIC_ERROR = 701


@attrs.frozen(kw_only=True)
class SetTTL(Statement):
    path: Path
    ttl: int | None  # None: UNSET TTL


@attrs.frozen(kw_only=True)
class ShowTTL(Statement):
    paths: tuple[Path, ...] = ()  # (): SHOW ALL TTL


@v_args(meta=True)
class TTLMixin(TermsMixin):
    """Transformer callbacks of the grammar's TTL block."""

    def _span(self, meta: Any) -> Any:  # provided by StatementBuilder
        raise NotImplementedError

    def set_ttl(self, meta: Any, children: list[Any]) -> SetTTL:
        located = next(c for c in children if isinstance(c, Located))
        path: Path = located.value
        last = children[-1]
        glued = re.fullmatch(r"(\*\*?)(\d+)", path.nodes[-1])
        if last is located and glued:  # `root.db.** 3600`: the wildcard took the number
            path = Path((*path.nodes[:-1], glued[1]))
            return SetTTL(path=path, ttl=int(glued[2]), span=self._span(meta))
        if last is located:
            raise self._semantic(
                "SET TTL needs a TTL in milliseconds or INF", meta.line, meta.column
            )
        if isinstance(last, Token) and last.type == "INT":
            ttl = int(last)
        elif isinstance(last, Name) and last.text.upper() == "INF":
            ttl = TTL_INFINITE
        else:
            text = last.text if isinstance(last, Name) else str(last)
            raise self._semantic(
                f"TTL must be a number of milliseconds or INF, not {text}",
                meta.line,
                meta.column,
            )
        return SetTTL(path=path, ttl=ttl, span=self._span(meta))

    def unset_ttl(self, meta: Any, children: list[Any]) -> SetTTL:
        located = next(c for c in children if isinstance(c, Located))
        return SetTTL(path=located.value, ttl=None, span=self._span(meta))

    def show_all_ttl(self, meta: Any, children: list[Any]) -> ShowTTL:
        return ShowTTL(span=self._span(meta))

    def show_ttl_on(self, meta: Any, children: list[Any]) -> ShowTTL:
        paths = tuple(c.value for c in children if isinstance(c, Located))
        return ShowTTL(paths=paths, span=self._span(meta))


def _failure(s: Statement, code: int, message: str) -> StatementError:
    return StatementError(message, s.span.line, s.span.column, status_code=code)


def _where(ctx: Context, path: Path) -> tuple[bool, bool]:
    """(whether `path` is in or over some database, whether it is a database)."""
    if any("*" in n for n in path.nodes):
        return True, False  # a pattern: IoTDB keeps it whether or not a database is there yet
    text = str(path)
    databases = [r[0] for r in ctx.store.show_databases("root.**").rows]
    known = any(
        text == db or text.startswith(db + ".") or db.startswith(text + ".") for db in databases
    )
    return known, text in databases


def set_ttl(ctx: Context, s: SetTTL) -> Outcome:
    table = ctx.node.ttl
    try:
        known, database = _where(ctx, s.path)
        if s.ttl is None:
            table.unset(str(s.path), database=database)
            return DONE
        if s.ttl <= 0:
            raise TTLError(SEMANTIC_ERROR, "TTL should be positive.")
        if not known:
            raise TTLError(DATABASE_NOT_EXIST, f"Database {s.path} does not exist")
        table.set(str(s.path), s.ttl, database=database)
    except TTLError as exc:
        raise _failure(s, exc.code, str(exc)) from exc
    return DONE


def show_ttl(ctx: Context, s: ShowTTL) -> Outcome:
    table = ctx.node.ttl
    try:
        if not s.paths:
            found = table.rows()
        else:
            seen: dict[str, str] = {}
            for path in s.paths:
                seen.update(table.rows(str(path)))
            found = list(seen.items())
    except TTLError as exc:
        raise _failure(s, exc.code, str(exc)) from exc
    return rows(DataSet.text(SHOW_TTL_COLUMNS, found))


HANDLERS: dict[type, Any] = {SetTTL: set_ttl, ShowTTL: show_ttl}
