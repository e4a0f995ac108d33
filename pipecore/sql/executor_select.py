"""SELECT and SELECT LAST on the node's store.

A raw query reads the selected series (suffixes joined to each FROM prefix, or full paths)
and the series its WHERE clause names, aligned by time. Conditions on time joined by AND at
the top of the WHERE clause narrow what is read; the whole condition is then evaluated on
the rows (numpy, SQL's three-valued logic: a comparison with a null is unknown and the row
is left out), rows where no selected series has a value are dropped, and ORDER BY TIME DESC,
OFFSET and LIMIT apply in that order. SLIMIT/SOFFSET pick among the selected series.

Aggregates (COUNT, SUM, AVG, MIN_VALUE, MAX_VALUE, FIRST_VALUE, LAST_VALUE, MIN_TIME,
MAX_TIME) take a WHERE clause on time only and answer one row without a time column.
ALIGN BY DEVICE gives a ``Device`` column and one column per measurement name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs
import numpy as np

from pipecore_storage.paths import iotdb_node, iotdb_path, join_path, split_path
from pipecore_storage.query import COMPARISONS
from pipecore_storage.types import TSDataType

from .dataset import DataSet, cell_value
from .expressions import (
    INT64_MAX,
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
    is_time_condition,
    time_range,
)
from .outcome import Context, Outcome, rows, semantic
from .result import SELECT_LAST_COLUMNS, cell_text
from .series_order import iotdb_series_order
from .statements import AggregateCall, ResultColumn, Select, SelectLast, Statement

__all__ = ["HANDLERS"]

_AGGREGATE_TYPES = {
    "COUNT": TSDataType.INT64,
    "SUM": TSDataType.DOUBLE,
    "AVG": TSDataType.DOUBLE,
    "MIN_TIME": TSDataType.INT64,
    "MAX_TIME": TSDataType.INT64,
}
_SERIES_TYPED = ("MIN_VALUE", "MAX_VALUE", "FIRST_VALUE", "LAST_VALUE")
_NUMERIC_KINDS = ("int", "float", "nan")


# ---------------------------------------------------------------- resolving paths
def _full_paths(path: Path, prefixes: Sequence[Path]) -> list[Path]:
    return [path] if path.is_full else [prefix.concat(path) for prefix in prefixes]


def _series(ctx: Context, pattern: Path) -> list[Any]:
    if pattern.is_pattern:
        return _template_order(ctx, list(ctx.store.list_series(str(pattern))))
    one = ctx.store.series(str(pattern))
    return [] if one is None else [one]


def _template_order(ctx: Context, found: list[Any]) -> list[Any]:
    """IoTDB lists a device's template series in the template's order (its HashMap's,
    `Template.ordered`), before the device's own series; the store lists them by name."""
    templates: Any = getattr(ctx.node, "templates", None)
    activated = getattr(templates, "activated", None)
    if not activated or not any(info.device in activated for info in found):
        return found
    ranks: dict[str, dict[str, int]] = {}
    for name in {activated[i.device] for i in found if i.device in activated}:
        template = templates.templates.get(name)
        if template is not None:
            ranks[name] = {m.name: n for n, m in enumerate(template.ordered())}

    def key(pair: tuple[int, Any]) -> tuple[str, int, int]:
        index, info = pair
        rank = ranks.get(activated.get(info.device, ""), {})
        return (info.device, rank.get(info.measurement, len(rank)), index)

    return [info for _, info in sorted(enumerate(found), key=key)]


def _selected(
    ctx: Context, s: Statement, items: Sequence[ResultColumn], prefixes, repeat: bool = False
) -> list:
    """(header, SeriesInfo) of every selected series, in select-list order, each once; with
    `repeat` as often as the select list (and FROM) name it, as IoTDB's raw SELECT lists them
    (``select s1, *`` has s1 twice)."""
    out: dict[str, tuple[str, Any]] = {}
    every: list[tuple[str, Any]] = []
    paths = [
        _full_paths(item.selector, prefixes) for item in items if isinstance(item.selector, Path)
    ]
    assert len(paths) == len(items)
    for item, found in zip(items, _expand_in_iotdb_order(ctx, paths), strict=True):
        if item.alias is not None and len({i.path for i in found}) > 1:
            raise semantic(
                s, f"alias {item.alias} matches {len(found)} series; an alias names one series"
            )
        for info in found:
            out.setdefault(info.path, (item.alias or iotdb_path(info.path), info))
            every.append((item.alias or iotdb_path(info.path), info))
    return every if repeat else list(out.values())


