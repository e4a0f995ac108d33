"""The TsFile event iotdb-source supplies: a sealed file pinned for the pipe, with the
deletions recorded against it when it was taken.

A sink that sends files sends `path` and, when `mods_path` is set (``mods.enable`` or
``data.delete``), the ``.mods`` file beside it. A processor or sink that wants rows calls
`to_tablet_insertion_events`, which applies those deletions, so a deleted point is never
resurrected by turning a file into tablets.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import attrs
import numpy as np

from pipecore import PathPattern, TabletInsertionEvent, TsFileInsertionEvent
from pipecore_storage.mods import Deletion, mask_deleted
from pipecore_storage.tablet import Tablet

from .patterns import _nodes

__all__ = ["SourceTsFileInsertionEvent", "apply_deletions"]


@attrs.define(eq=False, slots=True)
class SourceTsFileInsertionEvent(TsFileInsertionEvent):
    """A `TsFileInsertionEvent` of iotdb-source.

    * `deletions` — the file's ``.mods`` entries when it was taken (applied when it becomes
      tablets);
    * `mods_path` — the pinned ``.mods`` to send with the file, or None;
    * `points` — points the file holds (before deletions), from the store's record;
    * `file_name` — the store's name of the file (the pinned `path` has the same name).
    """

    deletions: tuple[Deletion, ...] = attrs.field(default=(), kw_only=True)
    mods_path: Path | None = attrs.field(default=None, kw_only=True)
    points: int = attrs.field(default=0, kw_only=True)
    file_name: str = attrs.field(default="", kw_only=True)

    def to_tablet_insertion_events(
        self,
        pattern: str | PathPattern | None = None,
        start: int | None = None,
        end: int | None = None,
    ) -> Iterator[TabletInsertionEvent]:
        parent = TsFileInsertionEvent.to_tablet_insertion_events(self, pattern, start, end)
        for event in parent:
            tablet = apply_deletions(event.tablet, self.deletions)
            if tablet is not None:
                yield event if tablet is event.tablet else event.derive(tablet)


def apply_deletions(tablet: Tablet, deletions: tuple[Deletion, ...]) -> Tablet | None:
    """`tablet` with the points the deletions remove turned into nulls, rows left empty
    dropped; None when nothing is left."""
    empty_rows = _all_null(tablet)
    if deletions:
        nodes = _nodes(tablet.device)
        masks = list(tablet.null_masks)
        changed = False
        for i, schema in enumerate(tablet.schemas):
            keep = mask_deleted(deletions, nodes, schema.name, tablet.timestamps)
            if keep is None:
                continue
            old = masks[i]
            masks[i] = ~keep if old is None else old | ~keep
            changed = True
        if changed:
            tablet = Tablet(
                tablet.device,
                tablet.schemas,
                tablet.timestamps,
                tablet.columns,
                masks,
                tablet.aligned,
            )
            empty_rows = _all_null(tablet)
            tablet = _without_empty_columns(tablet)  # a series all deleted is not sent
    if empty_rows is not None:
        tablet = tablet.take(~empty_rows)
    return tablet if tablet.row_count and tablet.schemas else None


def _without_empty_columns(tablet: Tablet) -> Tablet:
    keep = [i for i, m in enumerate(tablet.null_masks) if m is None or not bool(m.all())]
    if len(keep) == len(tablet.schemas):
        return tablet
    return Tablet(
        tablet.device,
        [tablet.schemas[i] for i in keep],
        tablet.timestamps,
        [tablet.columns[i] for i in keep],
        [tablet.null_masks[i] for i in keep],
        tablet.aligned,
    )


def _all_null(tablet: Tablet) -> np.ndarray | None:
    """Bool mask of rows where every column is null (None when there is none)."""
    masks = [m for m in tablet.null_masks if m is not None]
    if not masks or len(masks) < len(tablet.null_masks):
        return None
    rows = np.logical_and.reduce(masks)
    return rows if rows.any() else None
