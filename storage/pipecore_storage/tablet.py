"""`Tablet`: the columnar unit of data everywhere in pipecore.

A tablet is one device's rows: int64 timestamps, one numpy array per measurement and a null
mask per column. The TsFile writer and reader, the store, pipe events and the wire codecs all
exchange tablets. How each data type is held in numpy is documented in `types`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from .types import (
    TSFILE_DEFAULT_COMPRESSION,
    TSFILE_DEFAULT_ENCODINGS,
    CompressionType,
    TSDataType,
    TSEncoding,
    parse_enum,
)

__all__ = ["MeasurementSchema", "Tablet"]

_FILLERS: dict[TSDataType, Any] = {
    TSDataType.TEXT: "",
    TSDataType.STRING: "",
    TSDataType.BLOB: b"",
}


def _data_type(value: object) -> TSDataType:
    dt = parse_enum(TSDataType, value, "data type")
    if dt in (TSDataType.VECTOR, TSDataType.UNKNOWN):
        raise ValueError(f"{dt.name} is not a data type a series can have")
    return dt


def _encoding(value: TSEncoding | int | str | None) -> TSEncoding | None:
    # None stays None here: the default depends on the data type, which a converter cannot
    # see; `MeasurementSchema.__attrs_post_init__` puts it in, so a schema never holds None.
    return None if value is None else parse_enum(TSEncoding, value, "encoding")


def _compression(value: CompressionType | int | str | None) -> CompressionType:
    if value is None:
        return TSFILE_DEFAULT_COMPRESSION
    return parse_enum(CompressionType, value, "compression")


def _frozen_props(
    value: Mapping[str, str] | Iterable[tuple[str, str]] | None,
) -> tuple[tuple[str, str], ...]:
    if not value:
        return ()
    if isinstance(value, tuple):
        return value
    return tuple(sorted((str(k), str(v)) for k, v in dict(value).items()))


@attrs.frozen
class MeasurementSchema:
    """A measurement (sensor) of a device: name, data type, encoding, compression, props.

    `data_type`, `encoding` and `compression` take a member, its number or its name
    (case-insensitive). Encoding and compression default (None) to the official TsFile
    writer's per-type defaults. `props` holds the few per-series properties the format knows
    (e.g. ``max_point_number`` for float TS_2DIFF/RLE); it is stored as a sorted tuple of pairs
    so schemas hash.
    """

    name: str = attrs.field(validator=attrs.validators.instance_of(str))
    data_type: TSDataType = attrs.field(converter=_data_type)
    encoding: TSEncoding = attrs.field(default=None, converter=_encoding)
    compression: CompressionType = attrs.field(default=None, converter=_compression)
    props: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_frozen_props)

    def __attrs_post_init__(self) -> None:
        # the converter leaves None for "the data type's default" (see `_encoding`)
        if self.encoding is None:
            object.__setattr__(self, "encoding", TSFILE_DEFAULT_ENCODINGS[self.data_type])

    @property
    def props_dict(self) -> dict[str, str]:
        return dict(self.props)

    # the official Python package calls it "compressor"
    @property
    def compressor(self) -> CompressionType:
        return self.compression


def _as_column(values: object, data_type: TSDataType, rows: int, where: str) -> np.ndarray:
    dtype = data_type.numpy_dtype
    if isinstance(values, np.ndarray) and values.dtype == dtype:
        arr = values
    elif dtype.kind == "O":
        arr = np.empty(rows, dtype=object)
        seq = list(values)  # type: ignore[call-overload]
        if len(seq) == rows:
            arr[:] = seq
        else:
            arr = np.asarray(seq, dtype=object)
    else:
        arr = np.asarray(values, dtype=dtype)
    if arr.ndim != 1 or arr.shape[0] != rows:
        raise ValueError(f"{where}: expected {rows} values, got shape {arr.shape}")
    return arr


def _as_timestamps(values: npt.ArrayLike) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


def _as_masks(masks: Sequence[npt.ArrayLike | None]) -> list[np.ndarray | None]:
    # bool arrays are made (and checked against the row count) in `Tablet.__attrs_post_init__`
    return [None if m is None else np.asarray(m, dtype=np.bool_) for m in masks]


@attrs.define(eq=False, slots=True)
class Tablet:
    """One device's rows in columns.

    * `device` — the device path, e.g. ``root.sg1.d1``.
    * `schemas` — one `MeasurementSchema` per column.
    * `timestamps` — int64 array, one per row (not necessarily sorted; see `sorted`); any
      array-like of integers is taken.
    * `columns` — one numpy array per schema, dtype as documented in `types`.
    * `null_masks` — per column a bool array (True = null) or None when it has no nulls
      (any sequence of array-likes of bools is taken; all-False masks become None).
      The value under a null is a placeholder (0, "" or b"") and means nothing.
    * `aligned` — whether the device is aligned (one time column shared by all measurements).
    """

    device: str
    schemas: list[MeasurementSchema]
    timestamps: np.ndarray = attrs.field(converter=_as_timestamps)
    columns: list[np.ndarray]
    null_masks: list[np.ndarray | None] = attrs.field(factory=list, converter=_as_masks)
    aligned: bool = False

    def __attrs_post_init__(self) -> None:
        # values are checked and converted here once: plain object.__setattr__ skips the
        # per-assignment hooks of attrs (they would convert the masks a second time)
        put = object.__setattr__
        schemas = list(self.schemas)
        put(self, "schemas", schemas)
        rows = len(self.timestamps)
        if self.timestamps.ndim != 1:
            raise ValueError(f"tablet of {self.device}: timestamps must be one-dimensional")
        if len(self.columns) != len(schemas):
            raise ValueError(
                f"tablet of {self.device}: {len(schemas)} schemas but {len(self.columns)} columns"
            )
        names = [s.name for s in schemas]
        if len(set(names)) != len(names):
            raise ValueError(f"tablet of {self.device}: duplicate measurement in {names}")
        columns = []
        for col, s in zip(self.columns, schemas, strict=True):
            if (
                type(col) is np.ndarray
                and col.dtype == s.data_type.numpy_dtype
                and col.shape == (rows,)
            ):
                columns.append(col)  # already what `_as_column` makes
            else:
                columns.append(_as_column(col, s.data_type, rows, f"{self.device}.{s.name}"))
        put(self, "columns", columns)
        masks = self.null_masks or [None] * len(schemas)
        if len(masks) != len(schemas):
            raise ValueError(f"tablet of {self.device}: null_masks must have one entry per column")
        for i, mask in enumerate(masks):
            if mask is None:
                continue
            if mask.shape != (rows,):
                raise ValueError(
                    f"{self.device}.{schemas[i].name}: null mask has shape {mask.shape}, "
                    f"expected ({rows},)"
                )
            masks[i] = mask if mask.any() else None
        put(self, "null_masks", masks)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_rows(
        cls,
        device: str,
        schemas: Sequence[MeasurementSchema],
        rows: Iterable[tuple[int, Sequence[Any]]],
        aligned: bool = False,
    ) -> Tablet:
        """Build from ``(timestamp, [value or None per schema])`` rows. Not for hot paths."""
        rows = list(rows)
        times = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        columns: list[np.ndarray] = []
        masks: list[np.ndarray | None] = []
        for j, schema in enumerate(schemas):
            raw = [r[1][j] for r in rows]
            mask = np.fromiter((v is None for v in raw), dtype=np.bool_, count=len(raw))
            fill = _FILLERS.get(schema.data_type, 0)
            columns.append(
                _as_column(
                    [fill if v is None else v for v in raw],
                    schema.data_type,
                    len(rows),
                    f"{device}.{schema.name}",
                )
            )
            masks.append(mask)
        return cls(device, list(schemas), times, columns, masks, aligned)

    @classmethod
    def empty(
        cls, device: str, schemas: Sequence[MeasurementSchema], aligned: bool = False
    ) -> Tablet:
        cols = [np.empty(0, dtype=s.data_type.numpy_dtype) for s in schemas]
        return cls(device, list(schemas), np.empty(0, np.int64), cols, [], aligned)

    # ------------------------------------------------------------------ inspection
    @property
    def row_count(self) -> int:
        return int(self.timestamps.shape[0])

    def __len__(self) -> int:
        return self.row_count

    @property
    def measurements(self) -> list[str]:
        return [s.name for s in self.schemas]

    def index_of(self, measurement: str) -> int:
        for i, s in enumerate(self.schemas):
            if s.name == measurement:
                return i
        raise KeyError(f"{self.device} has no measurement {measurement!r} in this tablet")

    def null_mask(self, i: int) -> np.ndarray:
        """Column i's null mask as a bool array (all False when it has none)."""
        mask = self.null_masks[i]
        return np.zeros(self.row_count, np.bool_) if mask is None else mask

    def point_count(self) -> int:
        """Number of non-null values in the tablet."""
        total = 0
        for mask in self.null_masks:
            total += self.row_count if mask is None else int(self.row_count - mask.sum())
        return total

    @property
    def nbytes(self) -> int:
        """Approximate memory held, for queue accounting (variable-length values estimated)."""
        size = self.timestamps.nbytes
        for col in self.columns:
            if col.dtype == object:
                sample = col[:64]
                mean = sum(len(v) for v in sample) / len(sample) if len(sample) else 0.0
                size += int(col.shape[0] * (mean + 56))  # value + object header and pointer
            else:
                size += col.nbytes
        return size

    def iter_rows(self) -> Iterator[tuple[int, list[Any]]]:
        """``(timestamp, [value or None, ...])`` per row. Not for hot paths."""
        cols = [c.tolist() for c in self.columns]
        masks = [m.tolist() if m is not None else None for m in self.null_masks]
        for r, t in enumerate(self.timestamps.tolist()):
            yield (
                t,
                [
                    None if (m is not None and m[r]) else c[r]
                    for c, m in zip(cols, masks, strict=True)
                ],
            )

    # ------------------------------------------------------------------ derivation
    def take(self, index: np.ndarray) -> Tablet:
        """Rows selected by a bool mask or an index array, in that order."""
        return Tablet(
            self.device,
            self.schemas,
            self.timestamps[index],
            [c[index] for c in self.columns],
            [None if m is None else m[index] for m in self.null_masks],
            self.aligned,
        )

    def slice(self, start: int, stop: int) -> Tablet:
        return self.take(np.arange(start, min(stop, self.row_count)))

    def select(self, measurements: Iterable[str]) -> Tablet:
        """Only the given measurements (in the given order)."""
        idx = [self.index_of(m) for m in measurements]
        return Tablet(
            self.device,
            [self.schemas[i] for i in idx],
            self.timestamps,
            [self.columns[i] for i in idx],
            [self.null_masks[i] for i in idx],
            self.aligned,
        )

    def between(self, start: int, end: int) -> Tablet:
        """Rows with ``start <= time <= end`` (both inclusive, as IoTDB's ranges are)."""
        keep = (self.timestamps >= start) & (self.timestamps <= end)
        return self if keep.all() else self.take(keep)

    def sorted(self) -> Tablet:
        """Rows ordered by time; for equal times the later row wins and the earlier is dropped."""
        t = self.timestamps
        if t.shape[0] < 2 or bool(np.all(t[1:] > t[:-1])):
            return self
        order = np.argsort(t, kind="stable")
        st = t[order]
        last = np.ones(st.shape[0], np.bool_)
        last[:-1] = st[1:] != st[:-1]
        return self.take(order[last])

    def equals(self, other: object) -> bool:
        """Same device, schemas, times, and values where not null (nulls compared as nulls)."""
        if not isinstance(other, Tablet):
            return False
        if (self.device, self.measurements, self.aligned) != (
            other.device,
            other.measurements,
            other.aligned,
        ):
            return False
        if [s.data_type for s in self.schemas] != [s.data_type for s in other.schemas]:
            return False
        if not np.array_equal(self.timestamps, other.timestamps):
            return False
        for i in range(len(self.schemas)):
            ma, mb = self.null_mask(i), other.null_mask(i)
            if not np.array_equal(ma, mb):
                return False
            a, b = self.columns[i][~ma], other.columns[i][~mb]
            if a.dtype.kind == "f":
                if not np.array_equal(a, b, equal_nan=True):
                    return False
            elif not np.array_equal(a, b):
                return False
        return True

    def __repr__(self) -> str:
        return (
            f"Tablet({self.device!r}, {self.measurements}, rows={self.row_count}, "
            f"aligned={self.aligned})"
        )