def _expand_in_iotdb_order(ctx: Context, paths: Sequence[Sequence[Path]]) -> list[list[Any]]:
    """The series each select item's paths match, item by item, in IoTDB's order: per path
    (FROM prefixes in order) the matches as IoTDB's schema tree walk lists them, a walk of the
    tree of every series the query matches (`series_order`). Devices with a schema template
    keep the template's order (`_template_order`)."""
    found = [[_series(ctx, p) for p in item] for item in paths]
    flat = [info for item in found for part in item for info in part]
    store = ctx.store
    templates: Any = getattr(ctx.node, "templates", None)
    activated = getattr(templates, "activated", None)
    if (
        len(flat) < 2
        or not hasattr(store, "devices_in_creation_order")
        or (activated and any(info.device in activated for info in flat))
    ):
        return [[info for part in item for info in part] for item in found]
    rank = iotdb_series_order(store, flat)
    return [
        [info for part in item for info in sorted(part, key=lambda i: rank[i.path])]
        for item in found
    ]


def _where_series(ctx: Context, s: Statement, path: Path, prefixes) -> Any | None:
    found = {info.path: info for p in _full_paths(path, prefixes) for info in _series(ctx, p)}
    if len(found) > 1:
        raise semantic(
            s,
            f"WHERE {path} matches {len(found)} series ({', '.join(sorted(found)[:3])}...); "
            "name one series (a full path, or ALIGN BY DEVICE)",
        )
    return next(iter(found.values()), None)


def _paths_in(condition: Condition | None) -> list[Path]:
    if condition is None:
        return []
    if isinstance(condition, And | Or):
        return [p for c in condition.operands for p in _paths_in(c)]
    if isinstance(condition, Not):
        return _paths_in(condition.operand)
    operands: list[Any] = []
    if isinstance(condition, Comparison):
        operands = [condition.left, condition.right]
    elif isinstance(condition, Between):
        operands = [condition.operand, condition.low, condition.high]
    elif isinstance(condition, IsNull | InList):
        operands = [condition.operand]
    return [o for o in operands if isinstance(o, Path)]


# ---------------------------------------------------------------- the WHERE clause
def _split_where(condition: Condition | None) -> tuple[list[Condition], list[Condition]]:
    """(time bounds, the rest) of the top-level AND."""
    if condition is None:
        return [], []
    leaves = list(condition.operands) if isinstance(condition, And) else [condition]
    bounds = [c for c in leaves if is_time_condition(c)]
    return bounds, [c for c in leaves if not is_time_condition(c)]


def _time_bounds(s: Statement, bounds: list[Condition], now_ms: int) -> tuple[int, int]:
    if not bounds:
        return time_range(None, now_ms)
    condition = bounds[0] if len(bounds) == 1 else And(tuple(bounds))
    try:
        return time_range(condition, now_ms)
    except ValueError as exc:  # pragma: no cover - is_time_condition said it was one
        raise semantic(s, f"WHERE: {exc}") from None


class _Rows:
    """What a condition is evaluated on: timestamps and the columns of the where series."""

    def __init__(self, timestamps: np.ndarray, columns: dict[str, tuple[np.ndarray, np.ndarray]]):
        self.timestamps = timestamps
        self.columns = columns  # path -> (values, null mask)
        self.n = int(timestamps.shape[0])


