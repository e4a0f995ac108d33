"""Where a write came from: a normal client, or a pipe receiver on behalf of another cluster.

The store records the origin of every insert, sealed file and load; a pipe's source reads it to
honour ``forwarding-pipe-requests=false`` (IoTDB's ``isGeneratedByPipe``), which is what keeps
A⇄B bidirectional sync from looping.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

__all__ = ["CLIENT", "Origin"]


def _as_lineage(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


@attrs.frozen
class Origin:
    """`generated_by_pipe` — written by a pipe receiver; `cluster_id` — the sending cluster's id
    (from its handshake), None for local client writes; `lineage` — the clusters the data
    passed through before the sender, oldest first (empty for local writes, for data the
    sender wrote itself and for senders that do not say). `path` adds the sender: a node never
    takes back data whose path holds it, which keeps rings and meshes of pipes from looping
    (docs/source.md)."""

    generated_by_pipe: bool = False
    cluster_id: str | None = None
    lineage: tuple[str, ...] = attrs.field(default=(), converter=_as_lineage)

    @classmethod
    def pipe(cls, cluster_id: str | None, lineage: tuple[str, ...] = ()) -> Origin:
        """Written by a receiver for `cluster_id`, which had the data through `lineage`."""
        return cls(True, cluster_id, lineage)

    @property
    def path(self) -> tuple[str, ...]:
        """Every cluster the data passed through before this node (the sender last)."""
        if self.cluster_id is None or (self.lineage and self.lineage[-1] == self.cluster_id):
            return self.lineage
        return (*self.lineage, self.cluster_id)

    def visited(self, cluster_id: str | None) -> bool:
        """Whether the data already passed through `cluster_id`."""
        return cluster_id is not None and cluster_id in self.path


CLIENT = Origin()
