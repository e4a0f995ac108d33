"""``write-back-sink`` (reference §8.4): writes what the pipe carries into the node's own store.

With a processor in front it turns one database into another on the same node — e.g.
``aggregate-processor`` with ``processor.output.database`` down-sampling ``root.raw`` into
``root.stats``. The store is the one the runtime hands every stage
(``RuntimeConfiguration.store``); a node without a store cannot run this sink.

What it writes is marked as written by a pipe of this node's own cluster
(`Origin.pipe(cluster_id)`), so a source with ``forwarding-pipe-requests=false`` does not pick
it up again. A source that matches the databases it writes to, with the default
``forwarding-pipe-requests=true``, would feed it its own output: give the source a pattern
that excludes the target. TsFile events are written as their tablets; deletions and other
events are not written back (as IoTDB's sink does not).

``sink.database`` (tree model, as IoTDBPipeWriteBackSinkIT uses it): each row is written under
that database instead of its own — the device's database prefix is swapped for
``root.<database>`` (``root.source.d1`` → ``root.target.d1`` with ``'sink.database'='target'``;
``root.target`` is taken as well). A device under no database is written as it is.
"""

from __future__ import annotations

from typing import Any

import attrs

from pipecore import (
    Connector,
    Origin,
    PipeError,
    PipeParameters,
    RuntimeConfiguration,
    TabletInsertionEvent,
)
from pipecore_storage.paths import join_path, split_path

__all__ = ["WriteBackSink"]


class WriteBackSink(Connector):
    """``write-back-sink`` (module docstring)."""

    def connector_customize(
        self, parameters: PipeParameters, configuration: RuntimeConfiguration
    ) -> None:
        super().connector_customize(parameters, configuration)
        if configuration.store is None:
            raise PipeError(
                "write-back-sink writes into the node's store, and this node has none",
                configuration.pipe_name,
            )
        self.store: Any = configuration.store
        self.origin = Origin.pipe(configuration.cluster_id)
        target = parameters.get_string_by_keys("sink.database", "connector.database", "database")
        self.target: tuple[str, ...] | None = None
        if target:
            full = target if target == "root" or target.startswith("root.") else f"root.{target}"
            self.target = tuple(split_path(full))

    def _retarget(self, device: str) -> str:
        assert self.target is not None
        nodes = split_path(device)
        databases = [tuple(split_path(row[0])) for row in self.store.show_databases().rows]
        for database in sorted(databases, key=len, reverse=True):
            if tuple(nodes[: len(database)]) == database:
                return join_path([*self.target, *nodes[len(database) :]])
        return device

    def connector_transfer_tablet(self, event: TabletInsertionEvent) -> None:
        tablet = event.tablet
        if not tablet.row_count:
            return
        if self.target is not None:
            device = self._retarget(tablet.device)
            if device != tablet.device:
                tablet = attrs.evolve(tablet, device=device)
        self.store.insert_tablet(tablet, self.origin)