class _Evaluator:
    def __init__(self, s: Statement, ctx: Context, resolve: Callable[[Path], Any]) -> None:
        self.s, self.ctx, self.resolve = s, ctx, resolve

    def truth(self, condition: Condition, data: _Rows) -> tuple[np.ndarray, np.ndarray]:
        """(value, known) of `condition` for every row."""
        n = data.n
        if isinstance(condition, And):
            value, known, false = np.ones(n, bool), np.ones(n, bool), np.zeros(n, bool)
            for part in condition.operands:
                v, k = self.truth(part, data)
                false |= k & ~v
                value &= v
                known &= k
            return value & known, known | false
        if isinstance(condition, Or):
            true, known = np.zeros(n, bool), np.ones(n, bool)
            for part in condition.operands:
                v, k = self.truth(part, data)
                true |= k & v
                known &= k
            return true, known | true
        if isinstance(condition, Not):
            v, k = self.truth(condition.operand, data)
            return ~v & k, k
        return self._leaf(condition, data)

    def _operand(self, operand: Any, data: _Rows) -> tuple[Any, np.ndarray, str]:
        """(values, known, kind) — kind is numeric, text, boolean or time."""
        everywhere = np.ones(data.n, bool)
        if isinstance(operand, TimeColumn):
            return data.timestamps, everywhere, "time"
        if isinstance(operand, TimeValue):
            return operand.resolve(self.ctx.now_ms), everywhere, "time"
        if isinstance(operand, Literal):
            if operand.kind == "null":
                return None, np.zeros(data.n, bool), "null"
            kind = {"string": "text", "boolean": "boolean", "binary": "blob"}.get(
                operand.kind, "numeric"
            )
            value = float("nan") if operand.kind == "nan" else operand.value
            return value, everywhere, kind
        info = self.resolve(operand)
        if info is None or info.path not in data.columns:
            return None, np.zeros(data.n, bool), "null"
        values, mask = data.columns[info.path]
        return values, ~mask, _kind(info.data_type)

    def _leaf(self, leaf: Condition, data: _Rows) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(leaf, IsNull):
            _, known, _ = self._operand(leaf.operand, data)
            is_null = ~known
            return (~is_null if leaf.negated else is_null), np.ones(data.n, bool)
        if isinstance(leaf, Comparison):
            return self._compare(leaf.left, leaf.op, leaf.right, data)
        if isinstance(leaf, Between):
            low = self._compare(leaf.operand, ">=", leaf.low, data)
            high = self._compare(leaf.operand, "<=", leaf.high, data)
            value, known = low[0] & high[0], low[1] & high[1]
            return (~value & known if leaf.negated else value), known
        assert isinstance(leaf, InList)
        value, known = np.zeros(data.n, bool), np.zeros(data.n, bool)
        for item in leaf.values:
            v, k = self._compare(leaf.operand, "=", item, data)
            value |= v & k
            known |= k
        _, operand_known, _ = self._operand(leaf.operand, data)
        known = operand_known if leaf.values else known
        return (~value & known if leaf.negated else value & known), known

    def _compare(self, left: Any, op: str, right: Any, data: _Rows):
        a, known_a, kind_a = self._operand(left, data)
        b, known_b, kind_b = self._operand(right, data)
        known = known_a & known_b
        if "null" in (kind_a, kind_b):
            return np.zeros(data.n, bool), np.zeros(data.n, bool)
        if _comparable(kind_a) != _comparable(kind_b):
            raise semantic(
                self.s,
                f"WHERE: cannot compare {left} ({kind_a}) with {right} ({kind_b}); "
                "compare a series with a value of its own kind",
            )
        result = np.zeros(data.n, bool)
        if known.any():
            x = a[known] if isinstance(a, np.ndarray) else a
            y = b[known] if isinstance(b, np.ndarray) else b
            result[known] = np.broadcast_to(COMPARISONS[op](x, y), (int(known.sum()),))
        return result, known


def _kind(data_type: TSDataType) -> str:
    if data_type is TSDataType.BOOLEAN:
        return "boolean"
    if data_type in (TSDataType.TEXT, TSDataType.STRING):
        return "text"
    if data_type is TSDataType.BLOB:
        return "blob"
    return "numeric"


def _comparable(kind: str) -> str:
    return "numeric" if kind in ("time", "numeric") else kind


# ---------------------------------------------------------------- raw queries
def _order_and_page(s: Select, n: int) -> np.ndarray:
    index = np.arange(n)
    if s.order_desc:
        index = index[::-1]
    stop = None if s.limit is None else s.offset + s.limit
    return index[s.offset : stop]


