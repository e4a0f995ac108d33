"""The hook specifications of pipecore (pluggy project ``"pipecore"``).

Two families of hooks:

* **Node hooks**, called on the node's global plugin manager, implemented by plugin modules
  found through the ``pipecore`` entry-point group (or passed to ``Node.open(plugins=...)``):
  `register_pipe_plugins`, `register_config_sections`, `register_rpc_services`,
  `node_services`, `register_metrics`.
* **Stage hooks**, called on the plugin manager of one running stage of one pipe. The stage's
  plugin *instance* (a subclass of `Extractor`, `Processor` or `Connector`) implements them as
  methods named after the hook — ``extractor_*``, ``processor_*``, ``connector_*`` — no marker
  needed. Global plugins may implement any stage hook too, usually as a wrapper
  (``@hookimpl(wrapper=True)``); they are registered on every stage's manager and so wrap that
  stage of every pipe (metrics, tracing, rate limits).

Every stage hook also receives ``stage`` (a `StageContext`: pipe name, kind, plugin name) that
an implementation may ask for by naming it; plugin methods usually don't.

The reference with what the core does with each result is docs/hooks.md; a test fails when a
hook here is missing there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from concurrent.futures import Future

    from .digest import DigestRequest, PipeScope, WindowDigests
    from .events import Event, EventCollector, TabletInsertionEvent, TsFileInsertionEvent
    from .host import ReceiverContext, RpcServices, ServingNode
    from .observability import SourceBacklog
    from .parameters import PipeParameters, PipeParameterValidator
    from .plugin import RuntimeConfiguration, StageContext

__all__ = ["NODE_HOOKS", "STAGE_HOOK_PREFIXES", "hookimpl", "hookspec"]

hookspec = pluggy.HookspecMarker("pipecore")
hookimpl = pluggy.HookimplMarker("pipecore")

#: Method-name prefix of the stage hooks of each plugin kind.
STAGE_HOOK_PREFIXES = {"source": "extractor_", "processor": "processor_", "sink": "connector_"}
NODE_HOOKS = (
    "register_pipe_plugins",
    "register_config_sections",
    "register_rpc_services",
    "node_services",
    "register_metrics",
)


# ---------------------------------------------------------------------------------- node hooks
@hookspec
def register_pipe_plugins(register: Callable[..., None]) -> None:
    """Contribute pipe plugins: call ``register(kind, name, cls, aliases=())`` once per plugin.

    :param register: ``register(kind, name, cls, aliases=())`` — `kind` is ``"source"``,
        ``"processor"`` or ``"sink"`` (``"extractor"``/``"connector"`` are accepted too); `name`
        is case-insensitive (shown upper-case); `cls` a class with a no-argument constructor
        whose instances implement the stage hooks of that kind; `aliases` further names.
        A ``-sink`` name also answers to ``-connector`` and a ``-source`` name to ``-extractor``
        (and back) without listing them. A name already taken is refused and recorded.

    Called once per node, lazily, the first time a plugin is looked up or listed.
    """


@hookspec
def register_config_sections(register: Callable[[type], None]) -> None:
    """Contribute configuration keys: call ``register(section_cls)`` with an attrs class whose
    fields are the keys (IoTDB-style flat names), their types and defaults.

    Called when a node's configuration is loaded (`pipecore.config.Config.load`); a key
    declared twice is an error naming it.
    """


@hookspec
def register_rpc_services(
    server: RpcServices, node: ServingNode, receivers: ReceiverContext
) -> None:
    """Contribute handlers to the node's Thrift RPC server (IoTDB's ``IClientRPCService`` on
    ``dn_rpc_port``): call ``server.register_pipe_receiver(factory)`` (``pipeTransfer``) and/or
    ``server.register_session_handler(factory)`` (the session calls of SQL clients).

    :param server: the `pipecore.rpc.RpcServer` (`pipecore.host.RpcServices`), not yet
        accepting connections.
    :param node: the serving node (`pipecore.host.ServingNode`: its data directory, config,
        cluster id, store and address).
    :param receivers: the node's receivers (`pipecore.host.ReceiverContext`): what receivers
        of one node share lives there (``receivers.shared(key, build)``), not in module globals.

    Called once per node by ``Node.serve()``, before the server starts. Registering a second
    receiver or session handler for the same server is refused unless ``replace=True``.
    """


@hookspec
def node_services(node: ServingNode, receivers: ReceiverContext) -> list[Any] | None:
    """Contribute further network services a serving node runs, e.g. the air-gap receiver on
    ``pipe_air_gap_receiver_port`` when ``pipe_air_gap_receiver_enabled`` is true.

    :param node: the serving node (`pipecore.host.ServingNode`).
    :param receivers: the node's receivers (`pipecore.host.ReceiverContext`), as in
        ``register_rpc_services``; services given to ``receivers.add_service`` start after
        the ones returned here.
    :return: objects with ``start()`` and ``stop()`` and a ``name`` (or None/empty when the
        node's configuration leaves the service off). Results of all plugins are collected.

    Called once by ``Node.serve()`` after the RPC server started; the services are started in
    order and stopped in reverse order by ``Node.close()``. A service that fails to start fails
    ``serve()`` with its name (the services already started are stopped again).
    """


@hookspec
def register_metrics(registry: Any, node: ServingNode) -> None:
    """Contribute metrics to the node's Prometheus endpoint (``/metrics``; docs/operations.md):
    register collectors or metrics of the official ``prometheus_client`` library on `registry`
    — e.g. ``registry.register(MyCollector())`` with a collector that reads its figures when
    scraped, or ``Counter("myplugin_things_total", "...", registry=registry)``.

    :param registry: the node's own ``prometheus_client.CollectorRegistry``.
    :param node: the serving node (`pipecore.host.ServingNode`) whose endpoint starts.

    Called once per node when its metrics endpoint starts (``metric_reporter_list`` contains
    ``PROMETHEUS``); not called when the endpoint is off. A name already registered is refused
    by ``prometheus_client`` (``ValueError``) and fails the endpoint's start, naming it.
    """


# ---------------------------------------------------------------------------------- extractor
@hookspec(firstresult=True)
def extractor_validate(validator: PipeParameterValidator, stage: StageContext) -> None:
    """Check the source parameters (``validator.parameters``); raise
    `PipeParameterNotValidError` naming the key. Called on CREATE/ALTER PIPE with a temporary
    instance and again before the pipe's source starts."""


@hookspec(firstresult=True)
def extractor_customize(
    parameters: PipeParameters, configuration: RuntimeConfiguration, stage: StageContext
) -> None:
    """Read the parameters and the runtime configuration (pipe name, creation time, the pipe's
    data directory, the node's cluster id and store, the last committed progress)."""


@hookspec(firstresult=True)
def extractor_start(stage: StageContext) -> None:
    """Begin extracting (subscribe to the store, list history files, ...). Called once, after
    customize and before the first ``extractor_supply``."""


@hookspec(firstresult=True)
def extractor_supply(stage: StageContext) -> Event | None:
    """Return the next event, or None when there is nothing now (never block for long).

    The runtime calls it in a loop while the pipe's queue has room; after a None it backs off
    (1 ms growing to 100 ms) unless the source calls ``configuration.wakeup()``."""


@hookspec(firstresult=True)
def extractor_commit(commit_id: int, progress: Any, stage: StageContext) -> None:
    """Every event up to and including `commit_id` has been transferred by the sink, and
    `progress` (the newest non-None ``event.progress`` among them) is durable in the pipe's
    meta. The source may now release what it kept for re-sending (pins, WAL positions).
    Called on the same thread as ``extractor_supply``."""


@hookspec(firstresult=True)
def extractor_remaining_events(stage: StageContext) -> int | None:
    """How many events the source still holds or knows it will supply (unsent history files,
    buffered inserts), for SHOW PIPES' RemainingEventCount; None when unknown."""


@hookspec(firstresult=True)
def extractor_backlog(stage: StageContext) -> SourceBacklog | None:
    """What the source still holds or knows is coming, in events, points and bytes (a
    `pipecore.observability.SourceBacklog`; data still in the store's memtables that the source
    will send included), for the node's metrics and the watch mode; None when unknown. Called
    from any thread when the figures are read (a scrape), never on the data path."""


@hookspec(firstresult=True)
def extractor_close(stage: StageContext) -> None:
    """Release everything (called once, also when customize or start failed)."""


@hookspec(firstresult=True)
def extractor_scope(stage: StageContext) -> PipeScope | None:
    """Which series and times this source takes (after customize, before start), for VERIFY,
    RESYNC, EXPLAIN and EXPORT PIPE; None when the source cannot say (those refuse)."""


# ---------------------------------------------------------------------------------- processor
@hookspec(firstresult=True)
def processor_validate(validator: PipeParameterValidator, stage: StageContext) -> None:
    """Check the processor parameters, like ``extractor_validate``."""


@hookspec(firstresult=True)
def processor_customize(
    parameters: PipeParameters, configuration: RuntimeConfiguration, stage: StageContext
) -> None:
    """Read the processor parameters and the runtime configuration."""


@hookspec(firstresult=True)
def processor_process_tablet(
    event: TabletInsertionEvent, collector: EventCollector, stage: StageContext
) -> None:
    """Process a tablet event; ``collector.collect(e)`` what goes on to the sink (zero, one or
    more events). The default passes it through."""


@hookspec(firstresult=True)
def processor_process_tsfile(
    event: TsFileInsertionEvent, collector: EventCollector, stage: StageContext
) -> None:
    """Process a TsFile event. The default `Processor` turns it into tablet events with
    ``event.to_tablet_insertion_events()``, processes each with ``processor_process_tablet``
    and closes the file event; `DoNothingProcessor` passes the file through whole."""


@hookspec(firstresult=True)
def processor_process_event(event: Event, collector: EventCollector, stage: StageContext) -> None:
    """Process any other event (deletion, heartbeat, plugin-defined). The default passes it
    through."""


@hookspec(firstresult=True)
def processor_close(stage: StageContext) -> None:
    """Release everything (called once)."""


# ---------------------------------------------------------------------------------- connector
@hookspec(firstresult=True)
def connector_validate(validator: PipeParameterValidator, stage: StageContext) -> None:
    """Check the sink parameters, like ``extractor_validate``."""


@hookspec(firstresult=True)
def connector_customize(
    parameters: PipeParameters, configuration: RuntimeConfiguration, stage: StageContext
) -> None:
    """Read the sink parameters and the runtime configuration."""


@hookspec(firstresult=True)
def connector_handshake(stage: StageContext) -> None:
    """Connect to the target. Called after customize — on CREATE PIPE with a temporary
    instance too, so an unreachable target fails the CREATE — and again before a retry after a
    `PipeConnectionError`."""


@hookspec(firstresult=True)
def connector_heartbeat(stage: StageContext) -> None:
    """Called for every heartbeat event before ``connector_transfer_event(heartbeat)``; check or
    re-establish connections. Raising `PipeConnectionError` is treated as a connection error."""


@hookspec(firstresult=True)
def connector_transfer_tablet(
    event: TabletInsertionEvent, stage: StageContext
) -> Future[Any] | None:
    """Send a tablet event. Return None once the target has it — the event is done and its
    progress can be committed — or a `concurrent.futures.Future` that completes when it is
    (batching, several connections at once). A future failing with a `ConnectionError` makes
    the runtime retry the event (handshake first); any other failure stops the pipe. Commits
    still advance in event order."""


@hookspec(firstresult=True)
def connector_transfer_tsfile(
    event: TsFileInsertionEvent, stage: StageContext
) -> Future[Any] | None:
    """Send a TsFile event; None or a future as for ``connector_transfer_tablet`` (the runtime
    closes the event once it is done). The default `Connector` converts it to tablet events and
    transfers each with ``connector_transfer_tablet``."""


@hookspec(firstresult=True)
def connector_transfer_event(event: Event, stage: StageContext) -> Future[Any] | None:
    """Send any other event (deletion, heartbeat, plugin-defined); None or a future as for
    ``connector_transfer_tablet``. The default ignores it."""


@hookspec(firstresult=True)
def connector_flush(stage: StageContext) -> None:
    """The runtime gives the sink no further event for now — its queue is empty, or as many
    transfers are pending as the queue holds — after a transfer returned a future: a sink that
    holds events back (a batch waiting for its size or delay) sends them now, since waiting
    longer would gather nothing more. Errors belong to the held events' futures; the default
    does nothing."""


@hookspec(firstresult=True)
def connector_digests(
    request: DigestRequest, stage: StageContext
) -> dict[str, WindowDigests] | None:
    """The receiver's digests per series and time window for VERIFY PIPE (called after
    customize and handshake, on a sink instance of its own); None when the target cannot
    answer them (VERIFY then refuses)."""


@hookspec(firstresult=True)
def connector_close(stage: StageContext) -> None:
    """Release everything (called once). May be called while a hung transfer is still
    running on another thread — closing the socket is how it gets unblocked."""
