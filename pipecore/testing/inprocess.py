"""An in-process source and sink between two nodes of one process (not registered by default).

What ``pipecore demo`` uses while a node lacks ``iotdb-source`` or ``iotdb-thrift-sink``
(`pipecore.cli.demo` picks the real plugins as soon as they are registered). Register them with
``Node.open(dir, plugins=[pipecore.testing.inprocess])``:

* ``in-process-source`` — realtime only: subscribes to its node's store when the pipe starts
  and supplies every insert as a tablet event and every deletion as a deletion event (writes
  made before the pipe started are not sent, sealed files are not sent again).
* ``in-process-sink`` — writes what it receives into the store of the node registered under
  ``node`` (`register_target`), marked as written by a pipe from the sender's cluster.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from pipecore_storage.listeners import InsertEvent, StoreDeletion
from pipecore_storage.origin import Origin

from ..errors import PipeConnectionError
from ..events import DeletionEvent, Event, TabletInsertionEvent
from ..hookspecs import hookimpl
from ..parameters import PipeParameters, PipeParameterValidator
from ..plugin import Connector, Extractor, RuntimeConfiguration

__all__ = ["InProcessSink", "InProcessSource", "register_target", "unregister_target"]

_TARGETS: dict[str, Any] = {}
_LOCK = threading.Lock()
_NODE_KEYS = ["sink.node", "connector.node", "node"]


def register_target(name: str, node: Any) -> None:
    """Let ``in-process-sink``s with ``node=name`` write into `node`'s store."""
    with _LOCK:
        _TARGETS[name] = node


def unregister_target(name: str) -> None:
    with _LOCK:
        _TARGETS.pop(name, None)


class InProcessSource(Extractor):
    subscription: Any = None

    def extractor_customize(
        self, parameters: PipeParameters, configuration: RuntimeConfiguration
    ) -> None:
        super().extractor_customize(parameters, configuration)
        if configuration.store is None:
            raise PipeConnectionError("in-process-source needs a node with a store")

    def extractor_start(self) -> None:
        store = self.configuration.store
        self.subscription = store.subscribe(f"in-process-{self.configuration.pipe_name}")

    def extractor_supply(self) -> Event | None:
        while self.subscription is not None:
            event = self.subscription.get_nowait()
            if event is None:
                return None
            if isinstance(event, InsertEvent):
                return TabletInsertionEvent(event.tablet, origin=event.origin)
            if isinstance(event, StoreDeletion):
                return DeletionEvent(event.pattern, event.start, event.end, origin=event.origin)
        return None

    def extractor_remaining_events(self) -> int | None:
        return 0 if self.subscription is None else len(self.subscription)

    def extractor_close(self) -> None:
        if self.subscription is not None:
            self.subscription.close()
            self.subscription = None


class InProcessSink(Connector):
    target: str

    def connector_validate(self, validator: PipeParameterValidator) -> None:
        if not any(validator.parameters.has_attribute(k) for k in _NODE_KEYS):
            validator.validate_required_attribute(_NODE_KEYS[0])

    def connector_customize(
        self, parameters: PipeParameters, configuration: RuntimeConfiguration
    ) -> None:
        super().connector_customize(parameters, configuration)
        self.target = parameters.get_string_by_keys(*_NODE_KEYS) or ""

    def _store(self) -> Any:
        with _LOCK:
            node = _TARGETS.get(self.target)
        if node is None or node.closed:
            raise PipeConnectionError(f"in-process-sink: no node {self.target!r} in this process")
        return node.store

    def connector_handshake(self) -> None:
        self._store()

    def connector_transfer_tablet(self, event: TabletInsertionEvent) -> None:
        origin = Origin.pipe(self.configuration.cluster_id)
        self._store().insert_tablet(event.tablet, origin)

    def connector_transfer_event(self, event: Event) -> None:
        if isinstance(event, DeletionEvent):
            origin = Origin.pipe(self.configuration.cluster_id)
            self._store().delete(event.path_pattern, event.start_time, event.end_time, origin)


@hookimpl
def register_pipe_plugins(register: Callable[..., None]) -> None:
    register("source", "in-process-source", InProcessSource)
    register("sink", "in-process-sink", InProcessSink)