def _raw_query(ctx: Context, s: Select, selected: list, prefixes, resolve) -> tuple:
    """(timestamps, [(values, mask)] per selected series) after WHERE, ORDER and paging."""
    bounds, rest = _split_where(s.where)
    start, end = _time_bounds(s, bounds, ctx.now_ms)
    where_infos = [resolve(p) for p in _paths_in(s.where)]
    paths = [info.path for _, info in selected]
    extra = [i.path for i in where_infos if i is not None and i.path not in paths]
    if not paths or start > end:
        return np.empty(0, np.int64), [_empty(info.data_type) for _, info in selected]
    result = ctx.store.query([*dict.fromkeys(paths), *dict.fromkeys(extra)], start, end)
    cells = zip(result.values, result.null_masks, strict=True)
    columns = dict(zip(result.columns, cells, strict=True))  # by name, without an O(n²) lookup
    keep = np.ones(len(result), bool)
    if rest:
        condition = rest[0] if len(rest) == 1 else And(tuple(rest))
        value, known = _Evaluator(s, ctx, resolve).truth(
            condition, _Rows(result.timestamps, columns)
        )
        keep &= value & known
    any_value = np.zeros(len(result), bool)
    for path in paths:
        any_value |= ~columns[path][1]
    rows_kept = np.flatnonzero(keep & any_value)
    rows_kept = rows_kept[_order_and_page(s, rows_kept.shape[0])]
    picked = [(columns[p][0][rows_kept], columns[p][1][rows_kept]) for p in paths]
    return result.timestamps[rows_kept], picked


def _empty(data_type: TSDataType) -> tuple[np.ndarray, np.ndarray]:
    return np.empty(0, dtype=data_type.numpy_dtype), np.empty(0, bool)


def _series_window(s: Select, selected: list) -> list:
    stop = None if s.series_limit is None else s.series_offset + s.series_limit
    return selected[s.series_offset : stop]


def select_raw(ctx: Context, s: Select) -> Outcome:
    selected = _series_window(s, _selected(ctx, s, s.columns, s.from_paths, repeat=True))
    resolve = lambda p: _where_series(ctx, s, p, s.from_paths)  # noqa: E731
    times, picked = _raw_query(ctx, s, selected, s.from_paths, resolve)
    return rows(
        DataSet(
            [header for header, _ in selected],
            [info.data_type for _, info in selected],
            [v for v, _ in picked],
            [m for _, m in picked],
            times,
        )
    )


def select_by_device(ctx: Context, s: Select) -> Outcome:
    by_device: dict[str, dict[str, Any]] = {}
    for _, info in _selected(ctx, s, s.columns, s.from_paths):
        by_device.setdefault(info.device, {}).setdefault(info.measurement, info)
    measurements: dict[str, TSDataType] = {}
    for device in sorted(by_device):
        for name, info in by_device[device].items():
            if measurements.setdefault(name, info.data_type) != info.data_type:
                raise semantic(
                    s,
                    f"ALIGN BY DEVICE: measurement {name} is {measurements[name].name} in one "
                    f"device and {info.data_type.name} in {device}; select them separately",
                )
    names = list(measurements)
    parts: list[tuple[np.ndarray, str, dict[str, Any]]] = []
    unpaged = _unpaged(s)
    for device in sorted(by_device):
        prefix = Path(tuple(split_path(device)))
        resolve = lambda p, pre=prefix: _where_series(ctx, s, p, [pre])  # noqa: E731
        chosen = [(n, by_device[device][n]) for n in names if n in by_device[device]]
        times, picked = _raw_query(ctx, unpaged, chosen, [prefix], resolve)
        parts.append((times, device, dict(zip([n for n, _ in chosen], picked, strict=True))))
    return rows(_device_dataset(s, names, measurements, parts))


def _unpaged(s: Select) -> Select:
    """`s` without paging (applied to all devices' rows together)."""
    return attrs.evolve(s, limit=None, offset=0)


