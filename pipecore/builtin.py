"""Built-in trivial plugins of the core: ``do-nothing-source`` (alias ``do-nothing-extractor``),
``do-nothing-processor`` and ``do-nothing-sink`` (alias ``do-nothing-connector``), as IoTDB has.

They are registered through the ``pipecore`` entry point ``builtin = "pipecore.builtin"`` in
the project's own ``pyproject.toml`` — the same way a third-party package registers its plugins.
"""

from __future__ import annotations

from collections.abc import Callable

from .events import Event, EventCollector, TsFileInsertionEvent
from .hookspecs import hookimpl
from .plugin import Connector, Extractor, Processor

__all__ = ["DoNothingProcessor", "DoNothingSink", "DoNothingSource"]


class DoNothingSource(Extractor):
    """Supplies nothing (a pipe with it only carries heartbeats)."""


class DoNothingProcessor(Processor):
    """Passes every event on unchanged — TsFile events too, whole."""

    def processor_process_tsfile(
        self, event: TsFileInsertionEvent, collector: EventCollector
    ) -> None:
        collector.collect(event)


class DoNothingSink(Connector):
    """Accepts every event and drops it."""

    def connector_transfer_tablet(self, event: Event) -> None:
        return None

    def connector_transfer_tsfile(self, event: Event) -> None:
        return None


@hookimpl
def register_pipe_plugins(register: Callable[..., None]) -> None:
    register("source", "do-nothing-source", DoNothingSource)
    register("processor", "do-nothing-processor", DoNothingProcessor)
    register("sink", "do-nothing-sink", DoNothingSink)
