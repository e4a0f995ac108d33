"""Type conversion on the receiver (``convertOnTypeMismatch``, reference §4.6): a tablet whose
column types differ from the receiver's series is converted to the series' types.

Numbers convert to numbers (ints truncate floats, out-of-range ints become null), booleans to
0/1 and back (non-zero is true), anything to TEXT/STRING as its text, text to numbers and
booleans where it parses (else null), TEXT ↔ BLOB as UTF-8. DATE and TIMESTAMP are ints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from pipecore_storage.mods import mask_deleted, read_mods
from pipecore_storage.paths import split_path
from pipecore_storage.tablet import MeasurementSchema, Tablet
from pipecore_storage.tsfile import TsFileReader
from pipecore_storage.types import TSDataType

__all__ = ["convert_column", "convert_tablet", "read_tsfile_tablets"]

_TEXT = (TSDataType.TEXT, TSDataType.STRING)
_INTS = (TSDataType.INT32, TSDataType.INT64, TSDataType.DATE, TSDataType.TIMESTAMP)
_FLOATS = (TSDataType.FLOAT, TSDataType.DOUBLE)


def convert_tablet(store: Any, tablet: Tablet) -> Tablet:
    """`tablet` with each column converted to the type of the store's existing series
    (the same object when nothing differs)."""
    schemas, columns, masks = [], [], []
    changed = False
    for schema, column, mask in zip(tablet.schemas, tablet.columns, tablet.null_masks, strict=True):
        info = store.series(f"{tablet.device}.{schema.name}")
        target = info.data_type if info is not None else schema.data_type
        if target != schema.data_type:
            column, mask = convert_column(column, mask, schema.data_type, target)
            schema = MeasurementSchema(schema.name, target)
            changed = True
        schemas.append(schema)
        columns.append(column)
        masks.append(mask)
    if not changed:
        return tablet
    return Tablet(tablet.device, schemas, tablet.timestamps, columns, masks, tablet.aligned)


def convert_column(
    column: np.ndarray, mask: np.ndarray | None, source: TSDataType, target: TSDataType
) -> tuple[np.ndarray, np.ndarray | None]:
    """Values of type `source` as type `target`; cells that cannot convert become null."""
    rows = len(column)
    nulls = np.zeros(rows, np.bool_) if mask is None else mask.copy()
    dtype = target.numpy_dtype
    if target in _TEXT:
        out = np.array([_text(v, source) for v in column], dtype=object)
    elif target is TSDataType.BLOB:
        out = np.array([_text(v, source).encode() for v in column], dtype=object)
    elif source in _TEXT or source is TSDataType.BLOB:
        out = np.zeros(rows, dtype=dtype)
        for i, v in enumerate(column):
            parsed = _parse(v.decode("utf-8", "replace") if isinstance(v, bytes) else v, target)
            if parsed is None:
                nulls[i] = True
            else:
                out[i] = parsed
    elif target is TSDataType.BOOLEAN:
        out = column != 0
    elif target in _INTS:
        info = np.iinfo(dtype)
        as_float = column.astype(np.float64)
        bad = ~np.isfinite(as_float) | (as_float < info.min) | (as_float > info.max)
        nulls |= bad
        out = np.where(bad, 0, column).astype(dtype) if bad.any() else column.astype(dtype)
    else:
        out = column.astype(dtype)
    return out, (nulls if nulls.any() else None)


def _text(value: Any, source: TSDataType) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if source is TSDataType.BOOLEAN:
        return "true" if value else "false"
    if isinstance(value, np.generic):
        value = value.item()
    return str(value)


def _parse(text: str, target: TSDataType) -> Any:
    text = text.strip()
    try:
        if target is TSDataType.BOOLEAN:
            lowered = text.lower()
            return True if lowered == "true" else False if lowered == "false" else None
        if target in _INTS:
            return int(float(text)) if "." in text or "e" in text.lower() else int(text)
        if target in _FLOATS:
            return float(text)
    except (ValueError, OverflowError):
        return None
    return None


def read_tsfile_tablets(path: Path) -> list[Tablet]:
    """Every row of a TsFile as tablets, without the points its ``.mods`` deletes."""
    deletions = read_mods(path.with_name(path.name + ".mods"))
    reader = TsFileReader(path)
    out = []
    try:
        for device in reader.devices():
            name = str(device)
            nodes = split_path(name)
            for tablet in reader.read_tablets(device):
                tablet.device = name
                if deletions:
                    tablet = _without_deleted(tablet, deletions, nodes)
                if tablet.row_count:
                    out.append(tablet)
    finally:
        reader.close()
    return out


def _without_deleted(tablet: Tablet, deletions: list, nodes: list[str]) -> Tablet:
    masks = []
    for schema, mask in zip(tablet.schemas, tablet.null_masks, strict=True):
        keep = mask_deleted(deletions, nodes, schema.name, tablet.timestamps)
        if keep is None:
            masks.append(mask)
        else:
            gone = ~keep
            masks.append(gone if mask is None else (mask | gone))
    return Tablet(
        tablet.device, tablet.schemas, tablet.timestamps, tablet.columns, masks, tablet.aligned
    )