def _device_dataset(s: Select, names: list[str], types: dict, parts: list) -> DataSet:
    total = sum(int(t.shape[0]) for t, _, _ in parts)
    times = np.concatenate([t for t, _, _ in parts]) if parts else np.empty(0, np.int64)
    devices = np.empty(total, dtype=object)
    values, masks = [], []
    at = 0
    for t, device, _ in parts:
        devices[at : at + t.shape[0]] = device
        at += int(t.shape[0])
    for name in names:
        column, mask = _empty(types[name])
        chunks, mask_chunks = [], []
        for t, _, picked in parts:
            if name in picked:
                chunks.append(picked[name][0])
                mask_chunks.append(picked[name][1])
            else:
                filler = np.zeros(t.shape[0], dtype=column.dtype)
                chunks.append(filler)
                mask_chunks.append(np.ones(t.shape[0], bool))
        values.append(np.concatenate(chunks) if chunks else column)
        masks.append(np.concatenate(mask_chunks) if mask_chunks else mask)
    index = _order_and_page(attrs.evolve(s, order_desc=False), total)  # ordered per device
    return DataSet(
        ["Device", *map(iotdb_node, names)],
        [TSDataType.TEXT, *[types[n] for n in names]],
        [devices[index], *[v[index] for v in values]],
        [None, *[m[index] for m in masks]],
        times[index],
    )


# ---------------------------------------------------------------- aggregates
def _aggregate_specs(
    ctx: Context, s: Select, prefixes
) -> list[tuple[str | None, str, Any, str, Any]]:
    """(alias, function, SeriesInfo, function as written, path as written) per aggregate
    column: IoTDB's header keeps the function's spelling (``MAX_VALUE(root.sg.d1.s1)`` for
    ``MAX_VALUE(s1)``)."""
    calls = []
    for item in s.columns:
        call = item.selector
        if not isinstance(call, AggregateCall):
            raise semantic(
                s,
                "Raw data and aggregation hybrid query is not supported: select either "
                "series or aggregates",
            )
        if call.function not in _AGGREGATE_TYPES and call.function not in _SERIES_TYPED:
            raise semantic(
                s,
                f"unknown aggregate function {call.function.lower()}(); use one of "
                + ", ".join(f.lower() for f in (*_AGGREGATE_TYPES, *_SERIES_TYPED)),
            )
        calls.append((item, call))
    out = []
    expanded = _expand_in_iotdb_order(ctx, [_full_paths(c.path, prefixes) for _, c in calls])
    for (item, call), found in zip(calls, expanded, strict=True):
        if item.alias is not None and len(found) > 1:
            raise semantic(s, f"alias {item.alias} matches {len(found)} series")
        for info in found:
            name = call.spelling or call.function.lower()
            out.append((item.alias, call.function, info, name, call.path))
    return out


def _aggregate_row(ctx: Context, s: Select, specs: list, label: Callable[[Any], str]):
    _, rest = _split_where(s.where)
    if rest:
        raise semantic(s, "aggregate queries take only conditions on time in WHERE")
    bounds, _ = _split_where(s.where)
    start, end = _time_bounds(s, bounds, ctx.now_ms)
    headers, types, cells = [], [], []
    if specs:
        pairs = [(function.lower(), info.path) for _, function, info, *_ in specs]
        table = ctx.store.aggregate(pairs, start, end)
        cells = list(table.rows[0])
    for alias, function, info, name, *_ in specs:
        headers.append(alias or f"{name}({label(info)})")
        types.append(_AGGREGATE_TYPES.get(function, info.data_type))
    return headers, types, cells


def _column(value: object, data_type: TSDataType) -> tuple[np.ndarray, np.ndarray]:
    column = np.zeros(1, dtype=data_type.numpy_dtype)
    if value is None:
        return column, np.ones(1, bool)
    column[0] = value
    return column, np.zeros(1, bool)


