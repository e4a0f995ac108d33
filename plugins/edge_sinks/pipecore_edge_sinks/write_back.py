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
"""

from __future__ import annotations

from typing import Any

from pipecore import (
    Connector,
    Origin,
    PipeError,
    PipeParameters,
    RuntimeConfiguration,
    TabletInsertionEvent,
)

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

    def connector_transfer_tablet(self, event: TabletInsertionEvent) -> None:
        if event.tablet.row_count:
            self.store.insert_tablet(event.tablet, self.origin)
