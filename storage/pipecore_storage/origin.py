"""Where a write came from: a normal client, or a pipe receiver on behalf of another cluster.

The store records the origin of every insert, sealed file and load; a pipe's source reads it to
honour ``forwarding-pipe-requests=false`` (IoTDB's ``isGeneratedByPipe``), which is what keeps
A⇄B bidirectional sync from looping.
"""

from __future__ import annotations

import attrs

__all__ = ["CLIENT", "Origin"]


@attrs.frozen
class Origin:
    """`generated_by_pipe` — written by a pipe receiver; `cluster_id` — the sending cluster's id
    (from its handshake), None for local client writes."""

    generated_by_pipe: bool = False
    cluster_id: str | None = None

    @classmethod
    def pipe(cls, cluster_id: str | None) -> Origin:
        return cls(True, cluster_id)


CLIENT = Origin()
