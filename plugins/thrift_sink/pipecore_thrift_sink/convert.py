"""Type conversion on the receiver (``convertOnTypeMismatch``, reference §4.6): a tablet whose
column types differ from the receiver's series is converted to the series' types.

The value rules are IoTDB's ``ValueConverter`` (`value_convert`): every value converts, a text
that does not parse gives IoTDB's default (0, false, 1970-01-01) rather than a refusal.
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

from .value_convert import convert_values

__all__ = ["convert_column", "convert_tablet", "read_tsfile_tablets"]


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
    """Values of type `source` as type `target` (IoTDB's ValueConverter rules,
    `value_convert`); every cell converts, the null mask stays as it is."""
    return convert_values(column, source, target), mask


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