# GROUP BY LEVEL: how each function's per-series results combine into a group's
_LEVEL_MERGE: dict[str, Callable[[list], object]] = {
    "COUNT": lambda values: sum(int(v or 0) for v in values),
    "SUM": lambda values: (
        sum(v for v in values if v is not None) if any(v is not None for v in values) else None
    ),
    "MIN_TIME": lambda values: min((v for v in values if v is not None), default=None),
    "MAX_TIME": lambda values: max((v for v in values if v is not None), default=None),
    "MIN_VALUE": lambda values: min((v for v in values if v is not None), default=None),
    "MAX_VALUE": lambda values: max((v for v in values if v is not None), default=None),
}


def _level_label(path: str, levels: tuple[int, ...], keep_last: bool = False) -> str:
    """IoTDB's grouped path: the nodes at `levels` (and root) kept, the others ``*`` — but the
    measurement stays when the select list named it (`keep_last`): IoTDB 2.0.1 answers
    ``count(root.x.*.s1)`` to ``count(s1) ... group by level=1`` and ``count(root.x.*.*)`` to
    ``count(*)``."""
    nodes = split_path(path)
    shown = [iotdb_path(join_path(["root", n]))[5:] for n in nodes[1:]]  # IoTDB's quoting
    last = len(shown)
    kept = (n if i in levels or (keep_last and i == last) else "*" for i, n in enumerate(shown, 1))
    return ".".join(["root", *kept])


def select_aggregate_by_level(ctx: Context, s: Select) -> Outcome:
    """``SELECT agg(...) FROM ... GROUP BY LEVEL = l, ...``: one column per function and
    grouped path (``count(root.ln.*.*.*)``), as IoTDB answers."""
    specs = _aggregate_specs(ctx, s, s.from_paths)
    if not specs:
        return _no_series()
    for _, function, *_ in specs:
        if function not in _LEVEL_MERGE and function != "AVG":
            raise semantic(s, f"GROUP BY LEVEL does not take {function.lower()}()")
    expanded = []  # AVG as its SUM and COUNT
    for _alias, function, info, _, written in specs:
        parts = ("SUM", "COUNT") if function == "AVG" else (function,)
        expanded += [(None, part, info, part.lower(), written) for part in parts]
    _, _, cells = _aggregate_row(ctx, s, expanded, lambda info: info.path)
    results = iter(cells)
    groups: dict[tuple[str, str], dict[str, list]] = {}
    aliases: dict[tuple[str, str], str | None] = {}
    types: dict[tuple[str, str], TSDataType] = {}
    names: dict[tuple[str, str], str] = {}
    for alias, function, info, name, written in specs:
        key = (function, _level_label(info.path, s.group_by_levels, "*" not in written.last))
        bucket = groups.setdefault(key, {})
        for part in ("SUM", "COUNT") if function == "AVG" else (function,):
            bucket.setdefault(part, []).append(next(results))
        aliases.setdefault(key, alias)
        names.setdefault(key, name)
        kind = _AGGREGATE_TYPES.get(function, info.data_type)
        if types.setdefault(key, kind) != kind:
            raise semantic(s, f"GROUP BY LEVEL: {function.lower()}() over series of two types")
    headers, kinds, values = [], [], []
    for key, bucket in groups.items():
        function, label = key
        value: Any
        if function == "AVG":
            total = sum(float(v) for v in bucket["SUM"] if v is not None)
            count = sum(int(v or 0) for v in bucket["COUNT"])
            value = total / count if count else None
        else:
            value = _LEVEL_MERGE[function](bucket[function])
        headers.append(aliases[key] or f"{names[key]}({label})")
        kinds.append(types[key])
        values.append(value)
    columns = [_column(v, t) for v, t in zip(values, kinds, strict=True)]
    index = _order_and_page(s, 1)
    return rows(
        DataSet(headers, kinds, [c[index] for c, _ in columns], [m[index] for _, m in columns])
    )


def _no_series() -> Outcome:
    """An aggregate over no series: IoTDB 2.0.1 answers a ``Time`` column and no row (as a
    raw query over nothing), not an empty header."""
    return rows(DataSet((), (), (), (), np.empty(0, np.int64)))


