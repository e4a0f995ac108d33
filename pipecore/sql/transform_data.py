"""Transformer callbacks for the data statements: INSERT, SELECT, DELETE, FLUSH, LOAD."""

from __future__ import annotations

from typing import Any, NamedTuple

from lark import Token, v_args

from . import statements as st
from .expressions import Literal, Path, TimeValue, is_time_condition
from .transform_terms import Const, Located, Name, Pair, TermsMixin, at, tokens, unquote

__all__ = ["AGGREGATES", "DataMixin", "PaginationPart"]

AGGREGATES = (
    "COUNT",
    "SUM",
    "AVG",
    "MIN_VALUE",
    "MAX_VALUE",
    "FIRST_VALUE",
    "LAST_VALUE",
    "MIN_TIME",
    "MAX_TIME",
)
INT64_MAX = 2**63 - 1
_TIME_COLUMN = "\0time"
_LOAD_OPTIONS = {"sglevel": "an integer", "verify": "true or false", "onsuccess": "delete or none"}
# IoTDB's own messages for bad pagination values (ASTVisitor).
_PAGINATION_RULES = {
    "limit": (1, "LIMIT <N>: N should be greater than 0."),
    "offset": (0, "OFFSET <OFFSETValue>: OFFSETValue should >= 0."),
    "slimit": (1, "SLIMIT <SN>: SN should be greater than 0."),
    "soffset": (0, "SOFFSET <SOFFSETValue>: SOFFSETValue should >= 0."),
}


class _From(NamedTuple):
    paths: tuple[Path, ...]


class _OrderBy(NamedTuple):
    desc: bool


class _AlignBy(NamedTuple):
    device: bool


class _GroupByLevel(NamedTuple):
    levels: tuple[int, ...]


class PaginationPart(NamedTuple):
    items: dict[str, int]
    line: int
    column: int


