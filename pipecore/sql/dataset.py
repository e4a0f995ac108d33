"""`DataSet`: a query's answer with typed columns — what travels over RPC and what is printed.

A statement that returns rows answers with a `DataSet`: value columns (names, IoTDB data
types, numpy arrays, null masks) and, for time-aligned results, the timestamps. The same
object is encoded into IoTDB TsBlocks for a client (`pipecore.rpc.tsblock`), decoded back by
``pipecore sql -h``, and turned into the CLI's text by `to_table` — one formatting path, so
an embedded node and a remote one print the same characters.

SHOW statements answer with all-TEXT columns and no timestamps (`DataSet.text`), as IoTDB's
server does (``ignoreTimeStamp``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs
import numpy as np

from pipecore_storage.types import TSDataType

from ..timeparse import ZoneLike, format_datetime
from .result import ResultTable

__all__ = ["DataSet", "cell_value"]


def _tuple(value: Iterable[object]) -> tuple:
    return tuple(value)


def _date_text(value: int) -> str:
    number = int(value)
    return f"{number // 10000:04d}-{number // 100 % 100:02d}-{number % 100:02d}"


def cell_value(value: object, data_type: TSDataType, zone: ZoneLike = None) -> object:
    """One value as `ResultTable` cells take it: FLOAT stays float32 (so it prints with
    float32's digits), DATE becomes ``yyyy-mm-dd``, TIMESTAMP an ISO time in `zone`."""
    if data_type is TSDataType.FLOAT:
        return np.float32(value)  # type: ignore[arg-type]
    if data_type is TSDataType.DATE:
        return _date_text(value)  # type: ignore[arg-type]
    if data_type is TSDataType.TIMESTAMP:
        return format_datetime(int(value), zone)  # type: ignore[call-overload]
    if isinstance(value, np.generic):
        return value.item()
    return value


@attrs.frozen(eq=False)
class DataSet:
    """Columns of a result. `values[i]` holds column i's values (numpy, the type's dtype; an
    object array of ``str`` for TEXT), `null_masks[i]` is None or a bool array (True = null).
    `timestamps` (int64 epoch ms) is None for results without a time column."""

    columns: tuple[str, ...] = attrs.field(converter=_tuple)
    data_types: tuple[TSDataType, ...] = attrs.field(converter=_tuple)
    values: tuple[np.ndarray, ...] = attrs.field(converter=_tuple)
    null_masks: tuple[np.ndarray | None, ...] = attrs.field(converter=_tuple)
    timestamps: np.ndarray | None = None

    def __attrs_post_init__(self) -> None:
        n = len(self)
        if not len(self.columns) == len(self.data_types) == len(self.values):
            raise ValueError("a DataSet needs one data type and one array per column")
        for name, column, mask in zip(self.columns, self.values, self.null_masks, strict=True):
            if column.shape[0] != n or (mask is not None and mask.shape[0] != n):
                raise ValueError(f"column {name} has {column.shape[0]} values, not {n}")

    def __len__(self) -> int:
        if self.timestamps is not None:
            return int(self.timestamps.shape[0])
        return int(self.values[0].shape[0]) if self.values else 0

    @property
    def has_time(self) -> bool:
        return self.timestamps is not None

    @classmethod
    def text(cls, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> DataSet:
        """All-TEXT columns from rows of values (None = null, anything else shown by str())."""
        table = list(rows)
        values, masks = [], []
        for i in range(len(columns)):
            column = np.empty(len(table), dtype=object)
            column[:] = [None if row[i] is None else _text(row[i]) for row in table]
            mask = np.array([row[i] is None for row in table], dtype=np.bool_)
            values.append(column)
            masks.append(mask if mask.any() else None)
        return cls(columns, [TSDataType.TEXT] * len(columns), values, masks)

    def slice(self, start: int, stop: int) -> DataSet:
        """Rows ``[start, stop)``."""
        return DataSet(
            self.columns,
            self.data_types,
            [v[start:stop] for v in self.values],
            [None if m is None else m[start:stop] for m in self.null_masks],
            None if self.timestamps is None else self.timestamps[start:stop],
        )

    def headers(self) -> list[str]:
        return (["Time"] if self.has_time else []) + list(self.columns)

    def rows(self, zone: ZoneLike = None) -> list[list[object]]:
        """Each row as cells: the time as ISO text in `zone`, nulls as None."""
        out: list[list[object]] = []
        if self.timestamps is not None:
            out = [[format_datetime(int(t), zone)] for t in self.timestamps.tolist()]
        else:
            out = [[] for _ in range(len(self))]
        for column, mask, data_type in zip(
            self.values, self.null_masks, self.data_types, strict=True
        ):
            nulls = mask.tolist() if mask is not None else [False] * len(out)
            for row, value, null in zip(out, column, nulls, strict=True):
                row.append(None if null else cell_value(value, data_type, zone))
        return out

    def to_table(self, zone: ZoneLike = None, elapsed: float | None = None) -> ResultTable:
        """The CLI's table: a ``Time`` column first when there are timestamps."""
        table = ResultTable.of(self.headers(), self.rows(zone))
        return table if elapsed is None else table.with_elapsed(elapsed)


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    from .result import cell_text

    return cell_text(value)