def select_aggregate(ctx: Context, s: Select) -> Outcome:
    if s.group_by_levels:
        return select_aggregate_by_level(ctx, s)
    specs = _aggregate_specs(ctx, s, s.from_paths)
    if not specs:
        return _no_series()
    headers, types, cells = _aggregate_row(ctx, s, specs, lambda info: iotdb_path(info.path))
    columns = [_column(v, t) for v, t in zip(cells, types, strict=True)]
    index = _order_and_page(s, 1)
    return rows(
        DataSet(headers, types, [c[index] for c, _ in columns], [m[index] for _, m in columns])
    )


def select_aggregate_by_device(ctx: Context, s: Select) -> Outcome:
    specs = _aggregate_specs(ctx, s, s.from_paths)
    if not specs:
        return _no_series()
    devices = sorted({info.device for _, _, info, *_ in specs})
    headers: list[str] = []
    types: dict[str, TSDataType] = {}
    table: list[dict[str, object]] = []
    for device in devices:
        mine = [spec for spec in specs if spec[2].device == device]
        names, kinds, cells = _aggregate_row(
            ctx, s, mine, lambda info: iotdb_node(info.measurement)
        )
        for name, kind in zip(names, kinds, strict=True):
            if name not in types:
                headers.append(name)
            if types.setdefault(name, kind) != kind:
                raise semantic(
                    s,
                    f"ALIGN BY DEVICE: {name} is {types[name].name} in one device and "
                    f"{kind.name} in {device}; select them separately",
                )
        table.append(dict(zip(names, cells, strict=True)))
    columns = [_object_column([r.get(h) for r in table], types[h]) for h in headers]
    index = _order_and_page(s, len(devices))
    device_column = np.array(devices, dtype=object)
    return rows(
        DataSet(
            ["Device", *headers],
            [TSDataType.TEXT, *[types[h] for h in headers]],
            [device_column[index], *[c[index] for c, _ in columns]],
            [None, *[m[index] for _, m in columns]],
        )
    )


def _object_column(values: list, data_type: TSDataType) -> tuple[np.ndarray, np.ndarray]:
    column = np.zeros(len(values), dtype=data_type.numpy_dtype)
    mask = np.array([v is None for v in values], dtype=bool)
    for i, value in enumerate(values):
        if value is not None:
            column[i] = value
    return column, mask


def select(ctx: Context, s: Select) -> Outcome:
    if s.group_by_levels and (not s.is_aggregation or s.align_by_device):
        raise semantic(
            s,
            "GROUP BY LEVEL takes aggregations aligned by time"
            if s.is_aggregation
            else "GROUP BY LEVEL needs aggregate functions, e.g. count(s1)",
        )
    if s.is_aggregation:
        return select_aggregate_by_device(ctx, s) if s.align_by_device else select_aggregate(ctx, s)
    return select_by_device(ctx, s) if s.align_by_device else select_raw(ctx, s)


# ---------------------------------------------------------------- SELECT LAST
def select_last(ctx: Context, s: SelectLast) -> Outcome:
    start = _last_start(ctx, s)
    paths: list[str] = []
    for item in s.columns:
        if not isinstance(item.selector, Path):
            raise semantic(s, "SELECT LAST takes series, not aggregates")
        paths += [str(p) for p in _full_paths(item.selector, s.from_paths)]
    table = ctx.store.last(paths, start) if paths else None
    found = [] if table is None else list(table.rows)
    if s.order_desc:
        found.sort(key=lambda r: r[0], reverse=True)
    texts = [
        (path, cell_text(cell_value(value, TSDataType[type_name], ctx.zone)), type_name)
        for _, path, value, type_name in found
    ]
    data = DataSet.text(SELECT_LAST_COLUMNS[1:], texts)
    times = np.array([r[0] for r in found], dtype=np.int64)
    return rows(DataSet(data.columns, data.data_types, data.values, data.null_masks, times))


def _last_start(ctx: Context, s: SelectLast) -> int:
    if s.where is not None and not is_time_condition(s.where):
        raise semantic(s, "SELECT LAST takes only conditions on time in WHERE")
    start, end = time_range(s.where, ctx.now_ms)
    if end != INT64_MAX:
        raise semantic(s, "SELECT LAST takes only a lower bound on time (time > t or time >= t)")
    return start


HANDLERS: dict[type, Any] = {Select: select, SelectLast: select_last}