@v_args(meta=True)
class DataMixin(TermsMixin):
    """INSERT, SELECT, SELECT LAST, DELETE FROM, FLUSH, LOAD."""

    def _span(self, meta: Any) -> st.SourceSpan:  # provided by StatementBuilder
        raise NotImplementedError

    # ------------------------------------------------------------ INSERT

    def insert_column(self, meta: Any, children: list[Any]) -> Name:
        (part,) = children
        if isinstance(part, Token):
            return Name(_TIME_COLUMN, *at(part))
        return part

    def insert_row(self, meta: Any, children: list[Any]) -> Located:
        return Located([c for c in children if isinstance(c, Const)], meta.line, meta.column)

    def insert(self, meta: Any, children: list[Any]) -> st.Insert:
        device = self._full_path(next(c for c in children if isinstance(c, Located)), "device")
        columns = [c for c in children if isinstance(c, Name)]
        has_time = self._check_insert_columns(columns)
        measurements = tuple(c.text for c in columns[1 if has_time else 0 :])
        rows = [c for c in children if isinstance(c, Located)][1:]
        built = tuple(self._insert_row(row, len(columns), has_time) for row in rows)
        return st.Insert(
            device=device,
            measurements=measurements,
            rows=built,
            aligned=bool(tokens(children, "ALIGNED")),
            span=self._span(meta),
        )

    def _check_insert_columns(self, columns: list[Name]) -> bool:
        seen: set[str] = set()
        for index, column in enumerate(columns):
            if column.text == _TIME_COLUMN and index:
                raise self._semantic(
                    "the time column (time / timestamp) must come first",
                    column.line,
                    column.column,
                )
            if column.text in seen:
                raise self._semantic(
                    f"measurement {column.text} is given twice", column.line, column.column
                )
            seen.add(column.text)
        if columns and columns[0].text == _TIME_COLUMN:
            if len(columns) == 1:
                raise self._semantic(
                    "INSERT needs at least one measurement", columns[0].line, columns[0].column
                )
            return True
        return False

    def _insert_row(self, row: Located, width: int, has_time: bool) -> st.InsertRow:
        values: list[Const] = row.value
        if len(values) != width:
            raise self._semantic(
                f"the row has {len(values)} value{'s' if len(values) != 1 else ''} "
                f"but {width} columns were named",
                row.line,
                row.column,
            )
        if has_time:
            time = self._as_time(values[0]).value
            values = values[1:]
        else:
            time = TimeValue(None, 0, "now()")
        return st.InsertRow(
            time=time, values=tuple(v.value for v in values), line=row.line, column=row.column
        )

    # ------------------------------------------------------------ SELECT

    def function_call(self, meta: Any, children: list[Any]) -> Located:
        name: Name = children[0]
        function = name.text.upper()
        if function not in AGGREGATES:
            raise self._semantic(
                f"unknown aggregate function '{name.text}'; expected one of "
                + ", ".join(AGGREGATES),
                name.line,
                name.column,
                subject=name.text,
            )
        args = [c for c in children[1:] if isinstance(c, Located)]
        if len(args) != 1:
            raise self._semantic(
                f"{function} takes exactly one series, got {len(args)}", meta.line, meta.column
            )
        return Located(
            st.AggregateCall(function=function, path=args[0].value, spelling=name.text),
            meta.line,
            meta.column,
        )

    def result_column(self, meta: Any, children: list[Any]) -> st.ResultColumn:
        selector = children[0].value
        aliases = [c for c in children[1:] if isinstance(c, Name)]
        return st.ResultColumn(selector=selector, alias=aliases[0].text if aliases else None)

    def from_clause(self, meta: Any, children: list[Any]) -> _From:
        return _From(tuple(c.value for c in children if isinstance(c, Located)))

    def sort_order(self, meta: Any, children: list[Token]) -> Token:
        return children[0]

    def order_by(self, meta: Any, children: list[Any]) -> _OrderBy:
        return _OrderBy(bool(tokens(children, "DESC")))

    def _pagination_item(self, meta: Any, children: list[Any], key: str) -> tuple[str, int]:
        const: Const = children[1]
        value = const.value.value  # type: ignore[union-attr]
        minimum, message = _PAGINATION_RULES[key]
        if value > INT64_MAX:  # type: ignore[operator]
            raise self._semantic(
                f"Out of range. {message[:-1]} and fit in Int64.", const.line, const.column
            )
        if value < minimum:  # type: ignore[operator]
            raise self._semantic(message, const.line, const.column)
        return key, int(value)  # type: ignore[arg-type]

    def limit(self, meta: Any, children: list[Any]) -> tuple[str, int]:
        return self._pagination_item(meta, children, "limit")

    def offset(self, meta: Any, children: list[Any]) -> tuple[str, int]:
        return self._pagination_item(meta, children, "offset")

    def slimit(self, meta: Any, children: list[Any]) -> tuple[str, int]:
        return self._pagination_item(meta, children, "slimit")

    def soffset(self, meta: Any, children: list[Any]) -> tuple[str, int]:
        return self._pagination_item(meta, children, "soffset")

    def pagination(self, meta: Any, children: list[tuple[str, int]]) -> PaginationPart:
        found: dict[str, int] = {}
        for key, value in children:
            if key in found:
                raise self._semantic(f"{key.upper()} is given twice", meta.line, meta.column)
            found[key] = value
        return PaginationPart(found, meta.line, meta.column)

    def align_by(self, meta: Any, children: list[Token]) -> _AlignBy:
        return _AlignBy(bool(tokens(children, "DEVICE")))

    def group_by_level(self, meta: Any, children: list[Token]) -> _GroupByLevel:
        return _GroupByLevel(tuple(int(level) for level in tokens(children, "INT")))

    def _select_parts(self, children: list[Any]) -> dict[str, Any]:
        parts: dict[str, Any] = {
            "columns": tuple(c for c in children if isinstance(c, st.ResultColumn))
        }
        names = {"limit": "limit", "offset": "offset", "slimit": "series_limit"}
        for child in children:
            if isinstance(child, _From):
                parts["from_paths"] = child.paths
            elif isinstance(child, _OrderBy):
                parts["order_desc"] = child.desc
            elif isinstance(child, _AlignBy):
                parts["align_by_device"] = child.device
            elif isinstance(child, _GroupByLevel):
                parts["group_by_levels"] = child.levels
            elif isinstance(child, PaginationPart):
                for key, number in child.items.items():
                    parts[names.get(key, "series_offset")] = number
            elif isinstance(child, Located):
                parts["where"] = child.value
        return parts

    def select(self, meta: Any, children: list[Any]) -> st.Select:
        return st.Select(**self._select_parts(children), span=self._span(meta))

    def select_last(self, meta: Any, children: list[Any]) -> st.SelectLast:
        parts = self._select_parts(children)
        for column in parts["columns"]:
            if column.is_aggregate:
                raise self._semantic(
                    "SELECT LAST takes series, not aggregates", meta.line, meta.column
                )
        return st.SelectLast(**parts, span=self._span(meta))

    # ------------------------------------------------------------ DELETE, FLUSH, LOAD

    def delete_data(self, meta: Any, children: list[Any]) -> st.DeleteData:
        paths = tuple(
            c.value for c in children if isinstance(c, Located) and isinstance(c.value, Path)
        )
        where = None
        for child in children:
            if isinstance(child, Located) and not isinstance(child.value, Path):
                if not is_time_condition(child.value):
                    raise self._semantic(
                        "DELETE FROM ... WHERE takes only time conditions joined by AND, "
                        "e.g. time >= 1 and time <= 10",
                        child.line,
                        child.column,
                    )
                where = child.value
        return st.DeleteData(paths=paths, where=where, span=self._span(meta))

    def flush_scope(self, meta: Any, children: list[Token]) -> str:
        return children[0].type

    def flush(self, meta: Any, children: list[Any]) -> st.Flush:
        paths = tuple(c.value for c in children if isinstance(c, Located))
        flags = [
            c.value.value for c in children if isinstance(c, Const) and isinstance(c.value, Literal)
        ]
        scopes = [c for c in children if isinstance(c, str) and not isinstance(c, Token)]
        return st.Flush(
            paths=paths,
            sequence=bool(flags[0]) if flags else None,
            scope=scopes[0] if scopes else None,
            span=self._span(meta),
        )

    def load_options(self, meta: Any, children: list[Any]) -> dict[str, str]:
        located = [c for c in children if isinstance(c, Located)]
        if located:  # WITH ('k'='v', ...)
            pairs, _ = located[0].value
            return self._pairs(pairs, "LOAD", lower=True)
        pairs = [c for c in children if isinstance(c, Pair)]
        for key, value in pairs:
            rule = _LOAD_OPTIONS.get(key.text.lower())
            if rule is None:
                raise self._semantic(
                    f"unknown LOAD option '{key.text}'; expected one of sglevel, verify, onSuccess",
                    key.line,
                    key.column,
                )
            if not _load_value_ok(key.text.lower(), value.text):
                raise self._semantic(
                    f"LOAD option {key.text} must be {rule}, got {value.text}",
                    value.line,
                    value.column,
                )
        return self._pairs(pairs, "LOAD", lower=True)

    def load_tsfile(self, meta: Any, children: list[Any]) -> st.LoadTsFile:
        (path_tok,) = tokens(children, "STRING")
        options = children[-1] if isinstance(children[-1], dict) else {}
        path = unquote(path_tok)
        if not path:
            raise self._semantic("LOAD needs a file or directory path", *at(path_tok))
        return st.LoadTsFile(path=path, options=options, span=self._span(meta))

    def load_configuration(self, meta: Any, children: list[Any]) -> st.LoadConfiguration:
        scopes = [c for c in children if isinstance(c, str) and not isinstance(c, Token)]
        return st.LoadConfiguration(scope=scopes[0] if scopes else None, span=self._span(meta))


def _load_value_ok(key: str, value: str) -> bool:
    if key == "sglevel":
        return value.isdigit()
    if key == "verify":
        return value.lower() in ("true", "false")
    return value.lower() in ("delete", "none")
